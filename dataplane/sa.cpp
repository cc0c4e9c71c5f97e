#include "dataplane/sa.hpp"

#include <algorithm>
#include <cstring>

#include <rte_ip.h>

#include <cstring>
#include <limits>

#include "crypto/random.hpp"
#include "dataplane/burst.hpp"
#include "dataplane/wire_headers.hpp"

namespace rampart::dp {

namespace {

uint64_t limit_or_max(uint64_t limit) { return limit == 0 ? std::numeric_limits<uint64_t>::max() : limit; }

EspVariant variant_of(const SaParams& p) {
  unsigned base = (p.mode == SaMode::kTunnel ? 0u : 2u) + (p.family == IpFamily::kIpv4 ? 0u : 1u);
  return static_cast<EspVariant>(base + (p.nat_t ? 4u : 0u));
}

// The outbound outer header with every per-packet field zero: lengths, ID, TOS/traffic class,
// DF (set here only when the policy says set), checksum.
uint8_t build_template(const SaParams& p, uint8_t* out) {
  uint8_t length = 0;
  uint8_t protocol = p.nat_t ? ip_proto::kUdp : ip_proto::kEsp;
  if (p.mode == SaMode::kTunnel) {
    if (p.family == IpFamily::kIpv4) {
      Ipv4Header ip{};
      ip.version_ihl = 0x45;
      ip.ttl = p.ttl;
      ip.protocol = protocol;
      ip.flags_fragment.set(p.df == DfPolicy::kSet ? kIpv4DontFragment : 0);
      std::memcpy(ip.source, p.tunnel_source.data(), 4);
      std::memcpy(ip.destination, p.tunnel_destination.data(), 4);
      // The checksum of the fixed fields: per packet, the outbound stage adds the ones that vary
      // (RFC 1624) instead of summing the whole header again.
      ip.checksum = Be16::from_raw(static_cast<uint16_t>(~rte_raw_cksum(&ip, sizeof ip)));
      std::memcpy(out, &ip, sizeof ip);
      length = sizeof ip;
    } else {
      Ipv6Header ip{};
      ip.version_class_flow.set(6u << 28);
      ip.next_header = protocol;
      ip.hop_limit = p.ttl;
      std::memcpy(ip.source, p.tunnel_source.data(), 16);
      std::memcpy(ip.destination, p.tunnel_destination.data(), 16);
      std::memcpy(out, &ip, sizeof ip);
      length = sizeof ip;
    }
  }
  if (p.nat_t) {
    UdpHeader udp{};
    udp.source_port.set(p.nat_local_port);
    udp.destination_port.set(p.nat_remote_port);
    std::memcpy(out + length, &udp, sizeof udp);
    length += sizeof udp;
  }
  return length;
}

// Worker w's share of a limit (UINT64_MAX: none): the shares add up to the limit exactly.
uint64_t share_of(uint64_t limit, unsigned workers, unsigned w) noexcept {
  if (limit == UINT64_MAX) return limit;
  return limit / workers + (w < limit % workers ? 1 : 0);
}

}  // namespace

SaTotals sa_totals(const SaRuntime& sa) noexcept {
  SaTotals t{sa.packets.get(), sa.bytes.get(), 0};
  for (const auto& d : sa.drops) t.drops += d.get();
  for (unsigned w = 0; w < sa.tally_count; ++w) {
    const SaTally& tally = sa.tallies[w];
    t.packets += tally.packets.get();
    t.bytes += tally.bytes.get();
    for (const auto& d : tally.drops) t.drops += d.get();
  }
  return t;
}

Result<std::unique_ptr<SaRuntime>> create_sa(const crypto::MbManager& mgr, const SaParams& p, unsigned workers) {
  if (p.spi < 256)
    return make_error(Errc::kInvalidArgument, "SPI " + std::to_string(p.spi) + " is reserved (RFC 4303 section 2.1)");
  bool replay_off = p.replay_window == ReplayWindow::kOff;
  if (p.direction == SaDirection::kInbound && !replay_off && !ReplayWindow::valid_size(p.replay_window))
    return make_error(Errc::kInvalidArgument, "replay window " + std::to_string(p.replay_window) +
                                                  " is not 0 (off) or a power of two from 32 to 2^24");
  if (p.direction == SaDirection::kInbound && replay_off && p.esn)
    return make_error(Errc::kInvalidArgument, "ESN needs anti-replay (RFC 4303 section 2.2.1): replay window 0 turns it off");
  if (!p.esn && p.initial_seq > std::numeric_limits<uint32_t>::max())
    return make_error(Errc::kInvalidArgument, "initial sequence number needs ESN");

  auto sa = std::make_unique<SaRuntime>();
  auto key = crypto::gcm_key_init(mgr, std::span(p.key.data(), p.key_length), p.salt, sa->key);
  if (!key) return key.error();

  sa->spi.set(p.spi);
  sa->variant = variant_of(p);
  sa->direction = p.direction;
  sa->esn = p.esn;
  sa->df = p.df;
  sa->copy_dscp = p.copy_dscp;
  sa->nat_local_port = p.nat_local_port;
  sa->seq = p.initial_seq;
  if (p.iv_offset) {
    sa->iv_offset = *p.iv_offset;
  } else if (p.direction == SaDirection::kOutbound) {
    auto offset = crypto::random_u64();
    if (!offset) return offset.error();
    sa->iv_offset = *offset;
  }
  sa->soft_packets = limit_or_max(p.lifetime.soft_packets);
  sa->hard_packets = limit_or_max(p.lifetime.hard_packets);
  sa->soft_bytes = limit_or_max(p.lifetime.soft_bytes);
  sa->hard_bytes = limit_or_max(p.lifetime.hard_bytes);
  sa->outer_length = build_template(p, sa->outer_template);
  if (p.direction == SaDirection::kOutbound) {
    uint64_t last = p.esn ? std::numeric_limits<uint64_t>::max() : std::numeric_limits<uint32_t>::max();
    sa->seq_warning = last - (last >> 4);
    if (p.spread && workers > 1) {
      // Past the last number each run still adds its count until the workers see the SA stopped:
      // 2^32 numbers of room keep that add from wrapping to numbers already sent.
      if (p.esn && p.initial_seq > std::numeric_limits<uint64_t>::max() - (uint64_t{1} << 32))
        return make_error(Errc::kInvalidArgument, "initial sequence number too close to the end for a spread SA");
      sa->spread = true;
      sa->shared = std::make_unique<SpreadState>();
      sa->shared->seq.store(p.initial_seq, std::memory_order_relaxed);
      sa->tally_count = workers;
      sa->tallies = std::make_unique<SaTally[]>(workers);
      // The margin: one run in flight on each other worker, unseen by the one drawing its budget.
      uint64_t margin_packets = uint64_t{workers - 1} * kMaxBurst;
      uint64_t margin_bytes = margin_packets * 65535;
      auto poolable = [](uint64_t limit, uint64_t margin) { return limit == UINT64_MAX || limit > 2 * margin; };
      SpreadState& shared = *sa->shared;
      shared.pooled = poolable(sa->hard_packets, margin_packets) && poolable(sa->hard_bytes, margin_bytes);
      auto pool = [](uint64_t limit, uint64_t margin) { return limit == UINT64_MAX ? limit : limit - margin; };
      shared.soft_packets = sa->soft_packets;
      shared.soft_bytes = sa->soft_bytes;
      shared.hard_packets = pool(sa->hard_packets, margin_packets);
      shared.hard_bytes = pool(sa->hard_bytes, margin_bytes);
      for (unsigned w = 0; w < workers; ++w) {
        SaTally& t = sa->tallies[w];
        t.soft_packets = share_of(sa->soft_packets, workers, w);
        t.soft_bytes = share_of(sa->soft_bytes, workers, w);
        t.hard_packets = share_of(sa->hard_packets, workers, w);
        t.hard_bytes = share_of(sa->hard_bytes, workers, w);
      }
    }
  }
  if (p.direction == SaDirection::kInbound) {
    sa->window = std::make_unique<ReplayWindow>(p.replay_window, p.initial_seq);
    auto set = [](const std::array<uint8_t, 16>& a) { return std::any_of(a.begin(), a.end(), [](uint8_t b) { return b != 0; }); };
    InboundMatch& expect = sa->expect;
    std::memcpy(expect.destination, p.tunnel_destination.data(), 16);
    std::memcpy(expect.source, p.tunnel_source.data(), 16);
    expect.check_destination = set(p.tunnel_destination);
    expect.check_source = p.check_source && set(p.tunnel_source);
  }
  sa->params = p;
  return sa;
}

}  // namespace rampart::dp
