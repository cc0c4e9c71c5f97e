// Pieces shared by the ESP stages (esp_outbound.cpp, esp_inbound.cpp): per-packet verdicts,
// the compaction that moves drops behind the good packets, and lifetime accounting.
// Internal to the data plane.
#pragma once

#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_ring_elem.h>

#include <cstring>

#include "dataplane/burst.hpp"
#include "dataplane/sa.hpp"
#include "dataplane/wire_headers.hpp"

namespace rampart::dp::esp {

inline constexpr DropReason kKeep = DropReason::kCount;  // "no drop" in a verdict array

// ESP overheads with AES-GCM (RFC 4106): header, explicit IV, ICV; trailer is pad + 2.
inline constexpr unsigned kEspHeaderLength = 8;
inline constexpr unsigned kIvLength = 8;
inline constexpr unsigned kIcvLength = 16;
inline constexpr unsigned kTrailerLength = 2;

// The worker lane counts every drop; the SA counts its own. Counts: the SA or this worker's
// tally of it (with_counts).
template <typename Counts>
inline void drop(EspContext& ctx, Counts& counts, DropReason* verdict, DropReason reason) noexcept {
  *verdict = reason;
  ctx.drops->add(reason);
  counts.drops[static_cast<size_t>(reason)].add();
}

// Stable partition: keeps the good packets' order, and the drops' order behind them.
inline uint16_t compact(Burst& burst, const DropReason* verdict) noexcept {
  // Most bursts drop nothing: then the packets already stand in order and nothing moves.
  uint16_t first_bad = 0;
  while (first_bad < burst.count && verdict[first_bad] == kKeep) ++first_bad;
  if (first_bad == burst.count) [[likely]]
    return burst.count;
  rte_mbuf* bad_pkts[kMaxBurst];
  SaRuntime* bad_sa[kMaxBurst];
  DropReason bad_reason[kMaxBurst];
  uint16_t good = first_bad;
  uint16_t bad = 0;
  for (uint16_t i = first_bad; i < burst.count; ++i) {
    if (verdict[i] == kKeep) {
      burst.pkts[good] = burst.pkts[i];
      burst.sa[good] = burst.sa[i];
      ++good;
    } else {
      bad_pkts[bad] = burst.pkts[i];
      bad_sa[bad] = burst.sa[i];
      bad_reason[bad] = verdict[i];
      ++bad;
    }
  }
  std::memcpy(burst.pkts + good, bad_pkts, bad * sizeof(rte_mbuf*));
  std::memcpy(burst.sa + good, bad_sa, bad * sizeof(SaRuntime*));
  std::memcpy(burst.drop + good, bad_reason, bad * sizeof(DropReason));
  return good;
}

[[gnu::cold]] inline void send_event(EspContext& ctx, const SaRuntime& sa, SaEventKind kind, bool& reported) noexcept {
  if (reported) return;
  SaEvent event{sa.spi.get(), sa.direction, kind};
  // A full ring leaves reported false, so the next burst tries again.
  if (ctx.events == nullptr || rte_ring_enqueue_elem(ctx.events, &event, sizeof event) == 0) reported = true;
}

// After a run: raise the soft event once, and stop the SA at the hard limit (of this worker's
// budget, for a spread SA: the control core takes each kind of event once per SA).
template <typename Counts>
inline void check_lifetime(EspContext& ctx, SaRuntime& sa, Counts& counts) noexcept {
  uint64_t packets = counts.packets.get();
  uint64_t bytes = counts.bytes.get();
  if ((packets >= counts.soft_packets || bytes >= counts.soft_bytes) && !counts.soft_reported) [[unlikely]]
    send_event(ctx, sa, SaEventKind::kSoftLifetime, counts.soft_reported);
  if (last_seq(sa) >= sa.seq_warning && !counts.seq_warned) [[unlikely]]
    send_event(ctx, sa, SaEventKind::kSeqNearOverflow, counts.seq_warned);
  if ((packets >= counts.hard_packets || bytes >= counts.hard_bytes)) [[unlikely]] {
    sa.state.store(SaState::kExpired, std::memory_order_relaxed);
    send_event(ctx, sa, SaEventKind::kHardLifetime, counts.hard_reported);
  }
}

// Would one more packet of this many bytes pass the hard limits? pending_* count what this run
// has already admitted but not yet accounted.
template <typename Counts>
inline bool within_hard_limits(const Counts& counts, uint64_t pending_packets, uint64_t pending_bytes,
                               uint64_t length) noexcept {
  return counts.packets.get() + pending_packets < counts.hard_packets &&
         counts.bytes.get() + pending_bytes + length <= counts.hard_bytes;
}

// Calls f(sa, begin, end) for each run of consecutive packets with the same SA: batching runs
// without sorting (as VPP does), so order is kept and the SA is loaded once per run.
template <typename F>
inline void for_each_sa_run(Burst& burst, F&& f) noexcept {
  for (uint16_t begin = 0, end; begin < burst.count; begin = end) {
    SaRuntime& sa = *burst.sa[begin];
    end = static_cast<uint16_t>(begin + 1);
    while (end < burst.count && burst.sa[end] == &sa) ++end;
    f(sa, begin, end);
  }
}

// Starts loading what the burst's SAs will need before the first of them is used (prefetch_sa).
inline void prefetch_sas(const Burst& burst) noexcept {
  const SaRuntime* previous = nullptr;
  for (uint16_t i = 0; i < burst.count; ++i) {
    if (burst.sa[i] == previous) continue;
    previous = burst.sa[i];
    prefetch_sa(previous);
  }
}

// Calls f.template operator()<tunnel, ipv6, nat_t>() for the SA's variant: the one switch per
// run, after which the per-packet code is specialised.
template <typename F>
inline void with_variant(EspVariant variant, F&& f) noexcept {
  switch (variant) {
    case EspVariant::kTunnel4: f.template operator()<true, false, false>(); break;
    case EspVariant::kTunnel6: f.template operator()<true, true, false>(); break;
    case EspVariant::kTransport4: f.template operator()<false, false, false>(); break;
    case EspVariant::kTransport6: f.template operator()<false, true, false>(); break;
    case EspVariant::kTunnel4NatT: f.template operator()<true, false, true>(); break;
    case EspVariant::kTunnel6NatT: f.template operator()<true, true, true>(); break;
    case EspVariant::kTransport4NatT: f.template operator()<false, false, true>(); break;
    case EspVariant::kTransport6NatT: f.template operator()<false, true, true>(); break;
  }
}

// rte_raw_cksum sums 16-bit words as they lie in memory, so its complement is stored as is.
inline void set_ipv4_checksum(Ipv4Header* ip) noexcept {
  ip->checksum.set(0);
  ip->checksum = Be16::from_raw(static_cast<uint16_t>(~rte_raw_cksum(ip, ip->header_length())));
}

// The AAD of RFC 4106 section 5: the ESP header as it is (SPI, low sequence number), or with ESN
// SPI || high sequence number || low, built in scratch (12 bytes). Returns it and its length.
inline const uint8_t* esp_aad(const SaRuntime& sa, const uint8_t* esp_header, uint64_t seq, uint8_t* scratch,
                              uint32_t& length) noexcept {
  if (!sa.esn) {
    length = kEspHeaderLength;
    return esp_header;
  }
  std::memcpy(scratch, esp_header, 4);
  Be32 high = Be32::from_host(static_cast<uint32_t>(seq >> 32));
  std::memcpy(scratch + 4, &high, 4);
  std::memcpy(scratch + 8, esp_header + 4, 4);
  length = 12;
  return scratch;
}

inline void store_be64(uint8_t* p, uint64_t v) noexcept {
  Be64 be = Be64::from_host(v);
  std::memcpy(p, &be, 8);
}

}  // namespace rampart::dp::esp
