// Our outbound against our inbound, for every mode, family, key size, ESN and NAT-T: packets in,
// packets out, byte for byte. Interop with peers nobody here wrote is in esp_scapy_test.cpp and
// esp_vectors_test.cpp.
#include <catch2/catch.hpp>

#include "dataplane/wire_headers.hpp"
#include "tests/dataplane/esp_harness.hpp"

using namespace rampart;
using namespace rampart::test;
using dp::DropReason;

namespace {

// A mix of sizes (1 to 1400 bytes of UDP payload) covering every padding length.
std::vector<Bytes> traffic(dp::SaMode mode, dp::IpFamily family, size_t count) {
  std::vector<Bytes> packets;
  for (size_t i = 0; i < count; ++i) {
    UdpSpec spec{v4(192, 0, 2, 10), v4(203, 0, 113, 20), static_cast<uint16_t>(1 + (i * 37) % 1400),
                 static_cast<uint8_t>(i * 4), i % 2 == 0, static_cast<uint8_t>(i)};
    // Tunnels carry either family whatever the outer one; transport keeps the SA's family.
    bool inner_v6 = mode == dp::SaMode::kTunnel ? i % 3 == 1 : family == dp::IpFamily::kIpv6;
    if (inner_v6) {
      spec.source = v6(1, 0x10);
      spec.destination = v6(2, 0x20);
      packets.push_back(ipv6_udp(spec));
    } else {
      packets.push_back(ipv4_udp(spec));
    }
  }
  return packets;
}

}  // namespace

TEST_CASE("ESP round trip: every mode, family, key size, ESN and NAT-T", "[dp][esp]") {
  auto mode = GENERATE(dp::SaMode::kTunnel, dp::SaMode::kTransport);
  auto family = GENERATE(dp::IpFamily::kIpv4, dp::IpFamily::kIpv6);
  auto key_length = GENERATE(16u, 32u);
  auto esn = GENERATE(false, true);
  auto nat_t = GENERATE(false, true);
  INFO("mode " << int(mode) << " family " << int(family) << " key " << key_length << " esn " << esn << " nat_t "
                << nat_t);

  EspHarness h;
  SaPair pair = make_sa_pair(mode, family, key_length, esn, nat_t);
  if (esn) pair.out.initial_seq = pair.in.initial_seq = 0xffffffffull - 40;  // cross 2^32 mid-run
  auto out = h.sa(pair.out);
  auto in = h.sa(pair.in);

  auto packets = traffic(mode, family, 150);
  Processed sealed = h.outbound(*out, packets);
  REQUIRE(sealed.dropped.empty());
  REQUIRE(sealed.good.size() == packets.size());
  for (size_t i = 0; i < packets.size(); ++i) {
    const Bytes& e = sealed.good[i];
    // Outer protocol: ESP, or UDP for NAT-T; the payload is not in the clear.
    unsigned ip_length = family == dp::IpFamily::kIpv4 ? 20 : 40;
    uint8_t protocol = family == dp::IpFamily::kIpv4 ? e[9] : e[6];
    REQUIRE(protocol == (nat_t ? dp::ip_proto::kUdp : dp::ip_proto::kEsp));
    REQUIRE(e.size() % 4 == (ip_length + (nat_t ? 8 : 0)) % 4);  // the ESP part ends 4-aligned
    REQUIRE(std::search(e.begin(), e.end(), packets[i].end() - 16, packets[i].end()) == e.end());
  }

  Processed opened = h.inbound(*in, sealed.good);
  REQUIRE(opened.dropped.empty());
  REQUIRE(opened.good == packets);
  CHECK(out->packets.get() == packets.size());
  CHECK(in->packets.get() == packets.size());
  CHECK(out->bytes.get() == in->bytes.get());
  CHECK(h.dropped_total() == 0);
  if (esn) CHECK(in->window->top() > 0xffffffffull);
  CHECK(mbufs_in_use() == 0);
}

TEST_CASE("the outer IPv4 header follows the SA: TTL, DSCP, ECN, DF, ID, checksum", "[dp][esp][outer]") {
  EspHarness h;
  SaPair pair = make_sa_pair(dp::SaMode::kTunnel, dp::IpFamily::kIpv4, 16, false, false);
  pair.out.ttl = 33;
  auto df = GENERATE(dp::DfPolicy::kCopy, dp::DfPolicy::kSet, dp::DfPolicy::kClear);
  pair.out.df = df;
  auto out = h.sa(pair.out);

  UdpSpec with_df{v4(192, 0, 2, 10), v4(203, 0, 113, 20), 64, 0xb9 /* DSCP 46, ECT(1) */, true, 0};
  UdpSpec without_df = with_df;
  without_df.dont_fragment = false;
  Processed sealed = h.outbound(*out, {ipv4_udp(with_df), ipv4_udp(without_df)});
  REQUIRE(sealed.good.size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    const Bytes& e = sealed.good[i];
    auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(e.data());
    CHECK(ip->time_to_live == 33);
    CHECK(ip->type_of_service == 0xb9);  // DSCP copied, ECN copied (RFC 6040 normal mode)
    CHECK(rte_be_to_cpu_16(ip->total_length) == e.size());
    CHECK(rte_ipv4_cksum(ip) == 0);  // summed with its checksum, a valid header gives zero
    bool inner_df = i == 0;
    bool outer_df = rte_be_to_cpu_16(ip->fragment_offset) & 0x4000;
    bool want = df == dp::DfPolicy::kSet || (df == dp::DfPolicy::kCopy && inner_df);
    CHECK(outer_df == want);
    CHECK(std::equal(e.begin() + 12, e.begin() + 16, pair.out.tunnel_source.begin()));
    CHECK(std::equal(e.begin() + 16, e.begin() + 20, pair.out.tunnel_destination.begin()));
  }
  CHECK(rte_be_to_cpu_16(reinterpret_cast<const rte_ipv4_hdr*>(sealed.good[1].data())->packet_id) ==
        rte_be_to_cpu_16(reinterpret_cast<const rte_ipv4_hdr*>(sealed.good[0].data())->packet_id) + 1);
  CHECK(mbufs_in_use() == 0);
}

TEST_CASE("NAT-T: UDP on the SA's ports, zero checksum on IPv4, valid checksum on IPv6", "[dp][esp][nat_t]") {
  EspHarness h;
  auto family = GENERATE(dp::IpFamily::kIpv4, dp::IpFamily::kIpv6);
  SaPair pair = make_sa_pair(dp::SaMode::kTunnel, family, 16, false, true);
  pair.out.nat_local_port = 4501;
  pair.out.nat_remote_port = 31000;
  auto out = h.sa(pair.out);
  Processed sealed = h.outbound(*out, {ipv4_udp({v4(192, 0, 2, 1), v4(203, 0, 113, 2)})});
  REQUIRE(sealed.good.size() == 1);
  const Bytes& e = sealed.good[0];
  unsigned udp_at = family == dp::IpFamily::kIpv4 ? 20 : 40;
  auto* udp = reinterpret_cast<const rte_udp_hdr*>(e.data() + udp_at);
  CHECK(rte_be_to_cpu_16(udp->src_port) == 4501);
  CHECK(rte_be_to_cpu_16(udp->dst_port) == 31000);
  CHECK(rte_be_to_cpu_16(udp->dgram_len) == e.size() - udp_at);
  if (family == dp::IpFamily::kIpv4) {
    CHECK(udp->dgram_cksum == 0);
  } else {
    CHECK(udp->dgram_cksum != 0);
    CHECK(rte_ipv6_udptcp_cksum_verify(reinterpret_cast<const rte_ipv6_hdr*>(e.data()), udp) == 0);
  }
  CHECK(mbufs_in_use() == 0);
}

TEST_CASE("a burst mixing SAs keeps order and moves only the drops behind", "[dp][esp]") {
  EspHarness h;
  SaPair a = make_sa_pair(dp::SaMode::kTunnel, dp::IpFamily::kIpv4, 16, false, false);
  SaPair b = make_sa_pair(dp::SaMode::kTunnel, dp::IpFamily::kIpv6, 32, true, true);
  b.out.spi = b.in.spi = 0x2002;
  auto a_out = h.sa(a.out);
  auto b_out = h.sa(b.out);
  auto a_in = h.sa(a.in);
  auto b_in = h.sa(b.in);

  std::vector<Bytes> plain;
  std::vector<std::pair<dp::SaRuntime*, Bytes>> items;
  for (int i = 0; i < 12; ++i) {
    plain.push_back(ipv4_udp({v4(192, 0, 2, 1), v4(203, 0, 113, 2), static_cast<uint16_t>(10 + i)}));
    items.emplace_back(i % 4 < 2 ? a_out.get() : b_out.get(), plain.back());
  }
  items[5].second.resize(10);  // a runt in the middle of b's run
  Processed sealed = h.burst(items, true);
  REQUIRE(sealed.good.size() == 11);
  REQUIRE(sealed.dropped == std::vector<DropReason>{DropReason::kRunt});

  std::vector<std::pair<dp::SaRuntime*, Bytes>> back;
  size_t k = 0;
  for (int i = 0; i < 12; ++i) {
    if (i == 5) continue;
    back.emplace_back(i % 4 < 2 ? a_in.get() : b_in.get(), sealed.good[k++]);
  }
  Processed opened = h.burst(back, false);
  REQUIRE(opened.dropped.empty());
  plain.erase(plain.begin() + 5);
  CHECK(opened.good == plain);
  CHECK(mbufs_in_use() == 0);
}

TEST_CASE("IPv6 transport: ESP goes after hop-by-hop options and comes back out", "[dp][esp][ipv6]") {
  EspHarness h;
  SaPair pair = make_sa_pair(dp::SaMode::kTransport, dp::IpFamily::kIpv6, 16, false, false);
  auto out = h.sa(pair.out);
  auto in = h.sa(pair.in);
  Bytes udp6 = ipv6_udp({v6(1, 0x10), v6(2, 0x20), 40});
  // Insert an 8-byte hop-by-hop header (next header UDP, a PadN option) after the base header.
  Bytes with_hbh(udp6.begin(), udp6.begin() + 40);
  with_hbh[6] = dp::ip_proto::kHopByHop;
  with_hbh[5] = static_cast<uint8_t>(with_hbh[5] + 8);
  for (uint8_t b : {uint8_t{dp::ip_proto::kUdp}, uint8_t{0}, uint8_t{1}, uint8_t{4}, uint8_t{0}, uint8_t{0}, uint8_t{0}, uint8_t{0}})
    with_hbh.push_back(b);
  with_hbh.insert(with_hbh.end(), udp6.begin() + 40, udp6.end());

  Processed sealed = h.outbound(*out, {with_hbh});
  REQUIRE(sealed.good.size() == 1);
  const Bytes& e = sealed.good[0];
  CHECK(e[6] == dp::ip_proto::kHopByHop);  // the base header still names hop-by-hop
  CHECK(e[40] == dp::ip_proto::kEsp);      // which now names ESP
  CHECK(e[48] == 0x00);                    // the SPI follows the hop-by-hop header
  CHECK(e[51] == 0x01);
  Processed opened = h.inbound(*in, sealed.good);
  REQUIRE(opened.good.size() == 1);
  CHECK(opened.good[0] == with_hbh);
  CHECK(mbufs_in_use() == 0);
}

TEST_CASE("NAT-T transport: the inner checksum is fixed for the addresses the NAT left", "[dp][esp][nat_t]") {
  EspHarness h;
  SaPair pair = make_sa_pair(dp::SaMode::kTransport, dp::IpFamily::kIpv4, 16, false, true);
  auto out = h.sa(pair.out);
  auto in = h.sa(pair.in);
  Processed sealed = h.outbound(*out, {ipv4_udp({v4(192, 0, 2, 10), v4(203, 0, 113, 20), 60})});
  REQUIRE(sealed.good.size() == 1);
  // A NAT on the way rewrites the source address (and the IP checksum, not the encrypted UDP one).
  Bytes natted = sealed.good[0];
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(natted.data());
  ip->src_addr = rte_cpu_to_be_32(RTE_IPV4(198, 51, 100, 77));
  ip->hdr_checksum = 0;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  Processed opened = h.inbound(*in, {natted});
  REQUIRE(opened.good.size() == 1);
  const Bytes& p = opened.good[0];
  auto* out_ip = reinterpret_cast<const rte_ipv4_hdr*>(p.data());
  CHECK(out_ip->src_addr == rte_cpu_to_be_32(RTE_IPV4(198, 51, 100, 77)));
  CHECK(out_ip->next_proto_id == IPPROTO_UDP);
  CHECK(rte_ipv4_cksum(out_ip) == 0);
  CHECK(rte_ipv4_udptcp_cksum_verify(out_ip, p.data() + 20) == 0);
  CHECK(mbufs_in_use() == 0);
}
