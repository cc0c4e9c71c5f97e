// Everything a worker may touch, handed to it once when it attaches (Gateway::attach_worker):
// the ports, pools, rings, shared tables and its own lane of counters. A worker reads nothing of
// the gateway but this, so a line of worker code shows what it touches; and the worker keeps its
// own copy, so nothing the control core writes shares a cache line with it.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "common/counters.hpp"

struct rte_mempool;
struct rte_ring;

namespace rampart::dp {

class LocalPorts;
class NeighbourTable;
class Reassembler;
class Sad;
class UpdateChannel;
struct Port;
struct SaRuntime;
struct Tables;

struct WorkerContext {
  unsigned index = 0;   // its rx and tx queue on every port, its lane of counters
  uint16_t burst = 0;   // packets per rx burst
  const Port* ports = nullptr;  // set when the gateway starts, never changed
  uint16_t port_count = 0;
  rte_mempool* pool = nullptr;  // for the packets it makes (ICMP errors, fragments)
  const std::atomic<bool>* stop = nullptr;
  uint64_t (*clock)() noexcept = nullptr;  // for timeouts (GatewaySpec::clock)

  // Shared with the control core, which writes them, lock-free for readers.
  const Sad* sad = nullptr;
  const NeighbourTable* neighbours = nullptr;

  // Rings to the control core: packets for it (ARP, ND, local services; multi-producer), packets
  // whose next hop is unknown (multi-producer), SaEvents and TraceRecords (this worker's own).
  rte_ring* to_control = nullptr;
  rte_ring* unresolved = nullptr;
  rte_ring* events = nullptr;
  rte_ring* traces = nullptr;
  // The control core's packets to send: worker 0 alone takes them (nullptr for the others).
  rte_ring* control_tx = nullptr;
  std::atomic<int32_t>* trace_budget = nullptr;  // packets "trace N" still follows, all workers
  // Hand-off (handoff.hpp): the rings to each other worker, by owner, and from each, by sender
  // (nullptr at this worker's own index; one entry, nullptr, when it runs alone).
  std::vector<rte_ring*> handoff_to;
  std::vector<rte_ring*> handoff_from;

  Reassembler* reassembler = nullptr;  // this worker's, owned by the gateway
  CounterTable::Lane* drops = nullptr;  // this worker's lanes
  CounterTable::Lane* paths = nullptr;

  // The control core's changes, and the state they change as it was when the worker attached.
  UpdateChannel* updates = nullptr;
  const Tables* tables = nullptr;
  const LocalPorts* local_ports = nullptr;
  std::vector<SaRuntime*> slots;  // per SA slot (max_sas of them): the outbound SA its policies use
};

}  // namespace rampart::dp
