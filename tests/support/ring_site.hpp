// The site most data-plane tests run a gateway in, on ring ports: "inside" (192.0.2.1/24, the
// protected side, host 192.0.2.10 behind it) and "outside" (198.51.100.1/24, the public side, the
// router 198.51.100.2 with 203.0.113.0/24 beyond it). The gateway takes side a of each port pair;
// the test sends and receives on side b, started here. Close the pairs after the gateway's
// shutdown and before the gateway goes: their queues were set up with its pool.
#pragma once

#include <rte_ethdev.h>

#include <algorithm>
#include <string>
#include <utility>

#include "dataplane/gateway.hpp"
#include "dataplane/port.hpp"
#include "tests/support/packets.hpp"
#include "tests/support/specs.hpp"

namespace rampart::test {

class RingSite {
 public:
  // name makes the ring and device names unique to the test; queues: per port, one per worker
  // (queue q of side b feeds the gateway's rx queue q, as RSS would).
  static Result<RingSite> create(const std::string& name, uint16_t queues = 1) {
    auto in = dp::create_ring_port_pair(name + "_in", SOCKET_ID_ANY, queues);
    if (!in) return in.error();
    auto out = dp::create_ring_port_pair(name + "_out", SOCKET_ID_ANY, queues);
    if (!out) {
      dp::close_ring_port_pair(*in);
      return out.error();
    }
    RingSite site(*in, *out);
    for (uint16_t port : {in->b, out->b})
      if (auto r = dp::start_port(port, packet_pool(), queues); !r) return r.error();
    return site;
  }
  RingSite(RingSite&& other) noexcept
      : inside(other.inside), outside(other.outside), open_(std::exchange(other.open_, false)) {}
  RingSite& operator=(RingSite&&) = delete;
  ~RingSite() { close(); }

  // `workers` workers (lcores 1 and up), the two ports, the route to 203.0.113.0/24 via the router.
  dp::GatewaySpec spec(unsigned mbufs = 2047, unsigned workers = 1) const {
    dp::GatewaySpec spec;
    spec.worker_lcores.clear();
    for (unsigned w = 0; w < workers; ++w) spec.worker_lcores.push_back(1 + w);
    spec.mbufs = mbufs;
    spec.ports = {dp::ipv4_port("inside", inside.a_name, dp::PortRole::kProtected, {ip4(192, 0, 2, 1), 24}),
                  dp::ipv4_port("outside", outside.a_name, dp::PortRole::kPublic, {ip4(198, 51, 100, 1), 24})};
    spec.routes = {dp::ipv4_route({ip4(203, 0, 113, 0), 24}, ip4(198, 51, 100, 2), 1)};
    return spec;
  }
  // The router and the host as static neighbours, for tests that skip ARP.
  static std::vector<dp::NeighbourSpec> neighbours() {
    dp::NeighbourSpec peer, host;
    peer.address = ip4(198, 51, 100, 2);
    std::copy_n(kPeerMac.addr_bytes, RTE_ETHER_ADDR_LEN, peer.mac.begin());
    host.address = ip4(192, 0, 2, 10);
    std::copy_n(kHostMac.addr_bytes, RTE_ETHER_ADDR_LEN, host.mac.begin());
    return {peer, host};
  }
  void close() {
    if (!std::exchange(open_, false)) return;
    dp::close_ring_port_pair(inside);
    dp::close_ring_port_pair(outside);
  }

  dp::PortPair inside{}, outside{};

 private:
  RingSite(const dp::PortPair& in, const dp::PortPair& out) : inside(in), outside(out), open_(true) {}
  bool open_ = false;
};

}  // namespace rampart::test
