// Local delivery alone: the ports services listen on, the datagrams handed to them, and theirs
// sent (IPv4 and IPv6, with the non-ESP marker on 4500), without a gateway around it.
#include <catch2/catch.hpp>
#include <rte_ip.h>
#include <rte_udp.h>

#include <cstring>

#include "dataplane/local_delivery.hpp"
#include "dataplane/neighbour_service.hpp"
#include "dataplane/update_channel.hpp"
#include "tests/support/control_rig.hpp"
#include "tests/support/ring_site.hpp"

using namespace rampart;
using namespace rampart::test;
using dp::DropReason;

namespace {

struct DeliveryRig {
  ControlRig rig{"ld"};
  std::unique_ptr<dp::UpdateChannel> updates = dp::UpdateChannel::create(1).value();
  std::unique_ptr<dp::NeighbourService> neighbours =
      dp::NeighbourService::create("ld_table", rig.ports(), RingSite::neighbours(), packet_pool(), rig.output()).value();
  dp::LocalDelivery delivery{*updates, *neighbours, packet_pool(), rig.output(), [] () noexcept { return uint64_t{1}; }};
  DeliveryRig() { neighbours->use_routes(rig.routes()); }
  ~DeliveryRig() {
    (void)rig.sent();
    updates->reclaim();
    CHECK(mbufs_in_use() == 0);
  }
  // A UDP datagram from the router to port on the gateway's public address, as a worker hands it over.
  void arrives(uint16_t port, const Bytes& payload) {
    Bytes ip = ipv4_udp({v4(198, 51, 100, 2), v4(198, 51, 100, 1), static_cast<uint16_t>(payload.size())});
    auto* udp = reinterpret_cast<rte_udp_hdr*>(ip.data() + 20);
    udp->src_port = rte_cpu_to_be_16(40000);
    udp->dst_port = rte_cpu_to_be_16(port);
    std::memcpy(ip.data() + 28, payload.data(), payload.size());
    rte_mbuf* m = to_mbuf(ether(kOutsideMac, kPeerMac, RTE_ETHER_TYPE_IPV4, ip));
    REQUIRE(m != nullptr);
    m->port = 1;
    delivery.receive(m);
  }
};

}  // namespace

TEST_CASE_METHOD(DeliveryRig, "local delivery hands a service the datagrams for its ports, and only those",
                 "[dp][local]") {
  constexpr uint16_t kBoth[] = {1812, 4500};
  CHECK(delivery.ports()->size() == 0);
  arrives(1812, {1, 2, 3});
  CHECK(rig.drops(DropReason::kNotForUs) == 1);

  const dp::LocalPorts* before = delivery.ports();
  REQUIRE(delivery.listen_udp(1812).ok());
  REQUIRE(delivery.listen_udp(4500).ok());
  CHECK(delivery.ports() != before);  // a new set for the workers, the old one retired
  CHECK(delivery.ports()->delivers(1812));
  CHECK(updates->pending() == 2);
  REQUIRE(delivery.listen_udp(1812).ok());  // again: nothing changes
  CHECK(updates->pending() == 2);

  arrives(1812, {1, 2, 3});
  arrives(4500, {0, 0, 0, 0, 9, 9});  // after the non-ESP marker: the service's
  arrives(4500, {0, 0, 0, 1, 9, 9});  // no marker: ESP's, not the service's
  CHECK(delivery.take(std::array<uint16_t, 1>{53}).empty());
  auto inbox = delivery.take(kBoth);
  REQUIRE(inbox.size() == 2);
  CHECK(inbox[0].destination_port == 1812);
  CHECK(inbox[0].source_port == 40000);
  CHECK(inbox[0].payload == std::vector<std::byte>{std::byte{1}, std::byte{2}, std::byte{3}});
  CHECK(inbox[1].destination_port == 4500);
  CHECK(inbox[1].payload == std::vector<std::byte>{std::byte{9}, std::byte{9}});  // marker stripped
  CHECK(rig.drops(DropReason::kLocalDelivery) == 2);
  CHECK(rig.drops(DropReason::kNotForUs) == 2);
  CHECK(delivery.take(kBoth).empty());

  // Two services: each takes its own, in the order they came, and leaves the other's.
  arrives(1812, {1});
  arrives(4500, {0, 0, 0, 0, 2});
  arrives(1812, {3});
  constexpr uint16_t kRadius[] = {1812};
  auto radius = delivery.take(kRadius);
  REQUIRE(radius.size() == 2);
  CHECK(radius[0].payload == std::vector<std::byte>{std::byte{1}});
  CHECK(radius[1].payload == std::vector<std::byte>{std::byte{3}});
  constexpr uint16_t kNatT[] = {4500};
  auto nat_t = delivery.take(kNatT);
  REQUIRE(nat_t.size() == 1);
  CHECK(nat_t[0].payload == std::vector<std::byte>{std::byte{2}});

  // A service that does not keep up: the inbox holds 256, the rest are counted.
  for (size_t i = 0; i < dp::LocalDelivery::kMaxInbox + 4; ++i) arrives(1812, {7});
  CHECK(delivery.take(kBoth).size() == dp::LocalDelivery::kMaxInbox);
  CHECK(rig.drops(DropReason::kControlBusy) == 4);
}

TEST_CASE_METHOD(DeliveryRig, "a service's datagram leaves routed and resolved, with checksums and the marker where due",
                 "[dp][local]") {
  dp::LocalDatagram d;
  d.source = v4(198, 51, 100, 1);
  d.destination = v4(203, 0, 113, 7);  // beyond the router, whose MAC is known
  d.source_port = 4500;
  d.destination_port = 4500;
  d.payload = {std::byte{0xab}, std::byte{0xcd}};
  delivery.send(d);
  d.payload = {std::byte{0xff}};  // a NAT keepalive: no marker (RFC 3948 2.3)
  delivery.send(d);
  auto sent = rig.sent();
  REQUIRE(sent.size() == 2);
  for (size_t k = 0; k < 2; ++k) {
    const Bytes& f = sent[k].second;
    CHECK(sent[k].first == 1);
    CHECK(std::memcmp(f.data(), kPeerMac.addr_bytes, 6) == 0);
    const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(f.data() + 14);
    CHECK(rte_ipv4_cksum(ip) == 0);  // the header sums to all ones with its checksum in
    const auto* udp = reinterpret_cast<const rte_udp_hdr*>(ip + 1);
    const uint8_t* body = reinterpret_cast<const uint8_t*>(udp + 1);
    if (k == 0) {
      REQUIRE(rte_be_to_cpu_16(udp->dgram_len) == 8 + 4 + 2);
      CHECK(std::memcmp(body, "\0\0\0\0\xab\xcd", 6) == 0);
    } else {
      REQUIRE(rte_be_to_cpu_16(udp->dgram_len) == 8 + 1);
      CHECK(body[0] == 0xff);
    }
  }
  CHECK(rig.generated() == 2);
}
