// Several workers, each on its own thread, on ring ports with one queue per worker: the test
// sends each flow on one queue (what RSS does on a NIC), so most packets arrive at a worker
// that does not own their SA and are handed to the one that does. Checked over the whole
// output: every outbound sequence number and IV once per SA, every packet the peer sent
// delivered once and replays caught, flows in order, counters exact, every mbuf back. A spread
// tunnel is sealed by whichever worker meets its packets, with no outbound hand-off.
#include <catch2/catch.hpp>
#include <rte_ethdev.h>
#include <rte_ip.h>

#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "dataplane/gateway.hpp"
#include "dataplane/tsan.hpp"
#include "dataplane/worker.hpp"
#include "tests/dataplane/esp_harness.hpp"
#include "tests/support/ring_site.hpp"
#include "tests/support/threads.hpp"
#include "tests/support/specs.hpp"

using namespace rampart;
using namespace rampart::test;

namespace {

constexpr uint32_t kPeer = ip4(198, 51, 100, 2);
constexpr uint32_t kUs = ip4(198, 51, 100, 1);
constexpr uint32_t kOutboundSpi = 0x10000;
constexpr uint32_t kInboundSpi = 0x20000;

// Tunnel i: inside host 192.0.2.(2 + i % 250) and far host 203.0.113.(1 + i / 250), an SA each way.
uint32_t inside_host(unsigned tunnel) { return ip4(192, 0, 2, static_cast<uint8_t>(2 + tunnel % 250)); }
uint32_t far_host(unsigned tunnel) { return ip4(203, 0, 113, static_cast<uint8_t>(1 + tunnel / 250)); }

std::array<uint8_t, 16> addr(uint32_t host_order) { return outer4(host_order); }

// A flow's packet: UDP from its own source port, the flow and its packet number in the payload.
Bytes flow_packet(uint32_t from, uint32_t to, uint16_t flow, uint32_t number) {
  Bytes p = ipv4_udp({addr(from), addr(to), 32});
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p.data());
  auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
  udp->src_port = rte_cpu_to_be_16(static_cast<uint16_t>(10000 + flow));
  std::memcpy(p.data() + 28, &flow, sizeof flow);
  std::memcpy(p.data() + 30, &number, sizeof number);
  udp->dgram_cksum = 0;
  udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
  return p;
}
std::pair<uint16_t, uint32_t> flow_of(const Bytes& ip) {
  uint16_t flow;
  uint32_t number;
  std::memcpy(&flow, ip.data() + 28, sizeof flow);
  std::memcpy(&number, ip.data() + 30, sizeof number);
  return {flow, number};
}

// Packets in flight at once: well within a hand-off ring (1,024), however the threads are scheduled.
constexpr size_t kChunk = 256;

class ManyWorkers {
 public:
  ManyWorkers(unsigned workers, unsigned tunnels, bool spread = false)
      : workers_(workers), tunnels_(tunnels), spread_(spread) {
    auto site = RingSite::create("mw" + std::to_string(workers) + "_" + std::to_string(tunnels) + (spread ? "s" : ""),
                                 static_cast<uint16_t>(workers));
    INFO((site.ok() ? "" : site.message()));
    REQUIRE(site.ok());
    site_.emplace(std::move(*site));
    dp::GatewaySpec spec = site_->spec(8191, workers);
    spec.max_sas = 2 * tunnels + 2;
    spec.neighbours = RingSite::neighbours();
    for (unsigned host = 0; host < std::min(tunnels, 250u); ++host) {
      dp::NeighbourSpec n;
      n.address = inside_host(host);
      std::copy_n(kHostMac.addr_bytes, RTE_ETHER_ADDR_LEN, n.mac.begin());
      spec.neighbours.push_back(n);
    }
    using dp::SaDirection::kInbound;
    using dp::SaDirection::kOutbound;
    for (unsigned t = 0; t < tunnels; ++t) {
      std::string out = "out" + std::to_string(t), in = "in" + std::to_string(t);
      spec.sas.push_back(tunnel_sa(out, kOutboundSpi + t, kOutbound, kUs, kPeer));
      spec.sas.back().spread = spread;
      spec.sas.push_back(tunnel_sa(in, kInboundSpi + t, kInbound, kPeer, kUs, 1024));
      spec.policies.push_back(policy(kOutbound, {inside_host(t), 32}, {far_host(t), 32}, dp::PolicyAction::kProtect, out));
      spec.policies.push_back(policy(kInbound, {far_host(t), 32}, {inside_host(t), 32}, dp::PolicyAction::kProtect, in));
      // The peer's halves: it opens what we send and seals what we receive.
      peer_open_.push_back(h_.sa(tunnel_sa(out, kOutboundSpi + t, kInbound, kUs, kPeer, 1024)));
      peer_seal_.push_back(h_.sa(tunnel_sa(in, kInboundSpi + t, kOutbound, kPeer, kUs)));
    }
    auto gw = dp::Gateway::create(spec);
    INFO((gw.ok() ? "" : gw.message()));
    REQUIRE(gw.ok());
    gw_ = std::move(*gw);
    for (unsigned w = 0; w < workers; ++w)
      workers_list_.push_back(std::make_unique<dp::Worker>(gw_->attach_worker(w), crypto::MbManager::create().value()));
    for (auto& worker : workers_list_) threads_.push_back(any_cpu_thread([w = worker.get()] { w->run(); }));
  }
  ~ManyWorkers() {
    stop();
    CHECK(gw_->shutdown() == 0);
    drain(site_->inside.b);
    drain(site_->outside.b);
    site_->close();
    workers_list_.clear();
    gw_.reset();
    CHECK(mbufs_in_use() == 0);
  }
  void stop() {
    gw_->stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  // Sends each frame on the queue its flow hashes to.
  void send(uint16_t port, const Bytes& frame, uint16_t flow) {
    rte_mbuf* m = to_mbuf(frame);
    REQUIRE(m != nullptr);
    dp::tsan_release(m);
    REQUIRE(rte_eth_tx_burst(port, static_cast<uint16_t>(flow % workers_), &m, 1) == 1);
  }
  // Everything waiting on every queue of the test's side of a port, queue by queue.
  std::vector<Bytes> receive(uint16_t port) {
    std::vector<Bytes> out;
    for (uint16_t q = 0; q < workers_; ++q) {
      rte_mbuf* m[32];
      uint16_t n;
      while ((n = rte_eth_rx_burst(port, q, m, 32)) > 0) {
        dp::tsan_acquire_packets(m, n);
        for (uint16_t i = 0; i < n; ++i) out.push_back(from_mbuf(m[i]));
        rte_pktmbuf_free_bulk(m, n);
      }
    }
    return out;
  }
  void drain(uint16_t port) { receive(port); }
  // Receives until `count` frames came out of the port, or 30 s passed (a loaded machine).
  std::vector<Bytes> receive_until(uint16_t port, size_t count) {
    std::vector<Bytes> out;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (out.size() < count && std::chrono::steady_clock::now() < deadline) {
      gw_->control_poll();
      auto more = receive(port);
      out.insert(out.end(), more.begin(), more.end());
      if (more.empty()) std::this_thread::yield();
    }
    return out;
  }
  uint64_t counter(std::string_view name) { return counter_of(*gw_, name).value_or(0); }
  uint64_t drops() {
    uint64_t total = 0;
    for (const auto& c : gw_->counters())
      if (c.name.rfind("drop_", 0) == 0) total += c.value;
    return total;
  }
  Bytes from_host(const Bytes& ip) { return ether(mac(site_->inside.a), kHostMac, RTE_ETHER_TYPE_IPV4, ip); }
  Bytes from_peer(const Bytes& ip) { return ether(mac(site_->outside.a), kPeerMac, RTE_ETHER_TYPE_IPV4, ip); }
  static rte_ether_addr mac(uint16_t port) {
    rte_ether_addr m;
    rte_eth_macaddr_get(port, &m);
    return m;
  }

  unsigned workers_, tunnels_;
  bool spread_;
  EspHarness h_;
  std::optional<RingSite> site_;
  std::unique_ptr<dp::Gateway> gw_;
  std::vector<std::unique_ptr<dp::Worker>> workers_list_;
  std::vector<std::thread> threads_;
  std::vector<std::unique_ptr<dp::SaRuntime>> peer_open_, peer_seal_;
};

// One ESP frame the gateway sent: its sequence number and IV new for its SA, and, opened by the
// peer, the next packet of its flow.
void check_esp(ManyWorkers& t, const Bytes& frame, std::map<uint32_t, std::set<uint64_t>>& seqs,
               std::map<uint32_t, std::set<uint64_t>>& ivs, std::map<uint16_t, uint32_t>& next) {
  REQUIRE(frame.size() > 14 + 20 + 16);
  Bytes esp(frame.begin() + 14, frame.end());
  REQUIRE(esp[9] == IPPROTO_ESP);
  uint32_t spi = uint32_t{esp[20]} << 24 | uint32_t{esp[21]} << 16 | uint32_t{esp[22]} << 8 | esp[23];
  uint32_t seq = uint32_t{esp[24]} << 24 | uint32_t{esp[25]} << 16 | uint32_t{esp[26]} << 8 | esp[27];
  uint64_t iv;
  std::memcpy(&iv, esp.data() + 28, sizeof iv);
  REQUIRE(spi >= kOutboundSpi);
  REQUIRE(spi < kOutboundSpi + t.tunnels_);
  CHECK(seqs[spi].insert(seq).second);  // each sequence number once per SA
  CHECK(ivs[spi].insert(iv).second);    // and each IV
  Processed opened = t.h_.inbound(*t.peer_open_[spi - kOutboundSpi], {esp});
  REQUIRE(opened.good.size() == 1);
  auto [flow, number] = flow_of(opened.good[0]);
  CHECK(number == next[flow]);  // each flow in order
  next[flow] = number + 1;
}

// Outbound: rounds of packets from `flows` flows spread over the tunnels; checks the ESP that
// comes out and returns the packets sent.
uint64_t run_outbound(ManyWorkers& t, unsigned flows, unsigned rounds) {
  std::map<uint32_t, std::set<uint64_t>> seqs, ivs;  // by SPI
  std::map<uint16_t, uint32_t> next;                  // by flow: the packet number expected
  uint64_t sent = 0;
  for (unsigned round = 0; round < rounds; ++round) {
    std::vector<std::pair<Bytes, uint16_t>> frames;  // and each one's flow
    for (unsigned f = 0; f < flows; ++f) {
      unsigned tunnel = f % t.tunnels_;
      for (unsigned k = 0; k < 2; ++k)
        frames.emplace_back(t.from_host(flow_packet(inside_host(tunnel), far_host(tunnel), static_cast<uint16_t>(f),
                                                    round * 2 + k)),
                            static_cast<uint16_t>(f));
    }
    for (size_t at = 0; at < frames.size(); at += kChunk) {
      size_t count = std::min(kChunk, frames.size() - at);
      for (size_t i = at; i < at + count; ++i) t.send(t.site_->inside.b, frames[i].first, frames[i].second);
      sent += count;
      auto out = t.receive_until(t.site_->outside.b, count);
      REQUIRE(out.size() == count);  // zero loss
      for (const Bytes& frame : out) check_esp(t, frame, seqs, ivs, next);
    }
  }
  // None skipped either: with nothing dropped, a spread SA's runs leave no gaps.
  for (const auto& [spi, used] : seqs) CHECK(*used.rbegin() == used.size());
  if (t.spread_) CHECK(t.counter("handed_out_packets") == 0);  // every worker sealed what it met
  return sent;
}

// Inbound: the peer seals rounds of packets of `flows` flows, each flow on one queue; then
// replays one packet of each tunnel it used. Returns {packets sent valid, replays}.
std::pair<uint64_t, uint64_t> run_inbound(ManyWorkers& t, unsigned flows, unsigned rounds) {
  std::map<uint16_t, uint32_t> next;
  std::vector<std::pair<Bytes, uint16_t>> first_of_tunnel(t.tunnels_);
  uint64_t sent = 0;
  for (unsigned round = 0; round < rounds; ++round) {
    std::vector<std::pair<Bytes, uint16_t>> frames;
    for (unsigned f = 0; f < flows; ++f) {
      unsigned tunnel = f % t.tunnels_;
      for (unsigned k = 0; k < 2; ++k) {
        Bytes inner = flow_packet(far_host(tunnel), inside_host(tunnel), static_cast<uint16_t>(f), round * 2 + k);
        Processed sealed = t.h_.outbound(*t.peer_seal_[tunnel], {inner});
        REQUIRE(sealed.good.size() == 1);
        if (first_of_tunnel[tunnel].first.empty()) first_of_tunnel[tunnel] = {sealed.good[0], static_cast<uint16_t>(f)};
        frames.emplace_back(t.from_peer(sealed.good[0]), static_cast<uint16_t>(f));
      }
    }
    for (size_t at = 0; at < frames.size(); at += kChunk) {
      size_t count = std::min(kChunk, frames.size() - at);
      for (size_t i = at; i < at + count; ++i) t.send(t.site_->outside.b, frames[i].first, frames[i].second);
      sent += count;
      auto out = t.receive_until(t.site_->inside.b, count);
      REQUIRE(out.size() == count);  // nothing valid dropped, though the owner meets them out of order
      for (const Bytes& frame : out) {
        auto [flow, number] = flow_of(Bytes(frame.begin() + 14, frame.end()));
        CHECK(number == next[flow]);
        next[flow] = number + 1;
      }
    }
  }
  uint64_t replays = 0;
  for (const auto& [packet, flow] : first_of_tunnel) {
    if (packet.empty()) continue;
    t.send(t.site_->outside.b, t.from_peer(packet), static_cast<uint16_t>(flow + 1));  // another queue, same SA
    ++replays;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (t.counter("drop_replay") < replays && std::chrono::steady_clock::now() < deadline) {
    t.gw_->control_poll();
    std::this_thread::yield();
  }
  CHECK(t.counter("drop_replay") == replays);
  CHECK(t.receive(t.site_->inside.b).empty());
  return {sent, replays};
}

void check_run(ManyWorkers& t, unsigned flows, unsigned rounds) {
  uint64_t out = run_outbound(t, flows, rounds);
  auto [in, replays] = run_inbound(t, flows, rounds);
  t.stop();  // the counters settle
  CHECK(t.counter("rx_packets") == out + in + replays);
  CHECK(t.counter("esp_out_packets") == out);
  CHECK(t.counter("esp_in_packets") == in);
  CHECK(t.counter("tx_packets") == out + in);
  CHECK(t.drops() == replays);  // the replays, and nothing else
  uint64_t handed_out = t.counter("handed_out_packets");
  CHECK(handed_out == t.counter("handed_in_packets"));
  if (t.workers_ > 1) CHECK(handed_out > 0);  // inbound, spread or not: one SA's window has one writer
  // Every SA with one owner, spread evenly.
  unsigned owned = 0, most = 0, least = UINT32_MAX;
  for (const auto& w : t.gw_->worker_snapshot()) {
    owned += w.owned_sas;
    most = std::max(most, w.owned_sas);
    least = std::min(least, w.owned_sas);
  }
  CHECK(owned == 2 * t.tunnels_);
  CHECK(most - least <= 2);  // each direction spread to within one
  uint64_t sa_packets = 0;
  for (const auto& s : t.gw_->sa_snapshot()) {
    sa_packets += s.packets;  // a spread SA's tallies summed
    CHECK(s.spread == (t.spread_ && t.workers_ > 1 && s.params->direction == dp::SaDirection::kOutbound));
  }
  CHECK(sa_packets == out + in);
}

}  // namespace

TEST_CASE("many workers, one tunnel: every flow handed to the SA's owner, in order, nothing lost or repeated",
          "[dp][workers]") {
  auto workers = GENERATE(2u, 3u, 4u);
  INFO(workers << " workers");
  ManyWorkers t(workers, 1);
  check_run(t, 64, 8);
}

TEST_CASE("many workers, 1,000 tunnels: owners spread, sequence numbers and IVs unique per SA, windows exact",
          "[dp][workers]") {
  auto workers = GENERATE(2u, 3u, 4u);
  INFO(workers << " workers");
  ManyWorkers t(workers, 1000);
  check_run(t, 1000, 2);
}

TEST_CASE("many workers, one spread tunnel: sealed wherever it arrives, sequence numbers reserved a run at a time",
          "[dp][workers]") {
  auto workers = GENERATE(2u, 3u, 4u);
  INFO(workers << " workers");
  ManyWorkers t(workers, 1, /*spread=*/true);
  check_run(t, 64, 8);
}

TEST_CASE("many workers, 1,000 spread tunnels: no outbound hand-off, every SA's numbers once", "[dp][workers]") {
  ManyWorkers t(3, 1000, /*spread=*/true);
  check_run(t, 1000, 2);
}
