// The checksum checks against DPDK's own sums, on headers of every length and on damaged ones.
#include <catch2/catch.hpp>

#include <random>

#include "dataplane/checksum.hpp"
#include "tests/support/packets.hpp"

using namespace rampart;
using namespace rampart::test;

TEST_CASE("an IPv4 header checksum verifies exactly when DPDK's sum says so, with or without options",
          "[dp][checksum]") {
  std::mt19937 random(7);
  for (int round = 0; round < 2000; ++round) {
    unsigned ihl = 20 + 4 * (round % 11);
    alignas(4) uint8_t buffer[2 + 60];
    uint8_t* header = buffer + 2;  // as after an Ethernet header: 2-byte aligned only
    for (unsigned i = 0; i < ihl; ++i) header[i] = static_cast<uint8_t>(random());
    header[0] = static_cast<uint8_t>(0x40 | ihl / 4);
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(header);
    ip->hdr_checksum = 0;
    ip->hdr_checksum = static_cast<uint16_t>(~rte_raw_cksum(header, ihl));
    CHECK(dp::ipv4_header_checksum_ok(header, ihl));
    header[random() % ihl] ^= static_cast<uint8_t>(1u << (random() % 8));  // one bit flipped
    CHECK(dp::ipv4_header_checksum_ok(header, ihl) == (rte_raw_cksum(header, ihl) == 0xffff));
    CHECK_FALSE(dp::ipv4_header_checksum_ok(header, ihl));
  }
}

TEST_CASE("a UDP checksum verifies over both families, zero is none, extension headers are not counted in",
          "[dp][checksum]") {
  Bytes v4 = ipv4_udp({test::v4(192, 0, 2, 1), test::v4(203, 0, 113, 2), 77});
  rte_mbuf* m = to_mbuf(v4);
  REQUIRE(m != nullptr);
  auto* udp = rte_pktmbuf_mtod_offset(m, rte_udp_hdr*, 20);
  CHECK(dp::udp_checksum_ok<false>(m, rte_pktmbuf_mtod(m, void*), udp));
  udp->dgram_cksum ^= 0x0100;
  CHECK_FALSE(dp::udp_checksum_ok<false>(m, rte_pktmbuf_mtod(m, void*), udp));
  udp->dgram_cksum = 0;
  CHECK(dp::udp_checksum_ok<false>(m, rte_pktmbuf_mtod(m, void*), udp));
  rte_pktmbuf_free(m);

  // IPv6 with an 8-byte destination options header before UDP: the pseudo-header's length is
  // UDP's, not the IPv6 payload's.
  Bytes plain = ipv6_udp({test::v6(1, 1), test::v6(2, 2), 50});
  Bytes v6(plain.begin(), plain.begin() + 40);
  v6[6] = 60;  // next header: destination options
  Bytes options = {IPPROTO_UDP, 0, 1, 4, 0, 0, 0, 0};  // PadN
  v6.insert(v6.end(), options.begin(), options.end());
  v6.insert(v6.end(), plain.begin() + 40, plain.end());
  uint16_t payload = static_cast<uint16_t>(v6.size() - 40);
  v6[4] = static_cast<uint8_t>(payload >> 8);
  v6[5] = static_cast<uint8_t>(payload);
  m = to_mbuf(v6);
  REQUIRE(m != nullptr);
  udp = rte_pktmbuf_mtod_offset(m, rte_udp_hdr*, 48);
  CHECK(dp::udp_checksum_ok<true>(m, rte_pktmbuf_mtod(m, void*), udp));
  udp->dgram_cksum ^= 0x0001;
  CHECK_FALSE(dp::udp_checksum_ok<true>(m, rte_pktmbuf_mtod(m, void*), udp));
  rte_pktmbuf_free(m);
  CHECK(mbufs_in_use() == 0);
}
