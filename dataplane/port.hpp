// Packet pools and ports: create a pool, configure and start an ethdev, and a pair of virtual
// ports joined by rings (what one port sends the other receives), for tests and the self-check.
#pragma once

#include <rte_ether.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "dataplane/gateway_spec.hpp"

struct rte_mempool;
struct rte_ring;

namespace rampart::dp {

inline constexpr unsigned kMaxPorts = 8;
inline constexpr uint16_t kRxDescriptors = 1024;
inline constexpr uint16_t kTxDescriptors = 1024;

// A gateway's port as it runs: set once when the gateway starts, read by every core.
struct Port {
  PortSpec spec;
  uint16_t id = 0;
  rte_ether_addr mac{};
};

Result<rte_mempool*> create_packet_pool(const std::string& name, unsigned mbufs, int socket);

// One rx and one tx queue per worker; starts the port in promiscuous mode.
Result<void> start_port(uint16_t port_id, rte_mempool* pool, uint16_t queues);

struct PortPair {
  uint16_t a;
  uint16_t b;
  std::vector<rte_ring*> a_to_b;  // per queue: a's tx queue q feeds b's rx queue q
  std::vector<rte_ring*> b_to_a;
  std::string a_name;  // the ports' device names (what a GatewaySpec or --vdev names them by)
  std::string b_name;
};

// Two ethdevs over rte_rings, `queues` rx and tx queues each: a's tx queue q feeds b's rx queue
// q and b's tx queue q feeds a's rx queue q. Sending on queue q of one side is what RSS putting
// a flow on queue q would be on a NIC. The ports are configured but not started.
Result<PortPair> create_ring_port_pair(const std::string& name, int socket, uint16_t queues = 1);

// Stops and closes a port and frees what its driver holds.
void close_port(uint16_t port_id);
// Closes both ports (whoever else already closed one), frees any mbufs still in flight between
// them, and frees the rings.
void close_ring_port_pair(const PortPair& pair);

}  // namespace rampart::dp
