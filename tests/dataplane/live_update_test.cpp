// Live updates under traffic: three workers run on threads of their own while this thread, as the control
// core, rekeys the SA pair and grows and shrinks the SPD, and as the far gateway reflects every
// ESP packet back (the gateway talks to itself: its inbound SA has its outbound SA's key and SPI).
// Every packet sent must come back decrypted exactly once: no loss at a swap, no misrouting, no
// mbuf left behind, and (under ASan) no touch of freed memory.
#include <optional>
#include <catch2/catch.hpp>
#include <rte_ethdev.h>
#include <rte_ip.h>

#include <thread>

#include "dataplane/gateway.hpp"
#include "dataplane/tsan.hpp"
#include "dataplane/port.hpp"
#include "dataplane/worker.hpp"
#include "tests/support/packets.hpp"
#include "tests/support/ring_site.hpp"
#include "tests/support/threads.hpp"
#include "tests/support/specs.hpp"

using namespace rampart;
using namespace rampart::test;

namespace {


// The SA pair of rekey generation g: both directions share key and SPI, so what the gateway
// sends, reflected, is what it accepts.
std::pair<dp::SaParams, dp::SaParams> sa_pair(uint32_t g) {
  dp::SaParams out;
  out.name = "to-self";
  out.spi = 0x10000 + g;
  out.direction = dp::SaDirection::kOutbound;
  out.tunnel_source = v4(198, 51, 100, 1);
  out.tunnel_destination = v4(198, 51, 100, 2);
  for (size_t i = 0; i < 16; ++i) out.key[i] = std::byte(static_cast<uint8_t>(g * 7 + i));
  out.salt = {std::byte{1}, std::byte{2}, std::byte{3}, std::byte(static_cast<uint8_t>(g))};
  dp::SaParams in = out;
  in.name = "from-self";
  in.direction = dp::SaDirection::kInbound;
  std::swap(in.tunnel_source, in.tunnel_destination);
  return {out, in};
}

// Rules that outrank the tunnel's but never match its traffic (TCP, the tunnel carries UDP), so
// each SPD the workers get is bigger or smaller yet must give the same verdicts.
std::vector<dp::PolicySpec> decoys(unsigned count) {
  std::vector<dp::PolicySpec> out;
  for (unsigned i = 0; i < count; ++i) {
    dp::PolicySpec p = policy(dp::SaDirection::kOutbound, {ip4(192, 0, 2, 0), 24}, {ip4(203, 0, 113, 0), 24},
                              dp::PolicyAction::kDiscard, "", 1);
    p.name = "decoy" + std::to_string(i);
    p.any_protocol = false;
    p.protocol = IPPROTO_TCP;
    p.destination_port_low = p.destination_port_high = static_cast<uint16_t>(i + 1);
    out.push_back(p);
  }
  return out;
}

std::vector<dp::PolicySpec> tunnel_policies() {
  return {policy(dp::SaDirection::kOutbound, {ip4(192, 0, 2, 0), 24}, {ip4(203, 0, 113, 0), 24},
                 dp::PolicyAction::kProtect, "to-self"),
          policy(dp::SaDirection::kInbound, {ip4(192, 0, 2, 0), 24}, {ip4(203, 0, 113, 0), 24},
                 dp::PolicyAction::kProtect, "from-self")};
}

// Three workers. The SAs' owner is worker 0 (the first of each direction); the host's packets
// come in on worker 1's queue and the peer's ESP on worker 2's, so every packet is handed to the
// owner while SAs, policies and tables change under it.
constexpr unsigned kWorkers = 3;
constexpr uint16_t kHostQueue = 1;
constexpr uint16_t kPeerQueue = 2;

class LiveBench {
 public:
  LiveBench() {
    auto site = test::RingSite::create("live", kWorkers);
    INFO((site.ok() ? "" : site.message()));
    REQUIRE(site.ok());
    site_.emplace(std::move(*site));
    in_ = site_->inside;
    out_ = site_->outside;
    dp::GatewaySpec spec = site_->spec(4095, kWorkers);
    spec.rekey_linger_ms = 2000;  // the default: packets on their way back when the pair changes still open
    auto [sa_out, sa_in] = sa_pair(0);
    spec.sas = {sa_out, sa_in};
    spec.policies = tunnel_policies();
    spec.neighbours = RingSite::neighbours();
    auto gw = dp::Gateway::create(spec);
    INFO((gw.ok() ? "" : gw.message()));
    REQUIRE(gw.ok());
    gw_ = std::move(*gw);
    rte_eth_macaddr_get(in_.a, &inside_mac_);
    rte_eth_macaddr_get(out_.a, &outside_mac_);
    for (unsigned w = 0; w < kWorkers; ++w)
      workers_.push_back(std::make_unique<dp::Worker>(gw_->attach_worker(w), crypto::MbManager::create().value()));
    for (auto& worker : workers_) threads_.push_back(any_cpu_thread([w = worker.get()] { w->run(); }));
  }
  ~LiveBench() {
    gw_->stop();
    for (auto& t : threads_) t.join();
    for (int i = 0; i < 10; ++i) pump();  // whatever was in flight
    workers_.clear();
    gw_->control_poll();
    CHECK(gw_->shutdown() == 0);
    site_->close();
    gw_.reset();
    CHECK(mbufs_in_use() == 0);
  }

  // Sends count packets from the host, each carrying its number, keeping at most 1,024 on the
  // way (the pool has 4,095 mbufs).
  void send(unsigned count) {
    for (int i = 0; i < 10000 && next_id_ - returned_ - drops() > 1024; ++i) {
      pump();
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    rte_mbuf* pkts[32];
    unsigned n = 0;
    for (unsigned i = 0; i < count; ++i) {
      Bytes ip = ipv4_udp({v4(192, 0, 2, 10), v4(203, 0, 113, 10), 64});
      uint32_t id = next_id_++;
      std::memcpy(ip.data() + 28, &id, 4);
      Bytes frame(14 + ip.size());
      std::memcpy(frame.data(), inside_mac_.addr_bytes, 6);
      std::memcpy(frame.data() + 6, kHostMac.addr_bytes, 6);
      frame[12] = 0x08;
      std::copy(ip.begin(), ip.end(), frame.begin() + 14);
      pkts[n] = to_mbuf(frame);
      REQUIRE(pkts[n++] != nullptr);
      if (n == 32 || i + 1 == count) {
        unsigned sent = 0;
        dp::tsan_release_packets(pkts, n);
        while (sent < n) sent += rte_eth_tx_burst(in_.b, kHostQueue, pkts + sent, static_cast<uint16_t>(n - sent));
        n = 0;
      }
    }
  }

  // Plays the far gateway: ESP from us goes back with addresses swapped; what comes out in the
  // clear (the decrypted packets, routed towards 203.0.113.0/24) is counted by number.
  void pump() {
    rte_mbuf* pkts[32];
    uint16_t n;
    while ((n = receive(out_.b, pkts)) > 0) {
      dp::tsan_acquire_packets(pkts, n);
      rte_mbuf* back[32];
      uint16_t count = 0;
      for (uint16_t i = 0; i < n; ++i) {
        auto* eth = rte_pktmbuf_mtod(pkts[i], rte_ether_hdr*);
        auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
        if (ip->next_proto_id == IPPROTO_ESP) {
          uint32_t source = ip->src_addr;  // swapped, the checksum does not change
          ip->src_addr = ip->dst_addr;
          ip->dst_addr = source;
          eth->dst_addr = outside_mac_;
          eth->src_addr = kPeerMac;
          back[count++] = pkts[i];
          continue;
        }
        uint32_t id;
        std::memcpy(&id, rte_pktmbuf_mtod_offset(pkts[i], uint8_t*, 14 + 28), 4);
        if (ip->next_proto_id == IPPROTO_UDP && ip->dst_addr == rte_cpu_to_be_32(ip4(203, 0, 113, 10)) &&
            id < seen_.size())
          returned_ += seen_[id]++ == 0 ? 1 : 0;
        else
          ++strays_;
        rte_pktmbuf_free(pkts[i]);
      }
      uint16_t sent = 0;
      dp::tsan_release_packets(back, count);
      while (sent < count) sent += rte_eth_tx_burst(out_.b, kPeerQueue, back + sent, static_cast<uint16_t>(count - sent));
    }
    rte_mbuf* leaked[32];
    while ((n = receive(in_.b, leaked)) > 0) {  // nothing should come back inside
      strays_ += n;
      dp::tsan_acquire_packets(leaked, n);
      rte_pktmbuf_free_bulk(leaked, n);
    }
    gw_->control_poll();
  }

  // Up to 32 packets from any of the test side's queues (every worker sends on its own).
  uint16_t receive(uint16_t port, rte_mbuf** pkts) {
    for (uint16_t q = 0; q < kWorkers; ++q)
      if (uint16_t n = rte_eth_rx_burst(port, q, pkts, 32)) return n;
    return 0;
  }

  // Pumps until every packet sent has come back, or a second has passed.
  void settle() {
    for (int i = 0; i < 10000 && received() < next_id_; ++i) {
      pump();
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  }
  uint32_t received() const { return returned_; }
  uint64_t counter(std::string_view name) {
    auto value = counter_of(*gw_, name);
    if (!value) FAIL("no counter " << name);
    return value.value_or(0);
  }
  std::string drop_names() {
    std::string names;
    for (const auto& c : gw_->counters())
      if (c.name.rfind("drop_", 0) == 0 && c.value) names += std::string(c.name) + "=" + std::to_string(c.value) + " ";
    return names;
  }
  uint64_t drops() {
    uint64_t total = 0;
    for (const auto& c : gw_->counters())
      if (c.name.rfind("drop_", 0) == 0) total += c.value;
    return total;
  }

  std::optional<RingSite> site_;
  dp::PortPair in_{}, out_{};  // site_'s, for short
  rte_ether_addr inside_mac_{}, outside_mac_{};
  std::unique_ptr<dp::Gateway> gw_;
  std::vector<std::unique_ptr<dp::Worker>> workers_;
  std::vector<std::thread> threads_;
  uint32_t next_id_ = 0;
  uint32_t returned_ = 0;  // packets that came back at least once
  std::vector<uint8_t> seen_ = std::vector<uint8_t>(1 << 20, 0);
  uint64_t strays_ = 0;
};

}  // namespace

TEST_CASE_METHOD(LiveBench, "1,000 make-before-break rekeys under traffic lose no packet", "[dp][live]") {
  constexpr uint32_t kRekeys = 1000;
  for (uint32_t g = 1; g <= kRekeys; ++g) {
    send(8);
    pump();  // some ESP of the old SA is still on its way back when the pair changes
    auto [out, in] = sa_pair(g);
    REQUIRE(gw_->install_sa(in).ok());   // inbound first: the old SPI lingers beside the new
    REQUIRE(gw_->install_sa(out).ok());  // then outbound moves, all at once
    send(8);
    pump();
  }
  settle();
  INFO("sent " << next_id_ << ", received " << received() << ", drops " << drop_names() << ", strays " << strays_);
  CHECK(received() == next_id_);
  for (uint32_t i = 0; i < next_id_; ++i)
    if (seen_[i] != 1) FAIL_CHECK("packet " << i << " came back " << int(seen_[i]) << " times");
  CHECK(drops() == 0);
  CHECK(strays_ == 0);
  CHECK(counter("esp_out_packets") == next_id_);
  CHECK(counter("esp_in_packets") == next_id_);
  CHECK(counter("handed_out_packets") == 2 * uint64_t{next_id_});  // each packet both ways, to the owner
  // Only the newest pair and the inbound SAs still lingering are left; the rest were freed.
  size_t current = 0;
  for (const auto& sa : gw_->sa_snapshot()) current += sa.lingering ? 0 : 1;
  CHECK(current == 2);
  for (int i = 0; i < 100 && gw_->pending_reclaims() != 0; ++i) {
    pump();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

TEST_CASE_METHOD(LiveBench, "10,000 policies added and removed under traffic change no verdict", "[dp][live]") {
  constexpr unsigned kPolicies = 10000, kStep = 500;
  auto with_decoys = [](unsigned count) {
    auto rules = decoys(count);
    auto tunnel = tunnel_policies();
    rules.insert(rules.end(), tunnel.begin(), tunnel.end());
    return rules;
  };
  for (unsigned count = kStep; count <= kPolicies; count += kStep) {
    send(32);
    auto r = gw_->set_policies(dp::kConfigPolicies, with_decoys(count));
    INFO(count << " decoys: " << (r.ok() ? "" : r.message()));
    REQUIRE(r.ok());
    pump();
  }
  CHECK(gw_->policies().size() == kPolicies + 2);
  for (unsigned count = kPolicies; count >= kStep; count -= kStep) {
    send(32);
    REQUIRE(gw_->set_policies(dp::kConfigPolicies, with_decoys(count - kStep)).ok());
    pump();
  }
  CHECK(gw_->policies().size() == 2);
  settle();
  INFO("sent " << next_id_ << ", received " << received() << ", drops " << drops());
  CHECK(received() == next_id_);
  CHECK(drops() == 0);
  CHECK(strays_ == 0);
}

TEST_CASE_METHOD(LiveBench, "removing an SA stops its traffic; a bad change leaves everything as it was",
                 "[dp][live]") {
  send(16);
  settle();
  REQUIRE(received() == 16);
  auto before = gw_->policies().size();
  dp::PolicySpec bad = tunnel_policies()[0];
  bad.sa.clear();  // protect without an SA name
  CHECK_FALSE(gw_->set_policies(dp::kConfigPolicies, {bad}).ok());
  CHECK(gw_->policies().size() == before);
  auto [out, in] = sa_pair(0);
  dp::SaParams clash = in;
  clash.name = "another";
  CHECK_FALSE(gw_->install_sa(clash).ok());  // its SPI is in use
  dp::SaParams wrong_way = out;
  wrong_way.name = "from-self";
  CHECK_FALSE(gw_->install_sa(wrong_way).ok());  // the name belongs to the inbound SA
  send(16);
  settle();
  CHECK(received() == 32);

  REQUIRE(gw_->remove_sa("to-self").ok());
  CHECK_FALSE(gw_->remove_sa("to-self").ok());
  // A worker applies updates between passes: packets it already took may still use the old SA.
  // Once the removed SA is freed, every worker has moved on.
  for (int i = 0; i < 1000 && gw_->pending_reclaims() != 0; ++i) {
    pump();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  REQUIRE(gw_->pending_reclaims() == 0);
  send(16);
  for (int i = 0; i < 50; ++i) {
    pump();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  CHECK(received() == 32);
  CHECK(counter("drop_no_sa") == 16);
  auto [next_out, next_in] = sa_pair(1);  // fresh keys: the inbound window has seen these numbers
  REQUIRE(gw_->install_sa(next_in).ok());
  REQUIRE(gw_->install_sa(next_out).ok());  // back: traffic flows again
  while (!gw_->updates_delivered()) std::this_thread::yield();
  send(16);
  settle();
  std::string counters;
  for (const auto& c : gw_->counters())
    if (c.value) counters += std::string(c.name) + "=" + std::to_string(c.value) + " ";
  INFO(counters);
  CHECK(received() == 48);
}

// No edit of one owner's policies touches another's (a reload of the file, IKE's CHILD_SAs).
TEST_CASE_METHOD(LiveBench, "each owner's policies are replaced alone; the SPDs hold every owner's", "[dp][live]") {
  auto tunnel = tunnel_policies();
  const std::string ike = "ike/tunnel";
  REQUIRE(gw_->set_policies(dp::kConfigPolicies, {}).ok());  // the tunnel's policies move to another owner
  REQUIRE(gw_->set_policies(ike, tunnel).ok());
  // Between the two changes no policy protected the tunnel: send once the worker has the second.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!gw_->updates_delivered() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  REQUIRE(gw_->updates_delivered());
  pump();
  send(16);
  settle();
  REQUIRE(received() == 16);  // the tunnel works through the other owner's policies
  for (unsigned round = 1; round <= 3; ++round) {  // the file's edits: decoys come and go
    REQUIRE(gw_->set_policies(dp::kConfigPolicies, decoys(round * 10)).ok());
    CHECK(gw_->policies(ike) == tunnel);
    CHECK(gw_->policies(dp::kConfigPolicies).size() == round * 10);
    CHECK(gw_->policies().size() == round * 10 + tunnel.size());
    CHECK(gw_->policies().front() == gw_->policies(dp::kConfigPolicies).front());  // the file's first
    pump();
  }
  REQUIRE(gw_->set_policies(dp::kConfigPolicies, {}).ok());
  CHECK(gw_->policies() == tunnel);
  send(16);
  settle();
  CHECK(received() == 32);
  REQUIRE(gw_->set_policies(ike, {}).ok());  // and IKE's go without touching the file's
  CHECK(gw_->policies().empty());
  CHECK(drops() == 0);
}
