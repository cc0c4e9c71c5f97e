// A burst of packets moving through the stages of a worker: fixed arrays, never a heap
// allocation. Stage contract (after DPDK lib/ipsec): a stage returns n, and pkts[0, n) are the
// good packets in their original order; pkts[n, count) are the dropped ones, drop[i] saying why.
#pragma once

#include <cstdint>

#include "common/counters.hpp"
#include "dataplane/drop_reason.hpp"

struct rte_mbuf;
struct rte_ring;

namespace rampart::crypto {
class MbManager;
}

namespace rampart::dp {

struct SaRuntime;

inline constexpr uint16_t kMaxBurst = 64;

struct Burst {
  uint16_t count = 0;
  rte_mbuf* pkts[kMaxBurst];
  SaRuntime* sa[kMaxBurst];
  DropReason drop[kMaxBurst];
};

// What an ESP stage needs from its worker.
struct EspContext {
  const crypto::MbManager* mb;  // the worker's own ipsec-mb manager
  CounterTable::Lane* drops;    // the worker's lane of kDropReasonDefs counters
  rte_ring* events;             // SaEvent ring to the control core; may be null
  uint32_t pass = 0;            // inbound passes over bursts so far (ReplayWindow::begin_pass)
  unsigned worker = 0;          // the worker's index: its tally of a spread SA
};

// Frees the dropped tail of a burst, pkts[good, count), with one bulk call, and leaves count at good.
void free_dropped(Burst& burst, uint16_t good) noexcept;

}  // namespace rampart::dp
