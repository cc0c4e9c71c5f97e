// An ESP test bench: a worker's context (ipsec-mb manager, drop counters, event ring) and
// helpers that run packets through esp_outbound_burst / esp_inbound_burst.
#pragma once

#include <catch2/catch.hpp>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <memory>
#include <string>
#include <vector>

#include "crypto/mb_manager.hpp"
#include "dataplane/esp_inbound.hpp"
#include "dataplane/esp_outbound.hpp"
#include "dataplane/sa.hpp"
#include "tests/support/packets.hpp"

namespace rampart::test {

struct Processed {
  std::vector<Bytes> good;                 // in order
  std::vector<dp::DropReason> dropped;     // in order
};

class EspHarness {
 public:
  EspHarness() : mb_(crypto::MbManager::create().value()), drops_(dp::kDropReasonDefs, 1) {
    static int instance = 0;
    std::string name = "esp_events_" + std::to_string(instance++);
    events_ = rte_ring_create_elem(name.c_str(), sizeof(dp::SaEvent), 64, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    REQUIRE(events_ != nullptr);
    ctx_ = dp::EspContext{&mb_, &drops_.lane(0), events_};
  }
  ~EspHarness() { rte_ring_free(events_); }

  // workers: how many may seal it, if params.spread; context().worker says which one the
  // harness acts as.
  std::unique_ptr<dp::SaRuntime> sa(const dp::SaParams& params, unsigned workers = 1) {
    auto r = dp::create_sa(mb_, params, workers);
    INFO((r.ok() ? "" : r.message()));
    REQUIRE(r.ok());
    return std::move(r).value();
  }

  // Runs the packets through one stage in bursts of up to kMaxBurst, all with the same SA.
  Processed outbound(dp::SaRuntime& sa, const std::vector<Bytes>& packets) { return run(sa, packets, true); }
  Processed inbound(dp::SaRuntime& sa, const std::vector<Bytes>& packets) { return run(sa, packets, false); }

  // Runs one burst whose packets may belong to different SAs.
  Processed burst(const std::vector<std::pair<dp::SaRuntime*, Bytes>>& items, bool outbound) {
    dp::Burst b;
    for (const auto& [sa, bytes] : items) {
      b.pkts[b.count] = to_mbuf(bytes);
      REQUIRE(b.pkts[b.count] != nullptr);
      b.sa[b.count++] = sa;
    }
    return collect(b, outbound ? dp::esp_outbound_burst(ctx_, b) : dp::esp_inbound_burst(ctx_, b));
  }

  uint64_t dropped(dp::DropReason reason) const { return drops_.sum(reason); }
  uint64_t dropped_total() const {
    uint64_t total = 0;
    for (size_t i = 0; i < dp::kDropReasonCount; ++i) total += drops_.sum(i);
    return total;
  }
  std::vector<dp::SaEvent> events() {
    std::vector<dp::SaEvent> out;
    dp::SaEvent e;
    while (rte_ring_dequeue_elem(events_, &e, sizeof e) == 0) out.push_back(e);
    return out;
  }
  const crypto::MbManager& mb() const { return mb_; }
  dp::EspContext& context() { return ctx_; }

 private:
  Processed run(dp::SaRuntime& sa, const std::vector<Bytes>& packets, bool outbound) {
    Processed all;
    for (size_t at = 0; at < packets.size(); at += dp::kMaxBurst) {
      std::vector<std::pair<dp::SaRuntime*, Bytes>> items;
      for (size_t i = at; i < packets.size() && i < at + dp::kMaxBurst; ++i) items.emplace_back(&sa, packets[i]);
      Processed part = burst(items, outbound);
      all.good.insert(all.good.end(), part.good.begin(), part.good.end());
      all.dropped.insert(all.dropped.end(), part.dropped.begin(), part.dropped.end());
    }
    return all;
  }

  Processed collect(dp::Burst& b, uint16_t good) {
    Processed out;
    for (uint16_t i = 0; i < good; ++i) out.good.push_back(from_mbuf(b.pkts[i]));
    for (uint16_t i = good; i < b.count; ++i) out.dropped.push_back(b.drop[i]);
    rte_pktmbuf_free_bulk(b.pkts, good);
    dp::free_dropped(b, good);
    return out;
  }

  crypto::MbManager mb_;
  CounterTable drops_;
  rte_ring* events_ = nullptr;
  dp::EspContext ctx_{};
};

// An SA pair (outbound at one gateway, inbound at the other) with the same key and SPI.
struct SaPair {
  dp::SaParams out;
  dp::SaParams in;
};

inline SaPair make_sa_pair(dp::SaMode mode, dp::IpFamily family, unsigned key_length, bool esn, bool nat_t) {
  dp::SaParams p;
  p.spi = 0x1001;
  p.mode = mode;
  p.family = family;
  // Tunnel endpoints; a transport-mode SA here takes any hosts' packets (no addresses to check).
  if (mode == dp::SaMode::kTunnel) {
    p.tunnel_source = family == dp::IpFamily::kIpv4 ? v4(198, 51, 100, 1) : v6(0xff, 1);
    p.tunnel_destination = family == dp::IpFamily::kIpv4 ? v4(203, 0, 113, 1) : v6(0xff, 2);
  }
  p.key_length = static_cast<uint8_t>(key_length);
  for (unsigned i = 0; i < key_length; ++i) p.key[i] = std::byte{static_cast<uint8_t>(0x10 + i)};
  p.salt = {std::byte{0xca}, std::byte{0xfe}, std::byte{0xba}, std::byte{0xbe}};
  p.esn = esn;
  p.nat_t = nat_t;
  SaPair pair{p, p};
  pair.out.direction = dp::SaDirection::kOutbound;
  pair.in.direction = dp::SaDirection::kInbound;
  return pair;
}

}  // namespace rampart::test
