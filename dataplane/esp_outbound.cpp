#include "dataplane/esp_outbound.hpp"

#include <rte_ip.h>
#include <rte_mbuf.h>

#include "crypto/aes_gcm.hpp"
#include "dataplane/esp_stage.hpp"
#include "dataplane/ipv6_chain.hpp"
#include "dataplane/wire_headers.hpp"

namespace rampart::dp {

namespace {

using namespace esp;

// What prepare leaves for the crypto call and for finish.
struct Scratch {
  DropReason verdict[kMaxBurst];
  crypto::AeadOp ops[kMaxBurst];
  uint8_t op_of[kMaxBurst];          // index into ops, for packets that reached crypto
  uint32_t bytes[kMaxBurst];         // the protected payload's length, for lifetimes
  uint8_t esn_aad[kMaxBurst][12];    // SPI || seq high || seq low, when the SA uses ESN
  uint16_t op_count = 0;
};

// The inner packet's TOS (IPv4) or traffic class (IPv6), its DF bit, and its protocol number as
// a tunnel's next header.
struct InnerInfo {
  uint8_t tos;
  bool dont_fragment;
  uint8_t next_header;
};

// Reads the inner packet's version and length; false if it is not a whole IP packet.
inline bool read_inner(const uint8_t* p, uint32_t length, InnerInfo& out) noexcept {
  if (length < sizeof(Ipv4Header)) return false;
  unsigned version = p[0] >> 4;
  if (version == 4) {
    auto* ip = reinterpret_cast<const Ipv4Header*>(p);
    out = {ip->tos, (ip->flags_fragment.get() & kIpv4DontFragment) != 0, ip_proto::kIpv4};
    return ip->header_length() >= sizeof(Ipv4Header) && ip->total_length.get() == length;
  }
  if (version == 6 && length >= sizeof(Ipv6Header)) {
    auto* ip = reinterpret_cast<const Ipv6Header*>(p);
    // IPv6 is never fragmented on the path, so the outer header must not be either (RFC 4301 8.1).
    out = {ip->traffic_class(), true, ip_proto::kIpv6};
    return ip->payload_length.get() + sizeof(Ipv6Header) == length;
  }
  return false;
}

// The ESP part common to every mode: header, IV, trailer, AAD and the crypto op. esp points at
// the ESP header; the payload to encrypt (length bytes) follows the IV.
inline void build_esp(SaRuntime& sa, Scratch& s, uint16_t i, uint8_t* esp_at, uint32_t length,
                      uint8_t pad, uint8_t next_header, uint64_t seq) noexcept {
  auto* esp = reinterpret_cast<EspHeader*>(esp_at);
  esp->spi = sa.spi;
  esp->seq.set(static_cast<uint32_t>(seq));
  uint8_t* iv = esp_at + kEspHeaderLength;
  store_be64(iv, seq + sa.iv_offset);
  uint8_t* payload = iv + kIvLength;
  uint8_t* trailer = payload + length;
  // RFC 4303 section 2.4: default padding is 1, 2, 3, ...
  for (uint8_t k = 0; k < pad; ++k) trailer[k] = static_cast<uint8_t>(k + 1);
  trailer[pad] = pad;
  trailer[pad + 1] = next_header;

  uint32_t aad_length;
  const uint8_t* aad = esp_aad(sa, esp_at, seq, s.esn_aad[i], aad_length);
  s.op_of[i] = static_cast<uint8_t>(s.op_count);
  s.ops[s.op_count++] = crypto::AeadOp{&sa.key, payload, payload, length + pad + kTrailerLength,
                                       iv, aad, aad_length, trailer + pad + kTrailerLength};
}

// The sequence numbers a run may use, (next, limit]. The owner takes them as it goes and stores
// where it got to (a plain load and store: no other writer). A spread SA's workers reserve the
// whole run with one atomic add; what a drop leaves unused is a gap, which receivers allow.
// Either way the space ends at its last number: RFC 4303 3.3.3 forbids cycling, and an SA
// without ESN ends at 2^32 - 1.
struct SeqRun {
  uint64_t next;
  uint64_t limit;

  SeqRun(SaRuntime& sa, uint16_t count) noexcept {
    uint64_t last = sa.esn ? UINT64_MAX : UINT32_MAX;
    if (sa.spread) [[unlikely]] {
      // Past `last` the add only stops the SA: create_sa keeps it far from wrapping.
      next = sa.shared->seq.fetch_add(count, std::memory_order_relaxed);
      limit = next < last - count ? next + count : last;
    } else {
      next = sa.seq.load(std::memory_order_relaxed);
      limit = last;
    }
  }
  void done(SaRuntime& sa) const noexcept {
    if (!sa.spread) sa.seq.store(next, std::memory_order_relaxed);
  }
};

// Takes the next sequence number, or stops the SA when the space is used up.
template <typename Counts>
inline bool next_seq(EspContext& ctx, SaRuntime& sa, Counts& counts, SeqRun& run, uint64_t& seq) noexcept {
  if (run.next >= run.limit) [[unlikely]] {
    sa.state.store(SaState::kExpired, std::memory_order_relaxed);
    send_event(ctx, sa, SaEventKind::kSeqOverflow, counts.hard_reported);
    return false;
  }
  seq = ++run.next;
  return true;
}

template <bool kTunnel, bool kIpv6, bool kNatT, typename Counts>
void prepare_run(EspContext& ctx, SaRuntime& sa, Counts& counts, Burst& burst, uint16_t begin, uint16_t end,
                 Scratch& s) noexcept {
  constexpr unsigned kUdp = kNatT ? sizeof(UdpHeader) : 0;
  uint64_t pending_packets = 0;
  uint64_t pending_bytes = 0;
  SeqRun seqs(sa, static_cast<uint16_t>(end - begin));
  for (uint16_t i = begin; i < end; ++i) {
    rte_mbuf* m = burst.pkts[i];
    DropReason* verdict = &s.verdict[i];
    if (m->nb_segs != 1) [[unlikely]] {
      drop(ctx, counts, verdict, DropReason::kMultiSegment);
      continue;
    }
    uint8_t* start = rte_pktmbuf_mtod(m, uint8_t*);
    uint32_t length = rte_pktmbuf_data_len(m);
    InnerInfo inner;
    if (!read_inner(start, length, inner)) [[unlikely]] {
      drop(ctx, counts, verdict, length < sizeof(Ipv4Header) ? DropReason::kRunt : DropReason::kNotIp);
      continue;
    }

    // Transport mode: the packet's own header stays in front and ESP goes after it (for IPv6,
    // after the extension headers that must precede ESP).
    unsigned ip_length = 0;
    unsigned next_header_at = 0;
    uint8_t protected_next = inner.next_header;
    if constexpr (!kTunnel) {
      if ((start[0] >> 4) != (kIpv6 ? 6 : 4)) [[unlikely]] {
        drop(ctx, counts, verdict, DropReason::kNotIp);
        continue;
      }
      if constexpr (kIpv6) {
        Ipv6Chain chain = walk_ipv6_chain(start, length, /*inbound=*/false);
        if (!chain.ok || chain.fragment) [[unlikely]] {
          drop(ctx, counts, verdict, chain.ok ? DropReason::kFragment : DropReason::kBadLength);
          continue;
        }
        ip_length = chain.insert_at;
        next_header_at = chain.next_header_at;
        protected_next = start[next_header_at];
      } else {
        auto* ip = reinterpret_cast<Ipv4Header*>(start);
        ip_length = ip->header_length();
        protected_next = ip->protocol;
        if (ip->flags_fragment.get() & (kIpv4MoreFragments | kIpv4FragmentOffsetMask)) [[unlikely]] {
          drop(ctx, counts, verdict, DropReason::kFragment);  // transport mode protects whole packets
          continue;
        }
      }
    }

    uint32_t payload_length = length - ip_length;
    uint8_t pad = static_cast<uint8_t>(-(payload_length + kTrailerLength) & 3u);
    unsigned prepend = (kTunnel ? sa.outer_length : kUdp) + kEspHeaderLength + kIvLength;
    unsigned append = pad + kTrailerLength + kIcvLength;
    if (rte_pktmbuf_headroom(m) < prepend) [[unlikely]] {
      drop(ctx, counts, verdict, DropReason::kNoHeadroom);
      continue;
    }
    if (rte_pktmbuf_tailroom(m) < append) [[unlikely]] {
      drop(ctx, counts, verdict, DropReason::kNoTailroom);
      continue;
    }
    if (!within_hard_limits(counts, pending_packets, pending_bytes, payload_length)) [[unlikely]] {
      sa.state.store(SaState::kExpired, std::memory_order_relaxed);
      drop(ctx, counts, verdict, DropReason::kSaExpired);
      continue;
    }
    uint64_t seq = 0;
    if (!next_seq(ctx, sa, counts, seqs, seq)) [[unlikely]] {
      drop(ctx, counts, verdict, DropReason::kSeqOverflow);
      continue;
    }
    ++pending_packets;
    pending_bytes += payload_length;

    uint8_t* front = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, static_cast<uint16_t>(prepend)));
    rte_pktmbuf_append(m, static_cast<uint16_t>(append));
    uint32_t total = length + prepend + append;
    uint8_t* esp_at;
    if constexpr (kTunnel) {
      // A copy of known size: one or two vector moves, not a call.
      constexpr unsigned kOuterLength = (kIpv6 ? sizeof(Ipv6Header) : sizeof(Ipv4Header)) + kUdp;
      std::memcpy(front, sa.outer_template, kOuterLength);
      uint8_t outer_tos = static_cast<uint8_t>((sa.copy_dscp ? inner.tos & ~kEcnMask : 0) |
                                               (inner.tos & kEcnMask));  // RFC 6040 normal mode: copy ECN
      if constexpr (kIpv6) {
        auto* ip = reinterpret_cast<Ipv6Header*>(front);
        ip->payload_length.set(static_cast<uint16_t>(total - sizeof(Ipv6Header)));
        ip->set_traffic_class(outer_tos);
      } else {
        auto* ip = reinterpret_cast<Ipv4Header*>(front);
        // Unique while the sequence number's low 16 bits are, whoever sealed it (RFC 6864).
        uint16_t id = static_cast<uint16_t>(seq);
        uint16_t df = sa.df == DfPolicy::kCopy && inner.dont_fragment ? kIpv4DontFragment : 0;
        ip->total_length.set(static_cast<uint16_t>(total));
        ip->tos = outer_tos;
        ip->id.set(id);
        if (df) ip->flags_fragment.set(df);
        // The template holds the checksum of its fixed fields; add the words that vary (RFC 1624).
        uint32_t sum = static_cast<uint16_t>(~ip->checksum.get()) + total + outer_tos + id + df;
        sum = (sum & 0xffff) + (sum >> 16);
        sum = (sum & 0xffff) + (sum >> 16);
        ip->checksum.set(static_cast<uint16_t>(~sum));
      }
      esp_at = front + kOuterLength;
      if constexpr (kNatT) {
        auto* udp = reinterpret_cast<UdpHeader*>(esp_at - sizeof(UdpHeader));
        udp->length.set(static_cast<uint16_t>(total - (sa.outer_length - sizeof(UdpHeader))));
      }
    } else {
      // Slide the IP header (and IPv6 extension headers before ESP) to the new front.
      std::memmove(front, front + prepend, ip_length);
      if constexpr (kIpv6) {
        front[next_header_at] = kNatT ? ip_proto::kUdp : ip_proto::kEsp;
        reinterpret_cast<Ipv6Header*>(front)->payload_length.set(static_cast<uint16_t>(total - sizeof(Ipv6Header)));
      } else {
        auto* ip = reinterpret_cast<Ipv4Header*>(front);
        ip->protocol = kNatT ? ip_proto::kUdp : ip_proto::kEsp;
        ip->total_length.set(static_cast<uint16_t>(total));
        set_ipv4_checksum(ip);
      }
      esp_at = front + ip_length + kUdp;
      if constexpr (kNatT) {
        auto* udp = reinterpret_cast<UdpHeader*>(esp_at - sizeof(UdpHeader));
        std::memcpy(udp, sa.outer_template, sizeof(UdpHeader));
        udp->length.set(static_cast<uint16_t>(total - ip_length));
      }
    }
    s.bytes[i] = payload_length;
    build_esp(sa, s, i, esp_at, payload_length, pad, kTunnel ? inner.next_header : protected_next, seq);
  }
  seqs.done(sa);
}

// IPv6 forbids a zero UDP checksum (RFC 8200 section 8.1), so ESP-in-UDP over IPv6 needs one,
// and only after encryption has produced the bytes it covers. IPv4 sends zero (RFC 3948 2.1).
void finish_udp6_checksums(Burst& burst, uint16_t begin, uint16_t end, const Scratch& s, unsigned udp_at_tunnel) noexcept {
  for (uint16_t i = begin; i < end; ++i) {
    if (s.verdict[i] != kKeep) continue;
    uint8_t* front = rte_pktmbuf_mtod(burst.pkts[i], uint8_t*);
    unsigned udp_at = udp_at_tunnel;
    if (udp_at == 0) udp_at = walk_ipv6_chain(front, rte_pktmbuf_data_len(burst.pkts[i]), /*inbound=*/true).insert_at;
    auto* udp = reinterpret_cast<UdpHeader*>(front + udp_at);
    udp->checksum.set(0);
    udp->checksum = Be16::from_raw(rte_ipv6_udptcp_cksum(reinterpret_cast<const rte_ipv6_hdr*>(front), udp));
  }
}

}  // namespace

uint16_t esp_outbound_burst(EspContext& ctx, Burst& burst) noexcept {
  Scratch s;
  prefetch_sas(burst);
  for (uint16_t i = 0; i < burst.count; ++i) s.verdict[i] = kKeep;

  for_each_sa_run(burst, [&](SaRuntime& sa, uint16_t begin, uint16_t end) {
    if (sa.spread) [[unlikely]]
      refresh_budget(sa, ctx.worker);
    with_counts(sa, ctx.worker, [&](auto& counts) {
      if (!sa_usable(sa)) [[unlikely]] {
        for (uint16_t i = begin; i < end; ++i) drop(ctx, counts, &s.verdict[i], DropReason::kSaExpired);
        return;
      }
      with_variant(sa.variant, [&]<bool kTunnel, bool kIpv6, bool kNatT>() {
        prepare_run<kTunnel, kIpv6, kNatT>(ctx, sa, counts, burst, begin, end, s);
      });
    });
  });

  // One crypto call for the whole burst.
  crypto::gcm_seal_burst(*ctx.mb, {s.ops, s.op_count});

  for_each_sa_run(burst, [&](SaRuntime& sa, uint16_t begin, uint16_t end) {
    uint64_t packets = 0;
    uint64_t bytes = 0;
    for (uint16_t i = begin; i < end; ++i) {
      if (s.verdict[i] != kKeep) continue;
      ++packets;
      bytes += s.bytes[i];
    }
    if (sa.variant == EspVariant::kTunnel6NatT)
      finish_udp6_checksums(burst, begin, end, s, sizeof(Ipv6Header));
    else if (sa.variant == EspVariant::kTransport6NatT)
      finish_udp6_checksums(burst, begin, end, s, 0);
    with_counts(sa, ctx.worker, [&](auto& counts) {
      counts.packets.add(packets);
      counts.bytes.add(bytes);
      check_lifetime(ctx, sa, counts);
    });
  });
  return compact(burst, s.verdict);
}

}  // namespace rampart::dp
