#include "dataplane/packet_trace.hpp"

#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <cstring>

namespace rampart::dp {

void PacketTracer::capture(rte_mbuf* m, uint16_t rx_port) noexcept {
  if (open_count_ == kMaxOpen || budget_->fetch_sub(1, std::memory_order_relaxed) <= 0) return;
  TraceRecord& r = open_[open_count_];
  open_mbuf_[open_count_++] = m;
  r = TraceRecord{};
  r.tsc = rte_get_tsc_cycles();
  r.worker = worker_;
  r.rx_port = rx_port;
  r.length = static_cast<uint16_t>(rte_pktmbuf_pkt_len(m));
  uint32_t length = rte_pktmbuf_data_len(m);
  const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
  if (length < sizeof(rte_ether_hdr)) return;
  uint16_t type = static_cast<uint16_t>(p[12] << 8 | p[13]);
  p += sizeof(rte_ether_hdr);
  length -= sizeof(rte_ether_hdr);
  unsigned l4 = 0;
  if (type == RTE_ETHER_TYPE_IPV4 && length >= sizeof(rte_ipv4_hdr)) {
    const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(p);
    r.family = 4;
    r.protocol = ip->next_proto_id;
    std::memcpy(r.source, &ip->src_addr, 4);
    std::memcpy(r.destination, &ip->dst_addr, 4);
    bool first = (rte_be_to_cpu_16(ip->fragment_offset) & RTE_IPV4_HDR_OFFSET_MASK) == 0;
    l4 = first ? (ip->version_ihl & 0x0f) * 4u : 0;
  } else if (type == RTE_ETHER_TYPE_IPV6 && length >= sizeof(rte_ipv6_hdr)) {
    const auto* ip = reinterpret_cast<const rte_ipv6_hdr*>(p);
    r.family = 6;
    r.protocol = ip->proto;  // the first next header: enough to tell a trace's packets apart
    std::memcpy(r.source, ip->src_addr, 16);
    std::memcpy(r.destination, ip->dst_addr, 16);
    l4 = sizeof(rte_ipv6_hdr);
  }
  if (l4 != 0 && (r.protocol == IPPROTO_TCP || r.protocol == IPPROTO_UDP || r.protocol == IPPROTO_SCTP) &&
      length >= l4 + 4) {
    r.source_port = static_cast<uint16_t>(p[l4] << 8 | p[l4 + 1]);
    r.destination_port = static_cast<uint16_t>(p[l4 + 2] << 8 | p[l4 + 3]);
  }
}

TraceRecord* PacketTracer::find(const rte_mbuf* m) noexcept {
  for (unsigned i = 0; i < open_count_; ++i)
    if (open_mbuf_[i] == m) return &open_[i];
  return nullptr;
}

void PacketTracer::note_spi(const rte_mbuf* m, uint32_t spi) noexcept {
  if (TraceRecord* r = find(m)) r->spi = spi;
}

void PacketTracer::finish(const rte_mbuf* m, TraceVerdict verdict, DropReason reason, uint16_t tx_port) noexcept {
  TraceRecord* r = find(m);
  if (r == nullptr) return;
  r->verdict = verdict;
  r->reason = reason;
  r->tx_port = tx_port;
  rte_ring_enqueue_elem(ring_, r, sizeof *r);  // a full ring loses the record, never the packet
  unsigned i = static_cast<unsigned>(r - open_);
  --open_count_;
  open_[i] = open_[open_count_];
  open_mbuf_[i] = open_mbuf_[open_count_];
}

}  // namespace rampart::dp
