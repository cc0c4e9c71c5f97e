#include "bench/harness/scaling_mode.hpp"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_pause.h>

#include <pthread.h>
#include <sched.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "dataplane/esp_outbound.hpp"

namespace rampart::bench {

namespace {

const rte_ether_addr kPeerMac{{0x02, 0, 0, 0, 0, 0x02}};
const rte_ether_addr kHostMac{{0x02, 0, 0, 0, 0, 0x10}};
constexpr unsigned kPacketsPerWorkerRound = 2000;  // per worker; one ring port queue holds 4095
constexpr unsigned kMaxQueuePackets = 4000;

}  // namespace

ScalingRig::ScalingRig(const RunConfig& config, unsigned workers, rte_mempool* pool, int only_queue)
    : config_(config), flows_(config_), workers_(workers), only_queue_(only_queue), pool_(pool) {
  static unsigned rigs = 0;
  std::string tag = "rs" + std::to_string(rigs++);
  auto queues = static_cast<uint16_t>(workers);
  in_ = dp::create_ring_port_pair(tag + "_in", SOCKET_ID_ANY, queues).value();
  out_ = dp::create_ring_port_pair(tag + "_out", SOCKET_ID_ANY, queues).value();
  if (!dp::start_port(in_.b, pool_, queues) || !dp::start_port(out_.b, pool_, queues)) std::abort();
  // The same gateway as the one-worker rows (PipelineRig), IPv4 tunnel, with W workers.
  dp::GatewaySpec spec;
  for (unsigned w = 0; w < workers; ++w) spec.worker_lcores.push_back(1 + w);
  spec.mbufs = 8191;
  spec.burst = config.burst;
  spec.max_sas = 2 * config.sas + 16;
  spec.ports = {dp::ipv4_port("inside", in_.a_name, dp::PortRole::kProtected, {RTE_IPV4(192, 0, 2, 1), 24}),
                dp::ipv4_port("outside", out_.a_name, dp::PortRole::kPublic, {RTE_IPV4(198, 51, 100, 1), 24}, 9000)};
  dp::NeighbourSpec peer, host;
  std::memcpy(peer.mac.data(), kPeerMac.addr_bytes, 6);
  std::memcpy(host.mac.data(), kHostMac.addr_bytes, 6);
  spec.routes = {dp::ipv4_route({RTE_IPV4(198, 18, 0, 0), 15}, RTE_IPV4(198, 51, 100, 2), 1)};
  peer.address = RTE_IPV4(198, 51, 100, 2);
  host.address = RTE_IPV4(192, 0, 2, 10);
  spec.neighbours = {peer, host};
  for (unsigned i = 0; i < config.sas; ++i) {
    spec.sas.push_back(flows_.sa(i, dp::SaDirection::kOutbound, false));
    spec.sas.back().spread = config.spread;
    spec.sas.push_back(flows_.sa(i, dp::SaDirection::kInbound, false));
    spec.policies.push_back(flows_.policy(i, dp::SaDirection::kOutbound));
    spec.policies.push_back(flows_.policy(i, dp::SaDirection::kInbound));
  }
  auto gw = dp::Gateway::create(spec);
  if (!gw) {
    std::fprintf(stderr, "rampart-bench: %s\n", gw.message().c_str());
    std::exit(1);
  }
  gw_ = std::move(*gw);
  mb_ = std::make_unique<crypto::MbManager>(crypto::MbManager::create().value());
  for (unsigned i = 0; i < config.sas; ++i)
    peer_.push_back(std::move(dp::create_sa(*mb_, flows_.sa(i, dp::SaDirection::kOutbound, true)).value()));
  rte_eth_macaddr_get(in_.a, &inside_mac_);
  rte_eth_macaddr_get(out_.a, &outside_mac_);
  slots_ = std::make_unique<WorkerSlot[]>(workers);
  for (unsigned w = 0; w < workers; ++w)
    worker_list_.push_back(std::make_unique<dp::Worker>(gw_->attach_worker(w), crypto::MbManager::create().value()));
  for (unsigned w = 0; w < workers; ++w) threads_.emplace_back([this, w] { worker_loop(w); });
}

ScalingRig::~ScalingRig() {
  quit_.store(true, std::memory_order_release);
  round_.fetch_add(1, std::memory_order_release);
  round_.notify_all();
  for (auto& t : threads_) t.join();
  gw_->shutdown();
  dp::close_ring_port_pair(in_);
  dp::close_ring_port_pair(out_);
  worker_list_.clear();
  gw_.reset();
}

// A multiplicative hash, so that which queue a flow lands on has nothing to do with which
// worker owns its SA (SA owners go round robin, as flows go to SAs).
uint16_t ScalingRig::queue_of(uint64_t flow) const noexcept {
  if (only_queue_ >= 0) return static_cast<uint16_t>(only_queue_);
  return static_cast<uint16_t>(((flow * 2654435761u) >> 16) % workers_);
}

void ScalingRig::worker_loop(unsigned w) {
  // A CPU of its own, as an lcore would have (a thread inherits the EAL main thread's CPU 0):
  // worker w on CPU w + 1, around the machine; this thread sleeps while they run.
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  CPU_SET((w + 1) % std::max(1u, std::thread::hardware_concurrency()), &cpus);
  pthread_setaffinity_np(pthread_self(), sizeof cpus, &cpus);
  dp::Worker& worker = *worker_list_[w];
  WorkerSlot& slot = slots_[w];
  uint64_t done = 0;
  for (;;) {
    // Asleep between rounds: the rigs of every worker count exist at once, and only one runs.
    round_.wait(done, std::memory_order_acquire);
    if (quit_.load(std::memory_order_acquire)) return;
    uint64_t round = round_.load(std::memory_order_acquire);
    slot.woke_tsc.store(rte_rdtsc(), std::memory_order_relaxed);
    uint16_t sink = direction_ == Direction::kOutbound ? out_.b : in_.b;
    uint64_t target = target_.load(std::memory_order_relaxed);
    uint64_t stalled_since = rte_rdtsc();
    for (;;) {
      worker.poll_once();
      rte_mbuf* m[64];
      uint16_t n, taken = 0;
      while ((n = rte_eth_rx_burst(sink, static_cast<uint16_t>(w), m, 64)) > 0) {
        rte_pktmbuf_free_bulk(m, n);
        taken = static_cast<uint16_t>(taken + n);
      }
      uint64_t now = rte_rdtsc();
      if (taken) {
        slot.out.store(slot.out.load(std::memory_order_relaxed) + taken, std::memory_order_relaxed);
        slot.last_tsc.store(now, std::memory_order_relaxed);
      }
      uint64_t total = 0;
      for (unsigned k = 0; k < workers_; ++k) total += slots_[k].out.load(std::memory_order_relaxed);
      if (total >= target) break;
      if (taken || total == 0) stalled_since = now;
      // Something was dropped (counted): nobody will see the target. Half a second with nothing new.
      if (now - stalled_since > rte_get_tsc_hz() / 2) break;
    }
    done = round;
    slot.done_round.store(round, std::memory_order_release);
    slot.done_round.notify_one();
  }
}

uint64_t ScalingRig::counter(std::string_view name) const {
  for (const auto& c : gw_->counters())
    if (c.name == name) return c.value;
  return 0;
}

ScalingMeasurement ScalingRig::run(Direction direction, const SizeSpec& size, double seconds) {
  ScalingMeasurement m;
  bool outbound = direction == Direction::kOutbound;
  direction_ = direction;  // before the release below, which publishes it
  uint64_t dropped_before = 0, busy_before = counter("busy_cycles"), handed_before = counter("handed_out_packets");
  for (const auto& c : gw_->counters())
    if (c.name.rfind("drop_", 0) == 0) dropped_before += c.value;
  CounterTable peer_drops(dp::kDropReasonDefs, 1);
  dp::EspContext peer{mb_.get(), &peer_drops.lane(0), nullptr};
  uint64_t budget = static_cast<uint64_t>(seconds * static_cast<double>(rte_get_tsc_hz()));
  uint64_t flow = 0;
  unsigned per_round = std::min(kPacketsPerWorkerRound * workers_, only_queue_ >= 0 ? kMaxQueuePackets : UINT32_MAX);
  std::vector<std::vector<rte_mbuf*>> queued(workers_);
  while (m.wall_cycles < budget) {
    for (auto& q : queued) q.clear();
    for (unsigned i = 0; i < per_round; ++i, ++flow) {
      rte_mbuf* p = rte_pktmbuf_alloc(pool_);
      if (p == nullptr) {
        std::fprintf(stderr, "rampart-bench: pool empty (%u in use, round of %u)\n", rte_mempool_in_use_count(pool_), per_round);
        std::abort();
      }
      uint16_t length = size.lengths[flow % size.lengths.size()];
      m.ip_bytes += length;
      auto* inner = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(p, length));
      flows_.inner_packet(inner, length, static_cast<unsigned>(flow), outbound);
      if (!outbound) {  // the peer seals it: our inbound pipeline opens it
        dp::Burst one;
        one.pkts[0] = p;
        one.sa[0] = peer_[flow % config_.sas].get();
        one.count = 1;
        if (dp::esp_outbound_burst(peer, one) != 1) {
          std::fprintf(stderr, "rampart-bench: the peer could not seal\n");
          std::abort();
        }
      }
      auto* eth = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(p, 14));
      std::memcpy(eth, (outbound ? inside_mac_ : outside_mac_).addr_bytes, 6);
      std::memcpy(eth + 6, (outbound ? kHostMac : kPeerMac).addr_bytes, 6);
      eth[12] = RTE_ETHER_TYPE_IPV4 >> 8;
      eth[13] = RTE_ETHER_TYPE_IPV4 & 0xff;
      queued[queue_of(flow)].push_back(p);
    }
    uint16_t from = outbound ? in_.b : out_.b;
    for (uint16_t q = 0; q < workers_; ++q) {
      auto& pkts = queued[q];
      for (size_t at = 0; at < pkts.size();) {
        uint16_t sent = rte_eth_tx_burst(from, q, pkts.data() + at, static_cast<uint16_t>(std::min<size_t>(64, pkts.size() - at)));
        if (sent == 0) {  // the round fits the queue
          std::fprintf(stderr, "rampart-bench: queue %u took none of %zu (round of %u)\n", q, pkts.size() - at, per_round);
          std::abort();
        }
        at += sent;
      }
    }
    m.sent += per_round;
    uint64_t out_before = 0;
    for (unsigned w = 0; w < workers_; ++w) out_before += slots_[w].out.load(std::memory_order_relaxed);
    target_.store(out_before + per_round, std::memory_order_relaxed);
    uint64_t round = round_.load(std::memory_order_relaxed) + 1;
    round_.store(round, std::memory_order_release);  // the workers go
    round_.notify_all();
    // The round runs from the first worker awake to the last packet out.
    uint64_t start = UINT64_MAX, end = 0;
    for (unsigned w = 0; w < workers_; ++w) {
      for (uint64_t seen; (seen = slots_[w].done_round.load(std::memory_order_acquire)) != round;)
        slots_[w].done_round.wait(seen);  // asleep: the workers have the CPUs
      start = std::min(start, slots_[w].woke_tsc.load(std::memory_order_relaxed));
      end = std::max(end, slots_[w].last_tsc.load(std::memory_order_relaxed));
    }
    m.wall_cycles += end > start ? end - start : 0;
    uint64_t out_after = 0;
    for (unsigned w = 0; w < workers_; ++w) out_after += slots_[w].out.load(std::memory_order_relaxed);
    m.packets += out_after - out_before;
    if (out_after == out_before) {  // everything dropped: say why instead of spinning on
      std::fprintf(stderr, "rampart-bench: %u workers: a round of %u packets gave none out:", workers_, per_round);
      for (const auto& c : gw_->counters())
        if (c.value != 0) std::fprintf(stderr, " %s=%llu", std::string(c.name).c_str(), static_cast<unsigned long long>(c.value));
      std::fprintf(stderr, "\n");
      break;
    }
  }
  uint64_t dropped_after = 0;
  for (const auto& c : gw_->counters())
    if (c.name.rfind("drop_", 0) == 0) dropped_after += c.value;
  m.dropped = dropped_after - dropped_before;
  m.busy_cycles = counter("busy_cycles") - busy_before;
  m.handed = counter("handed_out_packets") - handed_before;
  return m;
}

}  // namespace rampart::bench
