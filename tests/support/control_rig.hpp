// What a control-core room runs on, without a gateway: two ports as the gateway would know them
// (no devices behind them: the rooms only read their addresses and MACs), the control core's
// ring to worker 0 and its lanes of counters, and routes. Tests drive a room directly and read
// what it sent off the ring.
#pragma once

#include <rte_ring.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/counters.hpp"
#include "dataplane/control_output.hpp"
#include "dataplane/port.hpp"
#include "dataplane/routes.hpp"
#include "tests/support/packets.hpp"
#include "tests/support/specs.hpp"

namespace rampart::test {

inline const rte_ether_addr kInsideMac{{0x02, 0xaa, 0, 0, 0, 0x01}};
inline const rte_ether_addr kOutsideMac{{0x02, 0xaa, 0, 0, 0, 0x02}};

class ControlRig {
 public:
  explicit ControlRig(const std::string& name)
      : drops_(dp::kDropReasonDefs, 1), paths_(dp::kPathCounterDefs, 1) {
    dp::PortSpec inside = dp::ipv4_port("inside", "none", dp::PortRole::kProtected, {ip4(192, 0, 2, 1), 24});
    dp::PortSpec outside = dp::ipv4_port("outside", "none", dp::PortRole::kPublic, {ip4(198, 51, 100, 1), 24});
    outside.has_address6 = true;
    outside.address6 = {{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 64};
    ports_ = {dp::Port{inside, 0, kInsideMac}, dp::Port{outside, 1, kOutsideMac}};
    ring_ = rte_ring_create((name + "_ring").c_str(), 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    routes_ = dp::RouteTable::build(name + "_routes",
                                    {dp::ipv4_route({ip4(192, 0, 2, 0), 24}, 0, 0),
                                     dp::ipv4_route({ip4(198, 51, 100, 0), 24}, 0, 1),
                                     dp::ipv4_route({ip4(203, 0, 113, 0), 24}, ip4(198, 51, 100, 2), 1)})
                  .value();
  }
  ~ControlRig() {
    sent();  // frees what is left on the ring
    rte_ring_free(ring_);
  }
  ControlRig(const ControlRig&) = delete;
  ControlRig& operator=(const ControlRig&) = delete;

  const std::vector<dp::Port>& ports() const noexcept { return ports_; }
  dp::ControlOutput output() noexcept { return {ring_, &drops_.lane(0), &paths_.lane(0)}; }
  std::shared_ptr<const dp::RouteTable> routes() const { return routes_; }
  // The frames the room put on the ring to worker 0, with the port each was for.
  std::vector<std::pair<uint16_t, Bytes>> sent() {
    std::vector<std::pair<uint16_t, Bytes>> out;
    void* m;
    while (rte_ring_dequeue(ring_, &m) == 0) {
      auto* mbuf = static_cast<rte_mbuf*>(m);
      out.emplace_back(mbuf->port, from_mbuf(mbuf));
      rte_pktmbuf_free(mbuf);
    }
    return out;
  }
  uint64_t drops(dp::DropReason why) const { return drops_.sum(why); }
  uint64_t generated() const { return paths_.sum(dp::PathCounter::kGenerated); }

 private:
  std::vector<dp::Port> ports_;
  rte_ring* ring_ = nullptr;
  CounterTable drops_, paths_;
  std::shared_ptr<const dp::RouteTable> routes_;
};

}  // namespace rampart::test
