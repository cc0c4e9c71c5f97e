#include "bench/harness/dut_mode.hpp"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "dataplane/drop_reason.hpp"
#include "dataplane/esp_inbound.hpp"
#include "dataplane/esp_outbound.hpp"
#include "dataplane/port.hpp"
#include "dataplane/sa.hpp"

namespace rampart::bench {

namespace {

constexpr unsigned kBurst = 32;
// The stand-in DUT's bucket holds 10 ms of its rate: enough to ride out the scheduling stalls of
// a shared machine, little enough that a 1 s trial sees the limit within 1%.
constexpr double kBucketSeconds = 0.01;
constexpr uint32_t kMagic = 0x52424454;  // "RBDT"
constexpr unsigned kEthernet = 14;
constexpr unsigned kStampAt = 20 + 8;  // after IPv4 and UDP
constexpr size_t kMaxSamples = 1u << 21;

struct Stamp {
  uint32_t magic;
  uint32_t run;
  uint64_t seq;
  uint64_t tsc;
};

std::array<double, 5> percentiles(std::vector<uint64_t>& cycles) {
  std::array<double, 5> out{};
  if (cycles.empty()) return out;
  std::sort(cycles.begin(), cycles.end());
  double us = 1e6 / static_cast<double>(rte_get_tsc_hz());
  const double points[] = {0.5, 0.9, 0.99, 0.999};
  for (size_t i = 0; i < 4; ++i) {
    size_t at = std::min(cycles.size() - 1, static_cast<size_t>(points[i] * static_cast<double>(cycles.size())));
    out[i] = static_cast<double>(cycles[at]) * us;
  }
  out[4] = static_cast<double>(cycles.back()) * us;
  return out;
}

}  // namespace

DutRig::DutRig(const DutConfig& config, rte_mempool* pool) : config_(config), pool_(pool) {
  if (!config_.seal && !config_.open) return;
  mb_.emplace(crypto::MbManager::create().value());
  drops_ = std::make_unique<CounterTable>(std::span(dp::kDropReasonDefs), 1);
  esp_ = dp::EspContext{&*mb_, &drops_->lane(0), nullptr};
  if (config_.seal) seal_sa_ = dp::create_sa(*mb_, *config_.seal).value();
  if (config_.open) open_sa_ = dp::create_sa(*mb_, *config_.open).value();
}

// One ESP stage over m[0, n) without their Ethernet headers: the good ones move to the front,
// the rest are freed.
uint16_t DutRig::stage(rte_mbuf** m, uint16_t n, dp::SaRuntime* sa, uint16_t (*esp)(dp::EspContext&, dp::Burst&) noexcept) {
  dp::Burst b;
  for (uint16_t i = 0; i < n; ++i) {
    rte_pktmbuf_adj(m[i], kEthernet);
    b.pkts[b.count] = m[i];
    b.sa[b.count++] = sa;
  }
  uint16_t good = esp(esp_, b);
  if (good < b.count) rte_pktmbuf_free_bulk(b.pkts + good, b.count - good);
  for (uint16_t i = 0; i < good; ++i) m[i] = b.pkts[i];
  return good;
}

unsigned DutRig::seal(rte_mbuf** m, unsigned k) {
  uint16_t good = stage(m, static_cast<uint16_t>(k), seal_sa_.get(), dp::esp_outbound_burst);
  for (uint16_t i = 0; i < good; ++i) {
    // The sealed frame gets its Ethernet header back (the stage prepended the outer headers).
    auto* eth = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m[i], kEthernet));
    if (eth == nullptr) std::abort();  // the stage leaves headroom for this
    std::memcpy(eth, config_.destination_mac.data(), 6);
    rte_ether_addr own{};
    rte_eth_macaddr_get(config_.tx_port, &own);
    std::memcpy(eth + 6, own.addr_bytes, 6);
    eth[12] = seal_sa_->params.family == dp::IpFamily::kIpv6 ? 0x86 : 0x08;
    eth[13] = seal_sa_->params.family == dp::IpFamily::kIpv6 ? 0xdd : 0x00;
  }
  return good;
}

uint16_t DutRig::open(rte_mbuf** m, uint16_t n) { return stage(m, n, open_sa_.get(), dp::esp_inbound_burst); }

Trial DutRig::run(uint16_t length, double pps) {
  if (!warmed_up_) {  // first touches of the pool and the DUT's paths, unreported (as CSIT warms up)
    warmed_up_ = true;
    DutConfig real = config_;
    config_.seconds = std::min(0.1, config_.seconds);
    run(length, pps);
    config_ = real;
  }
  Trial t;
  t.offered_pps = pps;
  const uint32_t run = ++run_id_;
  uint8_t frame[14 + 1518] = {};
  std::memcpy(frame, config_.destination_mac.data(), 6);
  rte_ether_addr own{};
  rte_eth_macaddr_get(config_.tx_port, &own);
  std::memcpy(frame + 6, own.addr_bytes, 6);
  frame[12] = 0x08;
  write_ipv4_udp(frame + 14, length, config_.source, config_.destination);
  std::vector<uint64_t> latency;
  latency.reserve(std::min<size_t>(kMaxSamples, static_cast<size_t>(pps * config_.seconds) + 1));
  const uint64_t hz = rte_get_tsc_hz();
  const uint64_t start = rte_get_tsc_cycles();
  const uint64_t end = start + static_cast<uint64_t>(config_.seconds * static_cast<double>(hz));
  const uint64_t drain_end = end + static_cast<uint64_t>(config_.drain_seconds * static_cast<double>(hz));
  auto receive = [&] {
    rte_mbuf* m[kBurst];
    uint16_t n = rte_eth_rx_burst(config_.rx_port, 0, m, kBurst);
    uint64_t now = rte_get_tsc_cycles();
    unsigned stamp_at = kEthernet + kStampAt;
    if (open_sa_ && n > 0) {  // ESP from the DUT: what does not open is not ours
      uint16_t opened = open(m, n);
      t.foreign += n - opened;
      n = opened;
      stamp_at = kStampAt;
    }
    for (uint16_t i = 0; i < n; ++i) {
      Stamp s{};
      if (rte_pktmbuf_data_len(m[i]) >= stamp_at + sizeof s)
        std::memcpy(&s, rte_pktmbuf_mtod_offset(m[i], const uint8_t*, stamp_at), sizeof s);
      if (s.magic == kMagic && s.run == run) {
        ++t.received;
        if (latency.size() < kMaxSamples) latency.push_back(now - s.tsc);
      } else {
        ++t.foreign;
      }
    }
    rte_pktmbuf_free_bulk(m, n);
  };
  for (uint64_t now = start; now < end; now = rte_get_tsc_cycles()) {
    // Frames due by now at the offered rate, in bursts of at most 32.
    auto due = static_cast<uint64_t>(static_cast<double>(now - start) * pps / static_cast<double>(hz));
    while (t.sent < due) {
      unsigned k = static_cast<unsigned>(std::min<uint64_t>(kBurst, due - t.sent));
      rte_mbuf* m[kBurst];
      if (rte_pktmbuf_alloc_bulk(pool_, m, k) != 0) break;  // the pool is out: the DUT holds them
      uint64_t stamp_tsc = rte_get_tsc_cycles();
      for (unsigned i = 0; i < k; ++i) {
        auto* f = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m[i], static_cast<uint16_t>(14 + length)));
        std::memcpy(f, frame, 14u + length);
        uint16_t port = static_cast<uint16_t>(1024 + (t.sent + i) % config_.flows);
        f[14 + 20] = static_cast<uint8_t>(port >> 8);
        f[14 + 21] = static_cast<uint8_t>(port);
        Stamp s{kMagic, run, t.sent + i, stamp_tsc};
        std::memcpy(f + kEthernet + kStampAt, &s, sizeof s);
      }
      unsigned ready = seal_sa_ ? seal(m, k) : k;  // sealing takes its time within the stamp
      uint16_t accepted = rte_eth_tx_burst(config_.tx_port, 0, m, static_cast<uint16_t>(ready));
      if (accepted < ready) rte_pktmbuf_free_bulk(m + accepted, ready - accepted);  // offered and lost at the DUT's door
      t.sent += k;
    }
    receive();
  }
  while (rte_get_tsc_cycles() < drain_end) receive();
  t.achieved_pps = static_cast<double>(t.received) / config_.seconds;
  t.latency_us = percentiles(latency);
  return t;
}

Trial DutRig::search(uint16_t length, double max_pps, double max_loss, double precision,
                     const std::function<void(const Trial&)>& on_trial) {
  Trial best;
  Trial first = run(length, max_pps);
  on_trial(first);
  if (first.loss() <= max_loss) return first;
  double low = 0, high = max_pps;
  while (high - low > precision * high) {
    double rate = (low + high) / 2;
    Trial t = run(length, rate);
    on_trial(t);
    if (t.loss() <= max_loss) {
      low = rate;
      best = t;
    } else {
      high = rate;
    }
  }
  return best;
}

struct RateLimitedLoopback::State {
  dp::PortPair in{}, out{};
  std::atomic<bool> stop{false};
  std::thread thread;
};

RateLimitedLoopback::RateLimitedLoopback(double pps, rte_mempool* pool) : state_(new State) {
  static unsigned count = 0;
  std::string tag = "rll" + std::to_string(count++);
  state_->in = dp::create_ring_port_pair(tag + "_in", SOCKET_ID_ANY).value();
  state_->out = dp::create_ring_port_pair(tag + "_out", SOCKET_ID_ANY).value();
  for (uint16_t port : {state_->in.a, state_->in.b, state_->out.a, state_->out.b})
    if (!dp::start_port(port, pool, 1)) std::abort();
  state_->thread = std::thread([s = state_, pps] {
    // Threads start with the EAL main thread's affinity (one CPU): the stand-in DUT gets its own
    // core where there is one, as a real DUT would.
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    for (long c = online > 1 ? 1 : 0; c < online && c < CPU_SETSIZE; ++c) CPU_SET(static_cast<int>(c), &cpus);
    pthread_setaffinity_np(pthread_self(), sizeof cpus, &cpus);
    const double hz = static_cast<double>(rte_get_tsc_hz());
    double tokens = 0;
    uint64_t last = rte_get_tsc_cycles();
    while (!s->stop.load(std::memory_order_relaxed)) {
      rte_mbuf* m[kBurst];
      uint16_t n = rte_eth_rx_burst(s->in.b, 0, m, kBurst);
      uint64_t now = rte_get_tsc_cycles();
      tokens = std::min<double>(pps * kBucketSeconds, tokens + static_cast<double>(now - last) * pps / hz);
      last = now;
      auto pass = static_cast<uint16_t>(std::min<double>(n, std::floor(tokens)));
      uint16_t sent = rte_eth_tx_burst(s->out.a, 0, m, pass);
      tokens -= sent;
      if (sent < n) rte_pktmbuf_free_bulk(m + sent, n - sent);  // over the limit: dropped
    }
  });
}

RateLimitedLoopback::~RateLimitedLoopback() {
  state_->stop.store(true);
  state_->thread.join();
  dp::close_ring_port_pair(state_->in);
  dp::close_ring_port_pair(state_->out);
  delete state_;
}

uint16_t RateLimitedLoopback::generator_port() const { return state_->in.a; }
uint16_t RateLimitedLoopback::receiver_port() const { return state_->out.b; }

}  // namespace rampart::bench
