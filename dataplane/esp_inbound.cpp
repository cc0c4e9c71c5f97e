#include "dataplane/esp_inbound.hpp"

#include <rte_ip.h>
#include <rte_mbuf.h>

#include "crypto/aes_gcm.hpp"
#include "dataplane/checksum.hpp"
#include "dataplane/esp_stage.hpp"
#include "dataplane/ipv6_chain.hpp"
#include "dataplane/wire_headers.hpp"

namespace rampart::dp {

namespace {

using namespace esp;

// Where a packet is in the stage: not yet prepared (or waiting for the next pass), queued for
// this pass's crypto, or finished (good or dropped: verdict says).
enum class Step : uint8_t { kPending, kQueued, kDone };

struct Scratch {
  DropReason verdict[kMaxBurst];
  Step step[kMaxBurst];
  bool another_pass = false;
  crypto::AeadOp ops[kMaxBurst];
  bool authentic[kMaxBurst];
  uint8_t op_of[kMaxBurst];
  uint16_t esp_at[kMaxBurst];      // offset of the ESP header
  uint16_t cut_at[kMaxBurst];      // offset where UDP or ESP starts: what transport mode cuts out
  uint16_t next_header_at[kMaxBurst];  // transport: the byte that must name the payload again
  uint8_t outer_ecn[kMaxBurst];
  uint64_t seq[kMaxBurst];
  uint8_t esn_aad[kMaxBurst][12];
  uint16_t op_count = 0;
};

// RFC 3948 section 2.2: a NAT keepalive is one 0xFF byte in a UDP datagram.
inline bool is_nat_keepalive(const uint8_t* udp_payload, uint32_t length) noexcept {
  return length == 1 && udp_payload[0] == 0xff;
}

// RFC 4301 4.4.2.1: the SA an SPI names must be the one for this destination (and, where the SA
// says so, this source). The header is the outer one in tunnel mode, the packet's in transport.
template <bool kIpv6>
inline bool addressed_to_sa(const SaRuntime& sa, const uint8_t* ip) noexcept {
  constexpr unsigned kLength = kIpv6 ? 16 : 4;
  constexpr unsigned kSourceAt = kIpv6 ? 8 : 12;
  constexpr unsigned kDestinationAt = kIpv6 ? 24 : 16;
  const InboundMatch& expect = sa.expect;
  if (expect.check_destination && std::memcmp(ip + kDestinationAt, expect.destination, kLength) != 0) return false;
  return !expect.check_source || std::memcmp(ip + kSourceAt, expect.source, kLength) == 0;
}

template <bool kTunnel, bool kIpv6, bool kNatT>
void prepare_run(EspContext& ctx, SaRuntime& sa, Burst& burst, uint16_t begin, uint16_t end, Scratch& s) noexcept {
  uint64_t pending_packets = 0;
  uint64_t pending_bytes = 0;
  for (uint16_t i = begin; i < end; ++i) {
    if (s.step[i] != Step::kPending) continue;
    s.step[i] = Step::kDone;  // unless queued or left waiting below
    rte_mbuf* m = burst.pkts[i];
    DropReason* verdict = &s.verdict[i];
    if (m->nb_segs != 1) [[unlikely]] {
      drop(ctx, sa, verdict, DropReason::kMultiSegment);
      continue;
    }
    uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
    uint32_t length = rte_pktmbuf_data_len(m);

    // Outer header: where UDP or ESP starts, and the ECN the outer header carried.
    unsigned cut_at;
    uint8_t protocol;
    if constexpr (kIpv6) {
      if (length < sizeof(Ipv6Header) || (p[0] >> 4) != 6) [[unlikely]] {
        drop(ctx, sa, verdict, length < sizeof(Ipv6Header) ? DropReason::kRunt : DropReason::kNotIp);
        continue;
      }
      auto* ip = reinterpret_cast<Ipv6Header*>(p);
      uint32_t ip_total = ip->payload_length.get() + sizeof(Ipv6Header);
      if (ip_total > length) [[unlikely]] {
        drop(ctx, sa, verdict, DropReason::kBadLength);
        continue;
      }
      if (ip_total < length) rte_pktmbuf_trim(m, static_cast<uint16_t>(length - ip_total));  // L2 padding
      length = ip_total;
      Ipv6Chain chain = walk_ipv6_chain(p, length, /*inbound=*/true);
      if (!chain.ok || chain.fragment) [[unlikely]] {
        drop(ctx, sa, verdict, chain.ok ? DropReason::kFragment : DropReason::kBadLength);
        continue;
      }
      cut_at = chain.insert_at;
      protocol = chain.next;
      s.next_header_at[i] = static_cast<uint16_t>(chain.next_header_at);
      s.outer_ecn[i] = ip->traffic_class() & kEcnMask;
    } else {
      if (length < sizeof(Ipv4Header) || (p[0] >> 4) != 4) [[unlikely]] {
        drop(ctx, sa, verdict, length < sizeof(Ipv4Header) ? DropReason::kRunt : DropReason::kNotIp);
        continue;
      }
      auto* ip = reinterpret_cast<Ipv4Header*>(p);
      uint32_t ip_total = ip->total_length.get();
      if (ip_total > length || ip->header_length() < sizeof(Ipv4Header) || ip->header_length() > ip_total)
          [[unlikely]] {
        drop(ctx, sa, verdict, DropReason::kBadLength);
        continue;
      }
      if (ip->flags_fragment.get() & (kIpv4MoreFragments | kIpv4FragmentOffsetMask)) [[unlikely]] {
        drop(ctx, sa, verdict, DropReason::kFragment);
        continue;
      }
      if (ip_total < length) rte_pktmbuf_trim(m, static_cast<uint16_t>(length - ip_total));
      length = ip_total;
      cut_at = ip->header_length();
      protocol = ip->protocol;
      s.next_header_at[i] = offsetof(Ipv4Header, protocol);
      s.outer_ecn[i] = ip->tos & kEcnMask;
    }

    unsigned esp_at = cut_at;
    if constexpr (kNatT) {
      if (protocol != ip_proto::kUdp || length < cut_at + sizeof(UdpHeader)) [[unlikely]] {
        drop(ctx, sa, verdict, protocol != ip_proto::kUdp ? DropReason::kNotEsp : DropReason::kRunt);
        continue;
      }
      auto* udp = reinterpret_cast<UdpHeader*>(p + cut_at);
      uint32_t udp_payload = length - cut_at - sizeof(UdpHeader);
      if (udp->length.get() != udp_payload + sizeof(UdpHeader)) [[unlikely]] {
        drop(ctx, sa, verdict, DropReason::kBadLength);
        continue;
      }
      if (is_nat_keepalive(p + cut_at + sizeof(UdpHeader), udp_payload)) [[unlikely]] {
        drop(ctx, sa, verdict, DropReason::kNatKeepalive);
        continue;
      }
      if (!udp_checksum_ok<kIpv6>(m, p, reinterpret_cast<const rte_udp_hdr*>(udp))) [[unlikely]] {
        drop(ctx, sa, verdict, DropReason::kBadChecksum);
        continue;
      }
      if (udp->destination_port.get() != sa.nat_local_port) [[unlikely]] {
        drop(ctx, sa, verdict, DropReason::kNotEsp);
        continue;
      }
      esp_at += sizeof(UdpHeader);
    } else if (protocol != ip_proto::kEsp) [[unlikely]] {
      drop(ctx, sa, verdict, DropReason::kNotEsp);
      continue;
    }

    // One length check covers every read below: header, IV, at least the 4-byte-aligned
    // trailer, ICV (RFC 4303 section 2.4: the payload ends on a 4-byte boundary).
    if (length < esp_at + kEspHeaderLength + kIvLength + 4 + kIcvLength) [[unlikely]] {
      drop(ctx, sa, verdict, DropReason::kRunt);
      continue;
    }
    uint32_t ciphertext_length = length - esp_at - kEspHeaderLength - kIvLength - kIcvLength;
    if (ciphertext_length % 4 != 0) [[unlikely]] {
      drop(ctx, sa, verdict, DropReason::kBadLength);
      continue;
    }
    uint8_t* esp_bytes = p + esp_at;
    auto* esp = reinterpret_cast<EspHeader*>(esp_bytes);
    if (kNatT && esp->spi.get() == 0) [[unlikely]] {  // the non-ESP marker of IKE on port 4500
      drop(ctx, sa, verdict, DropReason::kNotEsp);
      continue;
    }
    if (esp->spi != sa.spi) [[unlikely]] {
      drop(ctx, sa, verdict, DropReason::kSpiMismatch);
      continue;
    }
    if (!addressed_to_sa<kIpv6>(sa, p)) [[unlikely]] {
      drop(ctx, sa, verdict, DropReason::kSaAddressMismatch);
      continue;
    }
    uint32_t seq_low = esp->seq.get();
    uint64_t seq = seq_low;
    if (sa.esn) {
      ReplayWindow& window = *sa.window;
      window.begin_pass(ctx.pass);
      seq = window.infer_esn(seq_low);
      if (window.waiting() || (window.ahead() != window.top() && window.infer_esn_at(window.ahead(), seq_low) != seq))
          [[unlikely]] {
        window.wait();
        s.step[i] = Step::kPending;
        s.another_pass = true;
        continue;
      }
    }
    // Cheap early refusal; the window only moves after the ICV verified (finish_run).
    ReplayWindow::Verdict replay = sa.window->check(seq);
    if (replay != ReplayWindow::Verdict::kNew) [[unlikely]] {
      drop(ctx, sa, verdict, replay == ReplayWindow::Verdict::kReplay ? DropReason::kReplay : DropReason::kOutOfWindow);
      continue;
    }
    if (!within_hard_limits(sa, pending_packets, pending_bytes, ciphertext_length)) [[unlikely]] {
      sa.state.store(SaState::kExpired, std::memory_order_relaxed);
      drop(ctx, sa, verdict, DropReason::kSaExpired);
      continue;
    }
    ++pending_packets;
    pending_bytes += ciphertext_length;

    uint32_t aad_length;
    const uint8_t* aad = esp_aad(sa, esp_bytes, seq, s.esn_aad[i], aad_length);
    s.seq[i] = seq;
    s.esp_at[i] = static_cast<uint16_t>(esp_at);
    s.cut_at[i] = static_cast<uint16_t>(cut_at);
    uint8_t* iv = esp_bytes + kEspHeaderLength;
    uint8_t* payload = iv + kIvLength;
    s.op_of[i] = static_cast<uint8_t>(s.op_count);
    s.ops[s.op_count++] = crypto::AeadOp{&sa.key, payload, payload, ciphertext_length, iv, aad, aad_length,
                                         payload + ciphertext_length};
    s.step[i] = Step::kQueued;
    if (sa.esn) sa.window->queued(seq);
  }
}

// RFC 6040 section 4.2: the inner ECN after decapsulation, or false to drop. A not-ECT inner
// packet stays not-ECT (and is dropped under CE); otherwise CE outside marks it CE, ECT(1)
// outside turns ECT(0) inside into ECT(1), and everything else keeps the inner codepoint.
inline bool decapsulate_ecn(uint8_t outer, uint8_t inner, uint8_t& result) noexcept {
  result = inner;
  if (inner == kEcnNotEct) return outer != kEcnCe;
  if (outer == kEcnCe) result = kEcnCe;
  else if (outer == kEcnEct1 && inner == kEcnEct0) result = kEcnEct1;
  return true;
}

// Tunnel mode: the inner packet follows the trailer-less plaintext; its own length field says
// where it ends, so TFC padding (RFC 4303 section 2.7) after it is cut off too.
inline DropReason finish_tunnel(rte_mbuf* m, uint8_t* plain, uint32_t plain_length, uint8_t next_header,
                                unsigned plain_at, uint8_t outer_ecn) noexcept {
  uint32_t inner_length;
  if (next_header == ip_proto::kIpv4) {
    if (plain_length < sizeof(Ipv4Header) || (plain[0] >> 4) != 4) return DropReason::kBadInner;
    auto* ip = reinterpret_cast<Ipv4Header*>(plain);
    inner_length = ip->total_length.get();
    if (ip->header_length() < sizeof(Ipv4Header) || inner_length < ip->header_length() || inner_length > plain_length)
      return DropReason::kBadInner;
    // Authentic is not intact: the sender's own header may be damaged (RFC 1812 5.2.2).
    if (!ipv4_header_checksum_ok(ip, ip->header_length())) return DropReason::kBadChecksum;
    uint8_t ecn;
    if (!decapsulate_ecn(outer_ecn, ip->tos & kEcnMask, ecn)) return DropReason::kEcnDrop;
    if (ecn != (ip->tos & kEcnMask)) {
      ip->tos = static_cast<uint8_t>((ip->tos & ~kEcnMask) | ecn);
      set_ipv4_checksum(ip);
    }
  } else if (next_header == ip_proto::kIpv6) {
    if (plain_length < sizeof(Ipv6Header) || (plain[0] >> 4) != 6) return DropReason::kBadInner;
    auto* ip = reinterpret_cast<Ipv6Header*>(plain);
    inner_length = ip->payload_length.get() + sizeof(Ipv6Header);
    uint8_t tc = ip->traffic_class();
    uint8_t ecn;
    if (!decapsulate_ecn(outer_ecn, tc & kEcnMask, ecn)) return DropReason::kEcnDrop;
    ip->set_traffic_class(static_cast<uint8_t>((tc & ~kEcnMask) | ecn));
  } else {
    return DropReason::kBadNextHeader;
  }
  if (inner_length > plain_length) return DropReason::kBadInner;
  rte_pktmbuf_adj(m, static_cast<uint16_t>(plain_at));
  rte_pktmbuf_trim(m, static_cast<uint16_t>(rte_pktmbuf_data_len(m) - inner_length));
  return kKeep;
}

// RFC 3948 section 3.1.2: after NAT-T transport decapsulation a TCP or UDP checksum was computed
// over addresses a NAT may have changed, so it is recomputed over the ones the packet now has.
template <bool kIpv6>
inline void fix_transport_checksum(uint8_t* ip_at, unsigned l4_at, uint32_t length, uint8_t protocol) noexcept {
  unsigned offset = protocol == ip_proto::kTcp ? 16 : protocol == ip_proto::kUdp ? 6 : 0;
  if (offset == 0 || length < l4_at + offset + 2) return;
  uint8_t* sum_at = ip_at + l4_at + offset;
  if constexpr (!kIpv6) {
    if (protocol == ip_proto::kUdp && sum_at[0] == 0 && sum_at[1] == 0) return;  // no checksum sent
  }
  sum_at[0] = sum_at[1] = 0;
  uint16_t sum;
  if constexpr (kIpv6)
    sum = rte_ipv6_udptcp_cksum(reinterpret_cast<const rte_ipv6_hdr*>(ip_at), ip_at + l4_at);
  else
    sum = rte_ipv4_udptcp_cksum(reinterpret_cast<const rte_ipv4_hdr*>(ip_at), ip_at + l4_at);
  std::memcpy(sum_at, &sum, 2);
}

// Transport mode: cut UDP (NAT-T), the ESP header and IV out from behind the IP header, put the
// payload's protocol back where ESP's was, and drop the trailer and ICV from the end.
template <bool kIpv6, bool kNatT>
inline DropReason finish_transport(rte_mbuf* m, uint8_t next_header, uint32_t plain_length, unsigned cut_at,
                                   unsigned plain_at, unsigned next_header_at) noexcept {
  uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
  unsigned removed = plain_at - cut_at;
  p[next_header_at] = next_header;
  std::memmove(p + removed, p, cut_at);
  p = reinterpret_cast<uint8_t*>(rte_pktmbuf_adj(m, static_cast<uint16_t>(removed)));
  uint32_t new_length = cut_at + plain_length;
  rte_pktmbuf_trim(m, static_cast<uint16_t>(rte_pktmbuf_data_len(m) - new_length));
  if constexpr (kIpv6) {
    reinterpret_cast<Ipv6Header*>(p)->payload_length.set(static_cast<uint16_t>(new_length - sizeof(Ipv6Header)));
  } else {
    auto* ip = reinterpret_cast<Ipv4Header*>(p);
    ip->total_length.set(static_cast<uint16_t>(new_length));
    set_ipv4_checksum(ip);
  }
  if constexpr (kNatT) fix_transport_checksum<kIpv6>(p, cut_at, new_length, next_header);
  return kKeep;
}

template <bool kTunnel, bool kIpv6, bool kNatT>
void finish_run(EspContext& ctx, SaRuntime& sa, Burst& burst, uint16_t begin, uint16_t end, Scratch& s) noexcept {
  uint64_t packets = 0;
  uint64_t bytes = 0;
  for (uint16_t i = begin; i < end; ++i) {
    if (s.step[i] != Step::kQueued) continue;
    s.step[i] = Step::kDone;
    DropReason* verdict = &s.verdict[i];
    if (!s.authentic[s.op_of[i]]) [[unlikely]] {
      drop(ctx, sa, verdict, DropReason::kIcvFailed);
      continue;
    }
    // RFC 4303 section 3.4.3: the window moves only for authentic packets. A duplicate within
    // this burst passed the early check and is caught here.
    ReplayWindow::Verdict replay = sa.window->check_and_update(s.seq[i]);
    if (replay != ReplayWindow::Verdict::kNew) [[unlikely]] {
      drop(ctx, sa, verdict, replay == ReplayWindow::Verdict::kReplay ? DropReason::kReplay : DropReason::kOutOfWindow);
      continue;
    }
    const crypto::AeadOp& op = s.ops[s.op_of[i]];
    uint8_t* plain = const_cast<uint8_t*>(op.dst);
    const uint8_t* trailer = plain + op.len - kTrailerLength;
    uint8_t pad = trailer[0];
    uint8_t next_header = trailer[1];
    if (pad + kTrailerLength > op.len) [[unlikely]] {
      drop(ctx, sa, verdict, DropReason::kBadPadding);
      continue;
    }
    uint32_t plain_length = op.len - kTrailerLength - pad;
    // RFC 4303 section 2.4: the default padding is 1, 2, 3...; the receiver checks it.
    bool pad_ok = true;
    for (uint8_t k = 0; k < pad; ++k) pad_ok &= plain[plain_length + k] == k + 1;
    if (!pad_ok) [[unlikely]] {
      drop(ctx, sa, verdict, DropReason::kBadPadding);
      continue;
    }
    // An authentic packet counts against the lifetime even when it is a dummy.
    ++packets;
    bytes += plain_length;
    if (next_header == ip_proto::kNoNext) [[unlikely]] {
      drop(ctx, sa, verdict, DropReason::kDummy);
      continue;
    }
    unsigned plain_at = s.esp_at[i] + kEspHeaderLength + kIvLength;
    DropReason result;
    if constexpr (kTunnel)
      result = finish_tunnel(burst.pkts[i], plain, plain_length, next_header, plain_at, s.outer_ecn[i]);
    else
      result = finish_transport<kIpv6, kNatT>(burst.pkts[i], next_header, plain_length, s.cut_at[i], plain_at,
                                              s.next_header_at[i]);
    if (result != kKeep) [[unlikely]] drop(ctx, sa, verdict, result);
  }
  sa.packets.add(packets);
  sa.bytes.add(bytes);
  check_lifetime(ctx, sa, sa);
}

}  // namespace

uint16_t esp_inbound_burst(EspContext& ctx, Burst& burst) noexcept {
  Scratch s;
  prefetch_sas(burst);
  // Second stage: by now the early SAs' second lines have arrived, so their replay windows, one
  // pointer away, can be asked for too.
  for (uint16_t i = 0; i < burst.count; ++i)
    if (i == 0 || burst.sa[i] != burst.sa[i - 1]) rte_prefetch0(burst.sa[i]->window.get());
  for (uint16_t i = 0; i < burst.count; ++i) {
    s.verdict[i] = kKeep;
    s.step[i] = Step::kPending;
  }

  // One pass, unless an ESN SA's packets wait for the window their predecessors move (almost
  // never: a burst that jumps across 2^32).
  do {
    s.another_pass = false;
    s.op_count = 0;
    ++ctx.pass;
    for_each_sa_run(burst, [&](SaRuntime& sa, uint16_t begin, uint16_t end) {
      if (!sa_usable(sa)) [[unlikely]] {
        for (uint16_t i = begin; i < end; ++i)
          if (s.step[i] == Step::kPending) {
            s.step[i] = Step::kDone;
            drop(ctx, sa, &s.verdict[i], DropReason::kSaExpired);
          }
        return;
      }
      with_variant(sa.variant, [&]<bool kTunnel, bool kIpv6, bool kNatT>() {
        prepare_run<kTunnel, kIpv6, kNatT>(ctx, sa, burst, begin, end, s);
      });
    });

    // One crypto call for the whole burst.
    crypto::gcm_open_burst(*ctx.mb, {s.ops, s.op_count}, s.authentic);

    for_each_sa_run(burst, [&](SaRuntime& sa, uint16_t begin, uint16_t end) {
      with_variant(sa.variant, [&]<bool kTunnel, bool kIpv6, bool kNatT>() {
        finish_run<kTunnel, kIpv6, kNatT>(ctx, sa, burst, begin, end, s);
      });
    });
  } while (s.another_pass);
  return compact(burst, s.verdict);
}

}  // namespace rampart::dp
