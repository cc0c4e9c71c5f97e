// The neighbour service alone, on the control core's output ring: ARP answered and learned
// from, packets held for an unknown next hop, asked for, released, given up.
#include <catch2/catch.hpp>
#include <rte_arp.h>
#include <rte_cycles.h>

#include <cstring>

#include "dataplane/neighbour_service.hpp"
#include "tests/support/control_rig.hpp"

using namespace rampart;
using namespace rampart::test;
using dp::DropReason;

namespace {

rte_mbuf* on_port(const Bytes& frame, uint16_t port) {
  rte_mbuf* m = to_mbuf(frame);
  REQUIRE(m != nullptr);
  m->port = port;
  return m;
}

const rte_arp_hdr& arp_of(const Bytes& frame) { return *reinterpret_cast<const rte_arp_hdr*>(frame.data() + 14); }

struct NeighbourRig {
  ControlRig rig{"nbr"};
  std::unique_ptr<dp::NeighbourService> service =
      dp::NeighbourService::create("nbr_table", rig.ports(), {}, packet_pool(), rig.output()).value();
  NeighbourRig() { service->use_routes(rig.routes()); }
  ~NeighbourRig() {
    service.reset();
    (void)rig.sent();
    CHECK(mbufs_in_use() == 0);
  }
};

}  // namespace

TEST_CASE_METHOD(NeighbourRig, "ARP: a request for our address is answered and its sender learned; others are only learned from",
                 "[dp][neighbour]") {
  service->receive(on_port(arp(RTE_ARP_OP_REQUEST, kPeerMac, ip4(198, 51, 100, 2), ip4(198, 51, 100, 1)), 1));
  auto sent = rig.sent();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].first == 1);
  const rte_arp_hdr& reply = arp_of(sent[0].second);
  CHECK(reply.arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REPLY));
  CHECK(rte_is_same_ether_addr(&reply.arp_data.arp_sha, &kOutsideMac));
  CHECK(rte_is_same_ether_addr(&reply.arp_data.arp_tha, &kPeerMac));
  CHECK(reply.arp_data.arp_tip == rte_cpu_to_be_32(ip4(198, 51, 100, 2)));
  rte_ether_addr mac;
  REQUIRE(service->table().lookup(ip4(198, 51, 100, 2), mac));
  CHECK(rte_is_same_ether_addr(&mac, &kPeerMac));

  // For another address on the link: learned from, not answered, counted.
  service->receive(on_port(arp(RTE_ARP_OP_REQUEST, kHostMac, ip4(192, 0, 2, 10), ip4(192, 0, 2, 77)), 0));
  CHECK(rig.sent().empty());
  CHECK(service->table().lookup(ip4(192, 0, 2, 10), mac));
  CHECK(rig.drops(DropReason::kNeighbourMessage) == 1);
  // From off the link: not learned (RFC 826 learns only a link's own hosts).
  service->receive(on_port(arp(RTE_ARP_OP_REQUEST, kHostMac, ip4(203, 0, 113, 9), ip4(192, 0, 2, 1)), 0));
  CHECK_FALSE(service->table().lookup(ip4(203, 0, 113, 9), mac));
  // Not Ethernet and IPv4: refused.
  Bytes bad = arp(RTE_ARP_OP_REQUEST, kHostMac, ip4(192, 0, 2, 10), ip4(192, 0, 2, 1));
  bad[14 + 4] = 8;  // hardware address length
  service->receive(on_port(bad, 0));
  CHECK(rig.drops(DropReason::kBadNeighbourMessage) == 1);
}

TEST_CASE_METHOD(NeighbourRig, "a packet for an unknown next hop is held, asked for, and sent once the next hop answers",
                 "[dp][neighbour]") {
  const uint64_t hz = rte_get_tsc_hz();
  uint64_t now = 1000 * hz;
  Bytes ip = ipv4_udp({v4(192, 0, 2, 10), v4(203, 0, 113, 10), 32});
  service->hold(to_mbuf(ip), now);
  service->poll(now);
  auto asked = rig.sent();  // an ARP request for the router, the route's next hop
  REQUIRE(asked.size() == 1);
  CHECK(asked[0].first == 1);
  CHECK(arp_of(asked[0].second).arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REQUEST));
  CHECK(arp_of(asked[0].second).arp_data.arp_tip == rte_cpu_to_be_32(ip4(198, 51, 100, 2)));
  CHECK(rig.generated() == 1);
  service->poll(now + hz / 20);  // within 100 ms: not asked again
  CHECK(rig.sent().empty());
  service->poll(now + hz / 5);  // after: asked again
  CHECK(rig.sent().size() == 1);

  service->receive(on_port(arp(RTE_ARP_OP_REPLY, kPeerMac, ip4(198, 51, 100, 2), ip4(198, 51, 100, 1)), 1));
  service->poll(now + hz / 4);
  auto released = rig.sent();
  REQUIRE(released.size() == 1);
  CHECK(released[0].first == 1);
  CHECK(std::memcmp(released[0].second.data(), kPeerMac.addr_bytes, 6) == 0);       // to the router
  CHECK(std::memcmp(released[0].second.data() + 6, kOutsideMac.addr_bytes, 6) == 0);  // from our port
  CHECK(Bytes(released[0].second.begin() + 14, released[0].second.end()) == ip);
  CHECK(rig.drops(DropReason::kNoNeighbour) == 0);
}

TEST_CASE_METHOD(NeighbourRig, "held packets are given up after a second, and no more than 256 wait", "[dp][neighbour]") {
  const uint64_t hz = rte_get_tsc_hz();
  uint64_t now = 1000 * hz;
  for (int i = 0; i < 300; ++i) service->hold(to_mbuf(ipv4_udp({v4(192, 0, 2, 10), v4(203, 0, 113, 10), 32})), now);
  CHECK(rig.drops(DropReason::kNoNeighbour) == 300 - 256);
  service->poll(now);
  (void)rig.sent();
  service->poll(now + hz + hz / 10);
  CHECK(rig.drops(DropReason::kNoNeighbour) == 300);
  // The control core's own packets are held even when the workers' have filled the hold.
  for (int i = 0; i < 300; ++i) service->hold(to_mbuf(ipv4_udp({v4(192, 0, 2, 10), v4(203, 0, 113, 10), 32})), now);
  service->send(to_mbuf(ipv4_udp({v4(198, 51, 100, 1), v4(203, 0, 113, 10), 32})), now);
  CHECK(service->release() == 257);
}
