// The IP and UDP headers in front of a datagram's payload, as the gateway writes them for its
// own services' datagrams and the bench, the self-check and the tests write them for the
// traffic they make: version, lengths, TTL or hop limit 64, protocol UDP, addresses, ports, and
// the IPv4 header checksum. The UDP checksum is left 0, which RFC 768 allows over IPv4; IPv6
// needs one (RFC 8200 8.1): set_udp6_checksum, once the payload is in place.
#pragma once

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <cstdint>
#include <cstring>

namespace rampart::dp {

inline constexpr size_t kIpv4UdpHeaders = sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr);
inline constexpr size_t kIpv6UdpHeaders = sizeof(rte_ipv6_hdr) + sizeof(rte_udp_hdr);

struct UdpEndpoints {
  const uint8_t* source;       // network order: 4 bytes for IPv4, 16 for IPv6
  const uint8_t* destination;
  uint16_t source_port;
  uint16_t destination_port;
};

namespace detail {
inline void write_udp(uint8_t* p, const UdpEndpoints& e, uint16_t payload_length) noexcept {
  auto* udp = reinterpret_cast<rte_udp_hdr*>(p);
  udp->src_port = rte_cpu_to_be_16(e.source_port);
  udp->dst_port = rte_cpu_to_be_16(e.destination_port);
  udp->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(sizeof(rte_udp_hdr) + payload_length));
  udp->dgram_cksum = 0;
}
}  // namespace detail

// kIpv4UdpHeaders bytes at p, for a payload of payload_length bytes after them.
inline void write_ipv4_udp(uint8_t* p, const UdpEndpoints& e, uint16_t payload_length) noexcept {
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p);
  std::memset(ip, 0, sizeof *ip);
  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(kIpv4UdpHeaders + payload_length));
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_UDP;
  std::memcpy(&ip->src_addr, e.source, 4);
  std::memcpy(&ip->dst_addr, e.destination, 4);
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  detail::write_udp(p + sizeof(rte_ipv4_hdr), e, payload_length);
}

// kIpv6UdpHeaders bytes at p, for a payload of payload_length bytes after them.
inline void write_ipv6_udp(uint8_t* p, const UdpEndpoints& e, uint16_t payload_length) noexcept {
  auto* ip = reinterpret_cast<rte_ipv6_hdr*>(p);
  std::memset(ip, 0, sizeof *ip);
  ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
  ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(sizeof(rte_udp_hdr) + payload_length));
  ip->proto = IPPROTO_UDP;
  ip->hop_limits = 64;
  std::memcpy(ip->src_addr, e.source, 16);
  std::memcpy(ip->dst_addr, e.destination, 16);
  detail::write_udp(p + sizeof(rte_ipv6_hdr), e, payload_length);
}

// The UDP checksum of an IPv6 datagram written by write_ipv6_udp, over its payload too.
inline void set_udp6_checksum(uint8_t* p) noexcept {
  auto* ip = reinterpret_cast<rte_ipv6_hdr*>(p);
  auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
  udp->dgram_cksum = 0;
  udp->dgram_cksum = rte_ipv6_udptcp_cksum(ip, udp);  // never 0: rte_ipv6_udptcp_cksum maps it to 0xffff
}

}  // namespace rampart::dp
