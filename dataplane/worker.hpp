// One poll-mode worker: on every pass it takes a burst from its rx queue on each port, sorts the
// packets by what they need (control core, echo reply, outbound ESP, inbound ESP, bypass), runs
// each group in bulk (SPD, SAD, the ESP stages, routing), and sends through per-port tx buffers.
// ESP it runs only for the SAs it owns: another worker's go to that worker (handoff.hpp), and it
// takes, after its own queues, what the others handed it.
// It never blocks, never locks, never allocates after start. At the start of every pass it applies
// the control core's updates from its own ring, then reports a quiescent state (rte_rcu QSBR).
// What it may touch is its WorkerContext, and nothing else of the gateway.
#pragma once

#include <rte_ether.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <memory>

#include "common/counters.hpp"
#include "crypto/mb_manager.hpp"
#include "dataplane/burst.hpp"
#include "dataplane/handoff.hpp"
#include "dataplane/packet_trace.hpp"
#include "dataplane/port.hpp"
#include "dataplane/worker_context.hpp"

struct rte_rcu_qsbr;
struct rte_ring;

namespace rampart::dp {

class LocalPorts;
class Reassembler;
struct NextHop;
struct Port;
struct SaRuntime;
struct Tables;

class Worker {
 public:
  // context: from Gateway::attach_worker, on the control core, before the worker runs.
  Worker(WorkerContext context, crypto::MbManager mb);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  // The lcore entry point: polls until the gateway stops.
  void run() noexcept;
  // One pass over every port; public so tests can step a worker without launching an lcore.
  void poll_once() noexcept;

 private:
  void apply_updates() noexcept;
  // now: the clock, for timeouts.
  void process(uint16_t port_index, rte_mbuf** pkts, uint16_t count, uint64_t now) noexcept;
  // Runs the ESP outbound stage on burst, sends what it gives, and leaves burst empty.
  void outbound(Burst& burst) noexcept;
  void too_big(rte_mbuf* m, const Port& port, uint16_t limit, SaRuntime* sa, Burst& protect) noexcept;
  void transit_verdict(uint16_t port_index, rte_mbuf* m, uint32_t rule, Burst& protect) noexcept;
  // A packet (at its IP header, hop limit spent) for an SA this worker owns joins the burst.
  void add_to_protect(rte_mbuf* m, SaRuntime* sa, Burst& protect) noexcept;
  // pkts at their IP header; handed: they came from another worker, and are not handed again.
  void inbound(rte_mbuf** pkts, const uint16_t* spi_at, uint16_t count, bool handed) noexcept;
  void hand_off(rte_mbuf* m, unsigned owner) noexcept;
  void flush_handoffs() noexcept;
  unsigned take_handed() noexcept;  // returns how many it took
  void send_ip(rte_mbuf* m) noexcept;
  void send_ipv4(rte_mbuf* m) noexcept;
  void send_ipv6(rte_mbuf* m) noexcept;
  void hold(rte_mbuf* m, uint16_t port_index) noexcept;
  void send_to(rte_mbuf* m, uint16_t port_index, const rte_ether_addr& mac, uint16_t ether_type) noexcept;
  void send_on(uint16_t port_index, rte_mbuf* m) noexcept;
  void flush() noexcept;
  // Counts the drop; the mbuf goes with the pass's others, in one rte_pktmbuf_free_bulk.
  void drop(rte_mbuf* m, DropReason reason) noexcept;
  void free_doomed() noexcept;
  void acquire(uint32_t slot) noexcept;

  const WorkerContext ctx_;  // as attached: its tables, local ports and slots change in the next three
  const Tables* tables_;                  // this worker's current generation
  const LocalPorts* local_ports_;         // UDP ports local services listen on
  std::unique_ptr<SaRuntime*[]> slots_;   // per SA slot: the outbound SA its policies use
  rte_ring* updates_;
  rte_rcu_qsbr* qsbr_;
  crypto::MbManager mb_;
  CounterTable::Lane& drops_;
  CounterTable::Lane& paths_;
  EspContext esp_;
  PacketTracer tracer_;
  Reassembler& reassembly_;  // this worker's, owned by the gateway
  Handoff handoff_;
  // The last kAcquire sent: one per slot per 100 ms is enough for IKE to start the SA.
  uint32_t acquired_slot_ = UINT32_MAX;
  uint64_t acquired_tsc_ = 0;
  // The last destination routed and resolved in this pass, and where it went: the packets of one
  // tunnel all go to one peer, so most skip the LPM and neighbour lookups. Forgotten at every
  // pass, so route and neighbour changes take effect at the next one.
  struct HopCache {
    bool valid = false;
    uint16_t port = 0;
    rte_ether_addr mac{};
    uint32_t destination = 0;  // IPv4, network order
  } hop4_;
  struct Hop6Cache {
    bool valid = false;
    uint16_t port = 0;
    rte_ether_addr mac{};
    uint8_t destination[16] = {};
  } hop6_;
  struct TxBuffer {
    uint16_t count = 0;
    rte_mbuf* pkts[kMaxBurst];
  } tx_[kMaxPorts];
  // Transport-mode IPv4 packets in the protect burst that are too big for the path without DF:
  // split once they are ESP (outbound()). Almost always empty.
  rte_mbuf* split_after_[kMaxBurst];
  uint16_t split_after_count_ = 0;
  // The pass's drops, freed together at its end (flush) or when this fills.
  static constexpr uint16_t kDoomedMax = 2 * kMaxBurst;
  rte_mbuf* doomed_[kDoomedMax];
  uint16_t doomed_count_ = 0;
};

}  // namespace rampart::dp
