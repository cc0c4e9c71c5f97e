// Checksums a receiver must verify before it acts on a header (RFC 1122 3.2.1.2, RFC 1812
// 5.2.2: an IPv4 header whose checksum fails is discarded; RFC 768 and RFC 8200 8.1: so is a UDP
// datagram whose non-zero checksum fails). The port's verdict where the device gives one,
// otherwise one software sum, once per packet.
#pragma once

#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include <cstring>

namespace rampart::dp {

// The header (ihl bytes, already bounds-checked) sums to all ones when its checksum is right.
// The usual 20 bytes as five 32-bit words folded (the one's complement sum of 16-bit words is
// the same whatever the word size, RFC 1071 2(B)); options through rte_raw_cksum.
inline bool ipv4_header_checksum_ok(const void* ip, unsigned ihl) noexcept {
  if (ihl != sizeof(rte_ipv4_hdr)) [[unlikely]] return rte_raw_cksum(ip, ihl) == 0xffff;
  uint32_t w[5];
  std::memcpy(w, ip, sizeof w);  // after a 14-byte Ethernet header, only 2-byte aligned
  uint64_t sum = uint64_t{w[0]} + w[1] + w[2] + w[3] + w[4];
  sum = (sum & 0xffffffff) + (sum >> 32);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return sum == 0xffff;
}

inline bool ipv4_header_checksum_ok(const rte_mbuf* m, const void* ip, unsigned ihl) noexcept {
  switch (m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) {
    case RTE_MBUF_F_RX_IP_CKSUM_GOOD: return true;
    case RTE_MBUF_F_RX_IP_CKSUM_BAD: return false;
    default: return ipv4_header_checksum_ok(ip, ihl);
  }
}

// A UDP datagram (after its IP header, and perhaps IPv6 extension headers: the UDP length
// says how long, bounds-checked by the caller): zero means "none sent", which IPv4 allows and
// RFC 6935 allows for tunnels over IPv6 (ESP in UDP, RFC 3948); any other value must verify.
// The pseudo-header is summed here, not by rte_ipv6_udptcp_cksum, which takes the IPv6 payload
// length for the UDP length and so counts extension headers in.
template <bool kIpv6>
inline bool udp_checksum_ok(const rte_mbuf* m, const void* ip, const rte_udp_hdr* udp) noexcept {
  if (udp->dgram_cksum == 0) return true;
  switch (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) {
    case RTE_MBUF_F_RX_L4_CKSUM_GOOD: return true;
    case RTE_MBUF_F_RX_L4_CKSUM_BAD: return false;
    default: break;
  }
  uint16_t length = rte_be_to_cpu_16(udp->dgram_len);
  uint32_t sum;
  if constexpr (kIpv6)
    sum = __rte_raw_cksum(static_cast<const rte_ipv6_hdr*>(ip)->src_addr, 32, 0);
  else
    sum = __rte_raw_cksum(&static_cast<const rte_ipv4_hdr*>(ip)->src_addr, 8, 0);
  // Length and protocol as the pseudo-header's 16-bit words hold them (network order).
  sum += rte_cpu_to_be_16(length) + rte_cpu_to_be_16(IPPROTO_UDP);
  sum = __rte_raw_cksum(udp, length, sum);
  return __rte_raw_cksum_reduce(sum) == 0xffff;
}

}  // namespace rampart::dp
