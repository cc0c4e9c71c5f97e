// The neighbour service, on the control core: answers ARP (RFC 826) and neighbour solicitations
// (RFC 4861) for the gateway's addresses, learns from them, and holds the packets workers could
// not send because their next hop's link-layer address was unknown, asking for it (ten times a
// second per address at most) and sending each once it is known, for up to a second. The
// packets the control core makes itself go out through send() the same way.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.hpp"
#include "dataplane/control_output.hpp"
#include "dataplane/gateway_spec.hpp"
#include "dataplane/port.hpp"
#include "dataplane/routes.hpp"

struct rte_mempool;
struct rte_mbuf;

namespace rampart::dp {

class NeighbourService {
 public:
  // ports and pool outlive the service; the configured neighbours are known from the start.
  static Result<std::unique_ptr<NeighbourService>> create(const std::string& name, const std::vector<Port>& ports,
                                                          const std::vector<NeighbourSpec>& known, rte_mempool* pool,
                                                          ControlOutput out);
  ~NeighbourService();

  // The table workers resolve next hops in (lock-free readers; this service is its one writer).
  const NeighbourTable& table() const noexcept { return *table_; }
  // The routes held and generated packets are routed by: the current generation's.
  void use_routes(std::shared_ptr<const RouteTable> routes) noexcept { routes_ = std::move(routes); }

  // An ARP message or an IPv6 ND message (at its Ethernet header) a worker handed over.
  void receive(rte_mbuf* m);
  // A worker's packet (at its IP header) whose next hop was unknown: held while it is resolved.
  void hold(rte_mbuf* m, uint64_t now);
  // A packet of the control core's own (at its IP header): routed, resolved if need be, sent;
  // held like a worker's, but never refused for the workers' filling the hold.
  void send(rte_mbuf* m, uint64_t now);
  // Sends the held packets whose next hop is known now, asks again for the others, and gives up
  // on those held a second. now is the TSC.
  void poll(uint64_t now);
  // Frees what is held (at shutdown); returns how many packets that was.
  size_t release();

 private:
  struct HeldPacket {
    rte_mbuf* mbuf;     // at its IP header; routed again each time, routes may change meanwhile
    uint64_t deadline;  // TSC
  };
  NeighbourService(const std::vector<Port>& ports, rte_mempool* pool, ControlOutput out)
      : ports_(ports), pool_(pool), out_(out) {}
  // Sends a held packet if its next hop is known now; else asks (rate-limited) and returns false.
  bool try_release(HeldPacket& h, uint64_t now);
  void receive_arp(rte_mbuf* m);
  void receive_nd(rte_mbuf* m);
  void send_arp_request(uint16_t port, uint32_t target);
  void send_neighbour_solicitation(uint16_t port, const uint8_t* target);

  const std::vector<Port>& ports_;
  rte_mempool* pool_;
  ControlOutput out_;
  std::unique_ptr<NeighbourTable> table_;
  std::shared_ptr<const RouteTable> routes_;
  std::vector<HeldPacket> held_;
  std::unordered_map<std::string, uint64_t> last_asked_;  // TSC, by next-hop address: the rate limit
};

}  // namespace rampart::dp
