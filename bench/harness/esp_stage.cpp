#include "bench/harness/esp_stage.hpp"

#include <rte_cycles.h>
#include <rte_mbuf.h>

#include <cstdlib>

#include "dataplane/esp_inbound.hpp"
#include "dataplane/esp_outbound.hpp"

namespace rampart::bench {

EspStageRig::EspStageRig(const RunConfig& config, rte_mempool* pool)
    : config_(config), flows_(config_), pool_(pool), mb_(crypto::MbManager::create().value()),
      drops_(dp::kDropReasonDefs, 1) {
  for (unsigned i = 0; i < config.sas; ++i) {
    out_.push_back(std::move(dp::create_sa(mb_, flows_.sa(i, dp::SaDirection::kOutbound, false)).value()));
    if (config.mode != dp::SaMode::kTunnel) continue;
    in_.push_back(std::move(dp::create_sa(mb_, flows_.sa(i, dp::SaDirection::kInbound, false)).value()));
    peer_.push_back(std::move(dp::create_sa(mb_, flows_.sa(i, dp::SaDirection::kOutbound, true)).value()));
  }
}

Measurement EspStageRig::run(Direction direction, const SizeSpec& size, const Slice& slice) {
  Measurement m;
  bool out = direction == Direction::kOutbound;
  uint64_t budget = static_cast<uint64_t>(slice.seconds * static_cast<double>(rte_get_tsc_hz()));
  dp::EspContext ctx{&mb_, &drops_.lane(0), nullptr};
  uint64_t dropped_before = 0;
  for (size_t r = 0; r < dp::kDropReasonCount; ++r) dropped_before += drops_.sum(r);
  const unsigned burst = config_.burst;
  uint64_t flow = slice.first_flow;
  while (m.cycles < budget) {
    dp::Burst b;
    if (rte_pktmbuf_alloc_bulk(pool_, b.pkts, burst) != 0) std::abort();
    b.count = static_cast<uint16_t>(burst);
    for (unsigned i = 0; i < burst; ++i, ++flow) {
      uint16_t length = size.lengths[flow % size.lengths.size()];
      m.ip_bytes += length;
      unsigned sa = static_cast<unsigned>(flow % config_.sas);
      auto* inner = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(b.pkts[i], length));
      flows_.inner_packet(inner, length, static_cast<unsigned>(flow), out);
      if (!out) {  // sealed by the peer, untimed
        dp::Burst one;
        one.pkts[0] = b.pkts[i];
        one.sa[0] = peer_[sa].get();
        one.count = 1;
        if (dp::esp_outbound_burst(ctx, one) != 1) std::abort();
      }
      b.sa[i] = (out ? out_ : in_)[sa].get();
    }
    m.sent += burst;
    uint64_t t0 = rte_rdtsc_precise();
    uint16_t good = out ? dp::esp_outbound_burst(ctx, b) : dp::esp_inbound_burst(ctx, b);
    m.cycles += rte_rdtsc_precise() - t0;
    m.packets += good;
    rte_pktmbuf_free_bulk(b.pkts, good);
    dp::free_dropped(b, good);
  }
  uint64_t dropped = 0;
  for (size_t r = 0; r < dp::kDropReasonCount; ++r) dropped += drops_.sum(r);
  m.dropped = dropped - dropped_before;
  return m;
}

}  // namespace rampart::bench
