// Test helpers for packets in mbufs: a pool, building IPv4/IPv6 UDP packets with valid
// checksums, copying bytes in and out of mbufs. Test code only.
#pragma once

#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "dataplane/udp_headers.hpp"

namespace rampart::test {

using Bytes = std::vector<uint8_t>;

// One pool per test binary, big enough for any test's bursts. Tests check it is empty after.
inline rte_mempool* packet_pool() {
  static rte_mempool* pool =
      rte_pktmbuf_pool_create("test_pool", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<int>(rte_socket_id()));
  return pool;
}

inline unsigned mbufs_in_use() { return rte_mempool_in_use_count(packet_pool()); }

inline rte_mbuf* to_mbuf(const Bytes& bytes) {
  rte_mbuf* m = rte_pktmbuf_alloc(packet_pool());
  if (m == nullptr) return nullptr;
  char* data = rte_pktmbuf_append(m, static_cast<uint16_t>(bytes.size()));
  if (data == nullptr) {
    rte_pktmbuf_free(m);
    return nullptr;
  }
  if (!bytes.empty()) std::memcpy(data, bytes.data(), bytes.size());
  return m;
}

inline Bytes from_mbuf(const rte_mbuf* m) {
  const auto* data = rte_pktmbuf_mtod(m, const uint8_t*);
  return Bytes(data, data + rte_pktmbuf_data_len(m));
}

inline Bytes hex_bytes(const char* hex) {
  Bytes out;
  auto nibble = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (size_t i = 0; hex[i] && hex[i + 1]; i += 2) out.push_back(static_cast<uint8_t>(nibble(hex[i]) << 4 | nibble(hex[i + 1])));
  return out;
}

inline std::string to_hex(const Bytes& b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (uint8_t x : b) {
    s.push_back(kDigits[x >> 4]);
    s.push_back(kDigits[x & 15]);
  }
  return s;
}

inline std::array<uint8_t, 16> v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return {a, b, c, d}; }
// 2001:db8:<group3>::<last>
inline std::array<uint8_t, 16> v6(uint16_t group3, uint8_t last) {
  std::array<uint8_t, 16> a{0x20, 0x01, 0x0d, 0xb8, static_cast<uint8_t>(group3 >> 8), static_cast<uint8_t>(group3)};
  a[15] = last;
  return a;
}

struct UdpSpec {
  std::array<uint8_t, 16> source;
  std::array<uint8_t, 16> destination;
  uint16_t payload_length = 100;
  uint8_t tos = 0;       // IPv4 TOS or IPv6 traffic class
  bool dont_fragment = false;
  uint8_t fill = 0;      // payload bytes are fill, fill+1, ...
};

// An IPv4 UDP packet with valid IP and UDP checksums, ports 1234 -> 5678.
inline Bytes ipv4_udp(const UdpSpec& spec) {
  Bytes p(dp::kIpv4UdpHeaders + spec.payload_length);
  dp::write_ipv4_udp(p.data(), {spec.source.data(), spec.destination.data(), 1234, 5678}, spec.payload_length);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p.data());
  ip->type_of_service = spec.tos;
  ip->packet_id = rte_cpu_to_be_16(0x1234);
  ip->fragment_offset = rte_cpu_to_be_16(spec.dont_fragment ? 0x4000 : 0);
  ip->hdr_checksum = 0;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  for (uint16_t i = 0; i < spec.payload_length; ++i) p[dp::kIpv4UdpHeaders + i] = static_cast<uint8_t>(spec.fill + i);
  auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
  udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
  return p;
}

// An IPv6 UDP packet with a valid UDP checksum, ports 1234 -> 5678.
inline Bytes ipv6_udp(const UdpSpec& spec) {
  Bytes p(dp::kIpv6UdpHeaders + spec.payload_length);
  dp::write_ipv6_udp(p.data(), {spec.source.data(), spec.destination.data(), 1234, 5678}, spec.payload_length);
  auto* ip = reinterpret_cast<rte_ipv6_hdr*>(p.data());
  ip->vtc_flow = rte_cpu_to_be_32(6u << 28 | uint32_t{spec.tos} << 20);
  for (uint16_t i = 0; i < spec.payload_length; ++i) p[dp::kIpv6UdpHeaders + i] = static_cast<uint8_t>(spec.fill + i);
  dp::set_udp6_checksum(p.data());
  return p;
}

}  // namespace rampart::test
