// The worker's view of an SA: a cache-aligned runtime built once on the control core from
// SaParams. The processing variant (mode, outer family, NAT-T) and the outer header template are
// fixed here, so the per-packet code never asks again. Each SA has one owning worker, which alone
// writes its sequence number, window and counters; a spread outbound SA is sealed by any worker,
// each counting in a tally of its own and taking sequence numbers from a shared counter a run at
// a time.
#pragma once

#include <rte_common.h>
#include <rte_prefetch.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "common/byte_order.hpp"
#include "common/counters.hpp"
#include "common/result.hpp"
#include "crypto/aes_gcm.hpp"
#include "dataplane/drop_reason.hpp"
#include "dataplane/replay_window.hpp"
#include "dataplane/sa_params.hpp"

namespace rampart::dp {

// Mode x family x NAT-T, one code path each (templates in esp_outbound.cpp / esp_inbound.cpp).
enum class EspVariant : uint8_t {
  kTunnel4, kTunnel6, kTransport4, kTransport6,
  kTunnel4NatT, kTunnel6NatT, kTransport4NatT, kTransport6NatT,
};

enum class SaState : uint8_t { kActive, kExpired };

inline constexpr size_t kOuterTemplateMax = 48;  // IPv6 (40) + UDP (8)

// What an inbound SA's packets must be addressed to and from (network order; IPv4 in the first
// four bytes), read from the outer header (tunnel) or the header (transport) after the SPI.
struct InboundMatch {
  uint8_t destination[16];
  uint8_t source[16];
  bool check_destination;
  bool check_source;
};

// One worker's counts for a spread SA, and its budget of the SA's byte and packet lifetimes.
// Budgets never add up to more than the limits, so the SA never passes them, whoever carried its
// traffic (SpreadState says how they are drawn).
struct alignas(64) SaTally {
  OwnedCounter packets;
  OwnedCounter bytes;
  uint64_t soft_packets, soft_bytes, hard_packets, hard_bytes;
  bool soft_reported = false;
  bool hard_reported = false;
  bool seq_warned = false;
  OwnedCounter drops[kDropReasonCount];
};

// What a spread SA's workers share. The sequence number sits on a line of its own, since every
// run of the SA on any worker adds to it. Pooled limits: before each run a worker's budget is the
// SA's limit less what the other workers counted, less a margin for the one run each of them may
// have in flight unseen (kMaxBurst packets of up to 64 KiB), so together they stay within the
// limit however unevenly the traffic falls; limits too small for the margin are fixed shares.
struct SpreadState {
  alignas(64) std::atomic<uint64_t> seq{0};
  alignas(64) bool pooled = false;
  uint64_t soft_packets, soft_bytes, hard_packets, hard_bytes;  // pooled: what budgets come from
};

struct alignas(64) SaRuntime {
  // --- cache line 0: what every packet reads or writes.
  Be32 spi;
  EspVariant variant;
  SaDirection direction;
  bool esn;
  DfPolicy df;
  bool copy_dscp;
  uint8_t outer_length;           // template bytes: outer IP (tunnel) + UDP (NAT-T)
  std::atomic<SaState> state{SaState::kActive};  // the control core may expire it (time lifetime)
  bool soft_reported = false;
  bool hard_reported = false;
  uint8_t owner = 0;              // the worker that processes its packets (but a spread SA's); fixed at install
  bool spread = false;            // outbound: every worker seals it, counting in tallies
  uint16_t nat_local_port;        // host order
  uint16_t max_inner = UINT16_MAX;  // outbound: the longest IP packet whose ESP fits the egress MTU
  uint32_t slot = 0;              // the gateway's SA slot (policies name it); inbound policy check
  // Outbound: the last sequence number used, read and written by the owner alone with relaxed
  // loads and stores (a spread SA's is SpreadState::seq; this one stays unused).
  std::atomic<uint64_t> seq{0};
  uint64_t hard_packets, hard_bytes;  // UINT64_MAX when unlimited
  OwnedCounter packets;           // packets processed (inbound: authenticated)
  OwnedCounter bytes;             // payload bytes (the inner packet or transport payload)

  // --- cache line 1. Outbound: the outer header as sent, lengths and checksum left to fill in;
  // the IV offset, read with it. Inbound: the outer addresses its packets must carry; the window.
  union {  // at 64: line 0 is full (asserted below)
    uint8_t outer_template[kOuterTemplateMax];
    InboundMatch expect;
  };
  uint64_t iv_offset = 0;
  std::unique_ptr<ReplayWindow> window;  // inbound only (inbound SAs have no template to send)

  // --- colder: read once per run or by the control core.
  alignas(64) uint64_t soft_packets, soft_bytes;
  uint64_t seq_warning = UINT64_MAX;  // outbound: past this sequence number, warn (kSeqNearOverflow)
  bool seq_warned = false;
  uint16_t egress_mtu = 1500;  // outbound: of the port to the peer; transport-mode ESP is split to it
  OwnedCounter drops[kDropReasonCount];
  crypto::GcmKey key;
  std::unique_ptr<SaTally[]> tallies;  // spread: one per worker, each written by that worker alone
  unsigned tally_count = 0;
  std::unique_ptr<SpreadState> shared;  // spread only
  SaParams params;  // as installed, for the console and the control core

  bool nat_t() const noexcept { return static_cast<uint8_t>(variant) >= static_cast<uint8_t>(EspVariant::kTunnel4NatT); }
};
static_assert(offsetof(SaRuntime, outer_template) == 64, "hot fields must fit the first cache line");
static_assert(offsetof(SaRuntime, soft_packets) == 128, "the template, IV offset and window fill the second line");

// Starts loading what ESP will read of an SA; with many SAs each line is a cache miss. The two hot
// lines; the AES round keys (11 x 16 bytes for AES-128; AES-256's last ones spill into a fourth
// line, left to miss); and the key's last three lines, where ipsec-mb's VAES code keeps the lowest
// hash-key powers (HashKey^8 .. HashKey^1, with which every packet's GHASH ends) and the salt.
// Only addresses are computed: nothing of the SA is read, so this never waits.
inline void prefetch_sa(const SaRuntime* sa) noexcept {
  constexpr size_t kLine = RTE_CACHE_LINE_SIZE;
  constexpr size_t kKeyLines = sizeof(crypto::GcmKey) / kLine;
  static_assert(offsetof(crypto::GcmKey, salt) >= (kKeyLines - 1) * kLine, "the salt sits in the key's last line");
  rte_prefetch0(sa);
  rte_prefetch0(sa->outer_template);
  const auto* key = reinterpret_cast<const uint8_t*>(&sa->key);
  for (size_t line = 0; line < 3; ++line) rte_prefetch0(key + line * kLine);
  for (size_t line = kKeyLines - 3; line < kKeyLines; ++line) rte_prefetch0(key + line * kLine);
}

// Builds an SA runtime: expands the key with the caller's ipsec-mb manager, builds the outer
// header template and, for inbound SAs, the replay window. workers: how many may seal a spread
// outbound SA (below 2, or without SaParams::spread, its owner alone does).
Result<std::unique_ptr<SaRuntime>> create_sa(const crypto::MbManager& mgr, const SaParams& params,
                                             unsigned workers = 1);

// Calls f(counts) with where this worker counts the SA's packets, drops and lifetimes: the SA
// itself (its owner), or its tally for this worker (spread). The two share member names.
template <typename F>
inline void with_counts(SaRuntime& sa, unsigned worker, F&& f) noexcept {
  if (sa.spread) [[unlikely]]
    f(sa.tallies[worker]);
  else
    f(sa);
}

// A spread SA's last sequence number reserved, or an SA's last used.
inline uint64_t last_seq(const SaRuntime& sa) noexcept {
  return (sa.spread ? sa.shared->seq : sa.seq).load(std::memory_order_relaxed);
}

// Before a run of a spread SA with pooled limits: this worker's budget from what the others have
// counted so far (relaxed loads; an old value only makes the budget bigger by what the margin
// covers).
inline void refresh_budget(SaRuntime& sa, unsigned worker) noexcept {
  const SpreadState& shared = *sa.shared;
  if (!shared.pooled) return;
  uint64_t packets = 0;
  uint64_t bytes = 0;
  for (unsigned w = 0; w < sa.tally_count; ++w) {
    if (w == worker) continue;
    packets += sa.tallies[w].packets.get();
    bytes += sa.tallies[w].bytes.get();
  }
  auto less = [](uint64_t limit, uint64_t used) { return limit == UINT64_MAX ? limit : limit > used ? limit - used : 0; };
  SaTally& t = sa.tallies[worker];
  t.soft_packets = less(shared.soft_packets, packets);
  t.soft_bytes = less(shared.soft_bytes, bytes);
  t.hard_packets = less(shared.hard_packets, packets);
  t.hard_bytes = less(shared.hard_bytes, bytes);
}

// What the workers counted for an SA, every tally included.
struct SaTotals {
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint64_t drops = 0;
};
SaTotals sa_totals(const SaRuntime& sa) noexcept;

// Checked when an SA's run starts: the state the control core may have set, then the limits.
inline bool sa_usable(const SaRuntime& sa) noexcept {
  return sa.state.load(std::memory_order_relaxed) == SaState::kActive;
}

}  // namespace rampart::dp
