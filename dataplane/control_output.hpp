// The control core's way out to the ports and its own lane of counters: what the neighbour
// service and local delivery send (answers, requests, released held packets, datagrams) goes
// onto one ring that worker 0 drains into its tx queues, since only workers own tx queues.
#pragma once

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "common/counters.hpp"
#include "dataplane/drop_reason.hpp"
#include "dataplane/path_counter.hpp"
#include "dataplane/tsan.hpp"

namespace rampart::dp {

struct ControlOutput {
  rte_ring* to_worker = nullptr;  // single producer (the control core), worker 0 consumes
  CounterTable::Lane* drops = nullptr;
  CounterTable::Lane* paths = nullptr;

  // A packet at its Ethernet header, its port in m->port.
  void send(rte_mbuf* m) const noexcept {
    tsan_release(m);
    if (rte_ring_enqueue(to_worker, m) == 0) return;
    drop(m, DropReason::kControlBusy);
  }
  // A packet the control core takes in or gives up: counted under why, then freed.
  void drop(rte_mbuf* m, DropReason why) const noexcept {
    drops->add(why);
    rte_pktmbuf_free(m);
  }
  void generated(uint64_t n = 1) const noexcept { paths->add(PathCounter::kGenerated, n); }
};

}  // namespace rampart::dp
