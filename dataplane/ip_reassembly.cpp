#include "dataplane/ip_reassembly.hpp"

#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <cstring>
#include <utility>

namespace rampart::dp {

namespace {

constexpr uint32_t kEthernetLength = sizeof(rte_ether_hdr);
// Buckets of the table's hash: eight entries each, DPDK's limit for a bucket.
constexpr uint32_t kBucketEntries = 8;

}  // namespace

Result<Reassembler> Reassembler::create(uint32_t max_packets, uint32_t timeout_ms, rte_mempool* large_pool, int socket) {
  uint32_t buckets = rte_align32pow2((max_packets + kBucketEntries - 1) / kBucketEntries);
  uint64_t max_cycles = rte_get_tsc_hz() / 1000 * timeout_ms;
  Reassembler r;
  r.large_pool_ = large_pool;
  r.table_ = rte_ip_frag_table_create(buckets, kBucketEntries, max_packets, max_cycles, socket);
  if (r.table_ == nullptr) return make_error(Errc::kNoMemory, "cannot create the IP reassembly table");
  return r;
}

Reassembler::Reassembler(Reassembler&& other) noexcept
    : table_(std::exchange(other.table_, nullptr)),
      large_pool_(other.large_pool_),
      death_row_(other.death_row_),
      given_up_(other.given_up_),
      merged_(other.merged_),
      holding_(other.holding_) {
  other.death_row_.cnt = 0;
}

Reassembler::~Reassembler() { close(); }

uint32_t Reassembler::close() noexcept {
  rte_ip_frag_free_death_row(&death_row_, 0);
  if (table_ != nullptr) rte_ip_frag_table_destroy(table_);  // frees what it still holds
  table_ = nullptr;
  return std::exchange(holding_, 0) + std::exchange(given_up_, 0);
}

bool Reassembler::is_fragment(const rte_mbuf* m) noexcept {
  uint32_t length = rte_pktmbuf_data_len(m);
  if (length < kEthernetLength + sizeof(rte_ipv4_hdr)) return false;
  const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
  if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
    return rte_ipv4_frag_pkt_is_fragmented(reinterpret_cast<const rte_ipv4_hdr*>(eth + 1));
  if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6) &&
      length >= kEthernetLength + sizeof(rte_ipv6_hdr) + sizeof(rte_ipv6_fragment_ext))
    return reinterpret_cast<const rte_ipv6_hdr*>(eth + 1)->proto == IPPROTO_FRAGMENT;
  return false;
}

bool Reassembler::carries_esp(const rte_mbuf* m) noexcept {
  const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
  if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
    return reinterpret_cast<const rte_ipv4_hdr*>(eth + 1)->next_proto_id == IPPROTO_ESP;
  const auto* fragment = reinterpret_cast<const rte_ipv6_fragment_ext*>(reinterpret_cast<const rte_ipv6_hdr*>(eth + 1) + 1);
  return fragment->next_header == IPPROTO_ESP;  // is_fragment saw the fragment header there
}

rte_mbuf* Reassembler::give_up(rte_mbuf* m) noexcept {
  rte_pktmbuf_free(m);  // a chain, or one fragment
  ++given_up_;
  return nullptr;
}

rte_mbuf* Reassembler::add(rte_mbuf* m, uint64_t now) noexcept {
  if (table_ == nullptr) [[unlikely]] return give_up(m);
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  uint32_t l3_available = rte_pktmbuf_data_len(m) - kEthernetLength;
  rte_mbuf* whole = nullptr;
  m->l2_len = kEthernetLength;
  if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
    uint32_t header = rte_ipv4_hdr_len(ip);
    uint32_t total = rte_be_to_cpu_16(ip->total_length);
    // rte_ip_frag trusts the lengths: a fragment must hold its header and some data, lie within
    // the frame, and end within the 64 KiB an IPv4 packet can have.
    uint32_t offset = (rte_be_to_cpu_16(ip->fragment_offset) & RTE_IPV4_HDR_OFFSET_MASK) * RTE_IPV4_HDR_OFFSET_UNITS;
    if ((ip->version_ihl >> 4) != 4 || header < sizeof(rte_ipv4_hdr) || total <= header || total > l3_available ||
        offset + total - header > UINT16_MAX)
      return give_up(m);
    rte_pktmbuf_trim(m, static_cast<uint16_t>(l3_available - total));  // Ethernet padding
    m->l3_len = header;
    ++holding_;
    whole = rte_ipv4_frag_reassemble_packet(table_, &death_row_, m, now, ip);
  } else {
    auto* ip6 = reinterpret_cast<rte_ipv6_hdr*>(eth + 1);
    uint32_t total = sizeof(rte_ipv6_hdr) + rte_be_to_cpu_16(ip6->payload_len);
    auto* fragment = rte_ipv6_frag_get_ipv6_fragment_header(ip6);
    if (fragment == nullptr || total <= sizeof(rte_ipv6_hdr) + sizeof(rte_ipv6_fragment_ext) || total > l3_available)
      return give_up(m);
    uint32_t offset = RTE_IPV6_GET_FO(rte_be_to_cpu_16(fragment->frag_data)) * 8u;
    if (offset + total - sizeof(rte_ipv6_hdr) - sizeof(rte_ipv6_fragment_ext) > UINT16_MAX) return give_up(m);
    rte_pktmbuf_trim(m, static_cast<uint16_t>(l3_available - total));
    m->l3_len = sizeof(rte_ipv6_hdr) + sizeof(rte_ipv6_fragment_ext);
    ++holding_;
    whole = rte_ipv6_frag_reassemble_packet(table_, &death_row_, m, now, ip6, fragment);
  }
  if (whole == nullptr) return nullptr;  // held, or in the death row
  holding_ -= whole->nb_segs;  // one segment per fragment
  merged_ += whole->nb_segs - 1u;
  if (whole->nb_segs != 1 && (whole = into_one_segment(whole)) == nullptr) return nullptr;
  auto* head = rte_pktmbuf_mtod(whole, rte_ether_hdr*);
  if (head->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {  // rte_ip_frag leaves the checksum 0
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(head + 1);
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
  }
  return whole;
}

// The rest of the worker reads packets as one segment: the chain is gathered into its first
// mbuf when it fits there (most ESP that crossed a smaller MTU), else into a large one.
rte_mbuf* Reassembler::into_one_segment(rte_mbuf* chain) noexcept {
  if (rte_pktmbuf_linearize(chain) == 0) return chain;
  rte_mbuf* one = large_pool_ != nullptr ? rte_pktmbuf_alloc(large_pool_) : nullptr;
  if (one == nullptr || rte_pktmbuf_tailroom(one) < chain->pkt_len) {
    if (one != nullptr) rte_pktmbuf_free(one);
    return give_up(chain);
  }
  auto* to = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(one, static_cast<uint16_t>(chain->pkt_len)));
  for (const rte_mbuf* s = chain; s != nullptr; s = s->next) {
    std::memcpy(to, rte_pktmbuf_mtod(s, const uint8_t*), s->data_len);
    to += s->data_len;
  }
  one->port = chain->port;
  rte_pktmbuf_free(chain);
  return one;
}

uint32_t Reassembler::release(uint64_t now) noexcept {
  uint32_t freed = death_row_.cnt + std::exchange(given_up_, 0);
  holding_ -= death_row_.cnt;
  rte_ip_frag_free_death_row(&death_row_, 3);
  if (table_ == nullptr) return freed;
  // Expired entries go to the death row too; it was just emptied, so they fit.
  rte_ip_frag_table_del_expired_entries(table_, &death_row_, now);
  freed += death_row_.cnt;
  holding_ -= death_row_.cnt;
  rte_ip_frag_free_death_row(&death_row_, 3);
  return freed;
}

}  // namespace rampart::dp
