#include "dataplane/ip_fragment.hpp"

#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <cstring>

namespace rampart::dp {

namespace {
constexpr uint8_t kIcmpDestinationUnreachable = 3;
constexpr uint8_t kIcmpFragmentationNeeded = 4;
}  // namespace

unsigned fragment_ipv4(rte_mbuf* m, uint16_t max_length, rte_mempool* pool, rte_mbuf** out, unsigned max_out) noexcept {
  const auto* ip = rte_pktmbuf_mtod(m, const rte_ipv4_hdr*);
  unsigned ihl = (ip->version_ihl & 0x0f) * 4u;
  unsigned total = rte_be_to_cpu_16(ip->total_length);
  if (m->nb_segs != 1 || total > rte_pktmbuf_data_len(m) || ihl + 8 > max_length) return 0;
  unsigned step = (max_length - ihl) & ~7u;  // fragment offsets count 8-byte units (RFC 791)
  unsigned payload = total - ihl;
  unsigned count = (payload + step - 1) / step;
  if (count > max_out || rte_pktmbuf_alloc_bulk(pool, out, count) != 0) return 0;
  uint16_t original = rte_be_to_cpu_16(ip->fragment_offset);
  unsigned base = (original & RTE_IPV4_HDR_OFFSET_MASK) * 8u;  // m may be a fragment already
  bool more_after = original & RTE_IPV4_HDR_MF_FLAG;
  const auto* data = reinterpret_cast<const uint8_t*>(ip) + ihl;
  for (unsigned i = 0; i < count; ++i) {
    unsigned length = i + 1 < count ? step : payload - i * step;
    auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(out[i], static_cast<uint16_t>(ihl + length)));
    std::memcpy(p, ip, ihl);
    std::memcpy(p + ihl, data + i * step, length);
    auto* h = reinterpret_cast<rte_ipv4_hdr*>(p);
    h->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(ihl + length));
    bool more = i + 1 < count || more_after;
    h->fragment_offset = rte_cpu_to_be_16(static_cast<uint16_t>(((base + i * step) / 8) | (more ? RTE_IPV4_HDR_MF_FLAG : 0)));
    h->hdr_checksum = 0;
    h->hdr_checksum = rte_ipv4_cksum(h);
  }
  rte_pktmbuf_free(m);
  return count;
}

rte_mbuf* icmp_fragmentation_needed(const rte_mbuf* m, uint32_t our_address, uint16_t next_hop_mtu,
                                    rte_mempool* pool) noexcept {
  const auto* original = rte_pktmbuf_mtod(m, const rte_ipv4_hdr*);
  unsigned quoted = (original->version_ihl & 0x0f) * 4u + 8;  // the header and 8 bytes (RFC 792)
  if (quoted > rte_pktmbuf_data_len(m)) quoted = rte_pktmbuf_data_len(m);
  rte_mbuf* reply = rte_pktmbuf_alloc(pool);
  if (reply == nullptr) return nullptr;
  unsigned length = sizeof(rte_ipv4_hdr) + sizeof(rte_icmp_hdr) + quoted;
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(reply, static_cast<uint16_t>(length)));
  if (p == nullptr) {
    rte_pktmbuf_free(reply);
    return nullptr;
  }
  std::memset(p, 0, sizeof(rte_ipv4_hdr) + sizeof(rte_icmp_hdr));
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p);
  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(length));
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_ICMP;
  ip->src_addr = rte_cpu_to_be_32(our_address);
  ip->dst_addr = original->src_addr;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  auto* icmp = reinterpret_cast<rte_icmp_hdr*>(ip + 1);
  icmp->icmp_type = kIcmpDestinationUnreachable;
  icmp->icmp_code = kIcmpFragmentationNeeded;
  icmp->icmp_seq_nb = rte_cpu_to_be_16(next_hop_mtu);  // RFC 1191: the low 16 bits carry the MTU
  std::memcpy(icmp + 1, original, quoted);
  icmp->icmp_cksum = static_cast<uint16_t>(~rte_raw_cksum(icmp, sizeof(rte_icmp_hdr) + quoted));
  return reply;
}

}  // namespace rampart::dp

namespace rampart::dp {

rte_mbuf* icmp6_packet_too_big(const rte_mbuf* m, const uint8_t* our_address, uint32_t mtu, rte_mempool* pool) noexcept {
  constexpr unsigned kMinimumMtu = 1280;  // RFC 8200 section 5
  constexpr unsigned kHeaders = sizeof(rte_ipv6_hdr) + 8;
  const auto* original = rte_pktmbuf_mtod(m, const rte_ipv6_hdr*);
  unsigned quoted = rte_pktmbuf_data_len(m);
  if (quoted > kMinimumMtu - kHeaders) quoted = kMinimumMtu - kHeaders;
  rte_mbuf* reply = rte_pktmbuf_alloc(pool);
  if (reply == nullptr) return nullptr;
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(reply, static_cast<uint16_t>(kHeaders + quoted)));
  if (p == nullptr) {
    rte_pktmbuf_free(reply);
    return nullptr;
  }
  std::memset(p, 0, kHeaders);
  auto* ip = reinterpret_cast<rte_ipv6_hdr*>(p);
  ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
  ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(8 + quoted));
  ip->proto = IPPROTO_ICMPV6;
  ip->hop_limits = 64;
  std::memcpy(ip->src_addr, our_address, 16);
  std::memcpy(ip->dst_addr, original->src_addr, 16);
  uint8_t* icmp = p + sizeof(rte_ipv6_hdr);
  icmp[0] = 2;  // packet too big
  uint32_t mtu_be = rte_cpu_to_be_32(mtu);
  std::memcpy(icmp + 4, &mtu_be, 4);
  std::memcpy(icmp + 8, original, quoted);
  uint16_t sum = rte_ipv6_udptcp_cksum(ip, icmp);
  std::memcpy(icmp + 2, &sum, 2);
  return reply;
}

}  // namespace rampart::dp
