// Snapshots: what the console, metrics and telemetry may see of a running gateway, copied out as
// plain values on the control core. Nothing here points into what a worker writes, but for
// SaSnapshot::params, valid until the next change of SAs.
#pragma once

#include <rte_ether.h>

#include <array>
#include <cstdint>
#include <vector>

#include "common/counters.hpp"
#include "dataplane/gateway_spec.hpp"
#include "dataplane/port.hpp"

namespace rampart::dp {

class NeighbourTable;
class SaStore;

// An SA: counters the worker publishes atomically, the state the control core sets, and how it
// was installed.
struct SaSnapshot {
  const SaParams* params;  // valid until the next change of SAs
  bool expired;
  bool lingering;          // replaced by a rekey; still opens packets in flight until it is removed
  unsigned owner;          // the worker that processes its packets
  bool spread;             // outbound: sealed by whichever worker meets them (counts summed)
  uint64_t packets;
  uint64_t bytes;
  uint64_t drops;
};

struct WorkerSnapshot {
  unsigned lcore;
  uint64_t busy_cycles, idle_cycles, busy_polls, rx_packets;
  unsigned owned_sas;
  uint64_t handed_out, handed_in;  // packets handed to other workers, and taken from them
};

struct NeighbourSnapshot {
  IpFamily family;
  std::array<uint8_t, 16> address;  // network order; IPv4 in the first 4 bytes
  rte_ether_addr mac;
};

struct PortSnapshot {
  const PortSpec* spec;
  rte_ether_addr mac;
  uint64_t rx_packets, tx_packets, rx_missed;
};

std::vector<SaSnapshot> sa_snapshot(const SaStore& store);
std::vector<PortSnapshot> port_snapshot(const std::vector<Port>& ports);
// lcores[w] ran worker w; its path counters are lane w of paths; owned[w] its SAs.
std::vector<WorkerSnapshot> worker_snapshot(const std::vector<unsigned>& lcores, const CounterTable& paths,
                                            const std::vector<unsigned>& owned);
// Control core only: the neighbour table's one writer, so it sees it settled.
std::vector<NeighbourSnapshot> neighbour_snapshot(const NeighbourTable& table);

}  // namespace rampart::dp
