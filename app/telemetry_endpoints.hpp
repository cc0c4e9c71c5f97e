// rampartd's DPDK telemetry endpoints, for the standard client (dpdk-telemetry.py) and anything
// else that reads DPDK's telemetry socket:
//   /rampart/counters            every counter, summed over workers
//   /rampart/sa/list[,START]     SA names from START (0 if left out), a page at a time, with the
//                                total and, when more follow, where the next page starts
//   /rampart/sa/info,NAME|SPI    one SA: direction, state, packets, bytes, drops (never keys)
// They run on DPDK's telemetry thread, which must not touch the gateway (the control core frees
// SAs under it): they read only an immutable TelemetrySnapshot that the control core publishes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/counters.hpp"

namespace rampart::dp {
class Gateway;
}

namespace rampart::app {

struct TelemetrySa {
  std::string name;
  uint32_t spi;
  bool outbound;
  bool expired;
  bool lingering;  // replaced by a rekey, still opening packets in flight
  uint64_t packets, bytes, drops;
};

// A copy of what the endpoints show, owned by whoever holds it.
struct TelemetrySnapshot {
  uint64_t taken_ms;  // steady clock
  std::vector<CounterValue> counters;
  std::vector<TelemetrySa> sas;  // current SAs in name order, then lingering ones
};

// The control core's side: a snapshot is made only when the telemetry thread has asked for one
// and the last is older than 100 ms, so a gateway nobody polls pays nothing.
class TelemetryPublisher {
 public:
  // Registers the endpoints (once per process) and lets them answer.
  TelemetryPublisher();
  // Afterwards the endpoints answer with an error; a request in flight keeps its copy.
  ~TelemetryPublisher();
  TelemetryPublisher(const TelemetryPublisher&) = delete;
  TelemetryPublisher& operator=(const TelemetryPublisher&) = delete;

  // On the control core, once per pass.
  void poll(const dp::Gateway& gateway);
};

}  // namespace rampart::app
