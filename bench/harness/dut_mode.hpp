// rampart-bench's DUT mode: a traffic generator and receiver on two DPDK ports (any EAL device)
// for a device under test, Rampart or anyone else. Frames carry a sequence number and the TSC at
// sending in their payload, so the receiver counts loss and measures latency. A trial sends at a
// fixed rate for a while; a search (RFC 2544 style, what FD.io CSIT reports as NDR and PDR) finds
// by bisection the highest rate whose loss is at most a given fraction.
//
// It can also play the far-end gateway with manual keys (tunnel mode, Rampart's own ESP stages):
// frames leave sealed in ESP (loading a gateway's inbound path), or arrive in ESP and are opened
// before their stamp is read (its outbound path), or both.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/harness/traffic.hpp"
#include "common/counters.hpp"
#include "crypto/mb_manager.hpp"
#include "dataplane/burst.hpp"
#include "dataplane/sa_params.hpp"

struct rte_mempool;

namespace rampart::bench {

struct DutConfig {
  uint16_t tx_port = 0, rx_port = 0;
  std::array<uint8_t, 6> destination_mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};  // the DUT's ingress
  uint32_t source = 0, destination = 0;  // IPv4, host order
  uint16_t flows = 1;                    // UDP source ports 1024..1024+flows-1
  double seconds = 1.0;                  // per trial
  double drain_seconds = 0.2;            // how long the receiver waits after the last frame
  // As the far-end gateway: an outbound SA to seal what is sent, an inbound SA to open what
  // arrives (tunnel mode; the frames inside stay source -> destination).
  std::optional<dp::SaParams> seal, open;
};

struct Trial {
  double offered_pps = 0;
  uint64_t sent = 0, received = 0, foreign = 0;  // foreign: frames that were not ours (or did not open)
  double achieved_pps = 0;
  double loss() const { return sent ? static_cast<double>(sent - std::min(sent, received)) / static_cast<double>(sent) : 0; }
  // Latency percentiles in microseconds: 50, 90, 99, 99.9, max.
  std::array<double, 5> latency_us{};
};

class DutRig {
 public:
  DutRig(const DutConfig& config, rte_mempool* pool);
  // Sends frames of `length` IP bytes at `pps` for config.seconds, then waits for stragglers.
  Trial run(uint16_t length, double pps);
  // Bisection between 0 and max_pps for the highest rate with loss <= max_loss, to within
  // precision (a fraction of the rate); every trial is reported to on_trial.
  Trial search(uint16_t length, double max_pps, double max_loss, double precision,
               const std::function<void(const Trial&)>& on_trial);

 private:
  uint16_t stage(rte_mbuf** m, uint16_t n, dp::SaRuntime* sa, uint16_t (*esp)(dp::EspContext&, dp::Burst&) noexcept);
  // Seals k frames (IP, stamp set) in place; returns how many to send, the rest freed.
  unsigned seal(rte_mbuf** m, unsigned k);
  // Opens n frames in place; returns how many opened (moved to the front), the rest freed.
  uint16_t open(rte_mbuf** m, uint16_t n);

  DutConfig config_;
  rte_mempool* pool_;
  std::optional<crypto::MbManager> mb_;
  std::unique_ptr<CounterTable> drops_;
  dp::EspContext esp_{};
  std::unique_ptr<dp::SaRuntime> seal_sa_, open_sa_;
  uint32_t run_id_ = 0;  // marks this trial's frames, so late ones from an earlier trial do not count
  bool warmed_up_ = false;
};

// A stand-in DUT for tests: forwards from one ring port to another at most `pps` frames per second
// (a token bucket holding 10 ms of that rate), dropping the rest, on its own thread and core.
class RateLimitedLoopback {
 public:
  RateLimitedLoopback(double pps, rte_mempool* pool);
  ~RateLimitedLoopback();
  uint16_t generator_port() const;  // the DUT rig sends here
  uint16_t receiver_port() const;   // and receives here

 private:
  struct State;
  State* state_;
};

}  // namespace rampart::bench
