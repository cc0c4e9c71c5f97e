// update-bench: how fast the control core installs and removes SAs through the workers' update
// rings while a worker forwards traffic, what that costs the worker, and memory per SA.
// The worker runs on its own lcore (1) in a loop, as in rampartd; this thread (lcore 0) is the
// control core and the traffic generator: it keeps the worker's rx ring full of 64-byte packets
// for one protected SA (the worst case for a dip: the most packets per second) and, between
// refills, installs SAs in chunks. Phases: forwarding alone, installing N SAs (half outbound,
// half inbound, each a new name and SPI), forwarding alone again, removing them. The worker's
// rate in each phase comes from its own counters; the dip is the install phase against the mean
// of the two quiet phases. Memory per SA is the heap growth over the install phase (glibc
// mallinfo2) divided by N; the tables sized by max_sas (SAD, slot arrays) are reported apart.
#include <malloc.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "dataplane/eal.hpp"
#include "dataplane/gateway.hpp"
#include "dataplane/port.hpp"
#include "dataplane/worker.hpp"
#include "tests/support/specs.hpp"

namespace {

using namespace rampart;

using test::ip4;
using test::kHostMac;
using test::kPeerMac;
constexpr unsigned kChunk = 32;         // installs between two refills of the worker's rx ring
constexpr unsigned kPacket = 64;        // inner IP length

// The tunnel's SAs: 198.51.100.1 <-> 198.51.100.2.
dp::SaParams sa(const std::string& name, uint32_t spi, dp::SaDirection direction) {
  bool out = direction == dp::SaDirection::kOutbound;
  uint32_t us = test::ip4(198, 51, 100, 1), peer = test::ip4(198, 51, 100, 2);
  return test::tunnel_sa(name, spi, direction, out ? us : peer, out ? peer : us, 1024);
}

int worker_main(void* worker) {
  static_cast<dp::Worker*>(worker)->run();
  return 0;
}

class UpdateBench {
 public:
  UpdateBench(unsigned sa_count, rte_mempool* pool) : pool_(pool), sa_count_(sa_count) {
    in_ = dp::create_ring_port_pair("ub_in", SOCKET_ID_ANY).value();
    out_ = dp::create_ring_port_pair("ub_out", SOCKET_ID_ANY).value();
    if (!dp::start_port(in_.b, pool_, 1) || !dp::start_port(out_.b, pool_, 1)) std::abort();
    dp::GatewaySpec spec;
    spec.worker_lcores = {1};
    spec.mbufs = 8191;
    spec.max_sas = sa_count + 16;
    spec.ports = {dp::ipv4_port("inside", in_.a_name, dp::PortRole::kProtected, {ip4(192, 0, 2, 1), 24}),
                  dp::ipv4_port("outside", out_.a_name, dp::PortRole::kPublic, {ip4(198, 51, 100, 1), 24})};
    spec.routes = {dp::ipv4_route({ip4(203, 0, 113, 0), 24}, ip4(198, 51, 100, 2), 1)};
    spec.sas = {sa("tunnel", 0x1001, dp::SaDirection::kOutbound)};
    dp::PolicySpec protect;
    protect.name = "tunnel";
    protect.source = {ip4(192, 0, 2, 0), 24};
    protect.destination = {ip4(203, 0, 113, 0), 24};
    protect.action = dp::PolicyAction::kProtect;
    protect.sa = "tunnel";
    spec.policies = {protect};
    dp::NeighbourSpec peer;
    peer.address = ip4(198, 51, 100, 2);
    std::memcpy(peer.mac.data(), kPeerMac.addr_bytes, 6);
    spec.neighbours = {peer};
    gw_ = std::move(dp::Gateway::create(spec).value());
    rte_eth_macaddr_get(in_.a, &inside_mac_);
    worker_ = std::make_unique<dp::Worker>(gw_->attach_worker(0), crypto::MbManager::create().value());
    if (rte_eal_remote_launch(worker_main, worker_.get(), 1) != 0) std::abort();
  }
  ~UpdateBench() {
    gw_->stop();
    rte_eal_wait_lcore(1);
    drain();
    worker_.reset();
    gw_->control_poll();
    gw_->shutdown();
    dp::close_ring_port_pair(in_);
    dp::close_ring_port_pair(out_);
    gw_.reset();
  }

  struct Phase {
    double seconds;
    double worker_mpps;
    unsigned changes;
    double worker_busy;    // share of the worker's time on passes that moved packets
    double worker_cycles;  // busy cycles per packet: what updates cost the worker itself
  };

  // Forwards for `seconds` while applying `change(i)` for i in [0, changes) in chunks; returns
  // when both are done.
  template <typename Change>
  Phase run(double seconds, unsigned changes, Change change) {
    uint64_t hz = rte_get_tsc_hz();
    uint64_t start = rte_get_tsc_cycles(), min_end = start + static_cast<uint64_t>(seconds * static_cast<double>(hz));
    uint64_t before = esp_out();
    auto load_before = gw_->worker_snapshot()[0];
    unsigned done = 0;
    for (;;) {
      refill();
      for (unsigned c = 0; c < kChunk && done < changes; ++c) change(done++);
      gw_->control_poll();
      if (done == changes && rte_get_tsc_cycles() >= min_end) break;
    }
    double secs = static_cast<double>(rte_get_tsc_cycles() - start) / static_cast<double>(hz);
    auto load = gw_->worker_snapshot()[0];
    double busy = static_cast<double>(load.busy_cycles - load_before.busy_cycles);
    double idle = static_cast<double>(load.idle_cycles - load_before.idle_cycles);
    double packets = static_cast<double>(esp_out() - before);
    return {secs, packets / secs / 1e6, done, busy / (busy + idle), busy / packets};
  }

  uint64_t drops() const {
    uint64_t n = 0;
    for (const auto& c : gw_->counters())
      if (c.name.rfind("drop_", 0) == 0) n += c.value;
    return n;
  }
  dp::Gateway& gateway() { return *gw_; }

 private:
  uint64_t esp_out() const {
    for (const auto& c : gw_->counters())
      if (c.name == "esp_out_packets") return c.value;
    return 0;
  }
  // Keeps the worker's rx ring nearly full of fresh frames and frees what it sent.
  void refill() {
    drain();
    unsigned room = rte_ring_free_count(in_.b_to_a[0]);
    while (room >= 32) {
      rte_mbuf* m[32];
      if (rte_pktmbuf_alloc_bulk(pool_, m, 32) != 0) return;
      for (rte_mbuf* mb : m) {
        auto* f = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(mb, 14 + kPacket));
        std::memcpy(f, frame_template(), 14 + kPacket);
      }
      uint16_t sent = rte_eth_tx_burst(in_.b, 0, m, 32);
      if (sent < 32) rte_pktmbuf_free_bulk(m + sent, 32 - sent);
      room -= 32;
    }
  }
  void drain() {
    rte_mbuf* m[64];
    uint16_t n;
    while ((n = rte_eth_rx_burst(out_.b, 0, m, 64)) > 0) rte_pktmbuf_free_bulk(m, n);
  }
  const uint8_t* frame_template() {
    if (template_[0] == 0 && template_[12] == 0) {
      std::memcpy(template_, inside_mac_.addr_bytes, 6);
      std::memcpy(template_ + 6, kHostMac.addr_bytes, 6);
      template_[12] = 0x08;
      auto* ip = reinterpret_cast<rte_ipv4_hdr*>(template_ + 14);
      ip->version_ihl = 0x45;
      ip->total_length = rte_cpu_to_be_16(kPacket);
      ip->time_to_live = 64;
      ip->next_proto_id = IPPROTO_UDP;
      ip->src_addr = rte_cpu_to_be_32(ip4(192, 0, 2, 10));
      ip->dst_addr = rte_cpu_to_be_32(ip4(203, 0, 113, 10));
      ip->hdr_checksum = rte_ipv4_cksum(ip);
    }
    return template_;
  }

  rte_mempool* pool_;
  unsigned sa_count_;
  dp::PortPair in_{}, out_{};
  rte_ether_addr inside_mac_{};
  std::unique_ptr<dp::Gateway> gw_;
  std::unique_ptr<dp::Worker> worker_;
  uint8_t template_[14 + kPacket] = {};
};

}  // namespace

int main(int argc, char** argv) {
  unsigned count = 100000;
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--sas" && i + 1 < argc) count = static_cast<unsigned>(std::stoul(argv[++i]));
  std::string prefix = "rampart_update_bench_" + std::to_string(getpid());
  if (!dp::eal_init(dp::eal_args_without_hugepages(prefix, "0,1"))) {
    std::fprintf(stderr, "update-bench: EAL needs lcores 0 and 1\n");
    return 1;
  }
  auto pool = dp::create_packet_pool("ub_pool", 16383, static_cast<int>(rte_socket_id()));
  if (!pool) return 1;
  int status = 0;
  {
    UpdateBench bench(count, *pool);
    auto none = [](unsigned) {};
    auto quiet1 = bench.run(1.0, 0, none);
    size_t heap_before = mallinfo2().uordblks;
    auto install = bench.run(0, count, [&](unsigned i) {
      bool out = i % 2 == 0;
      auto r = bench.gateway().install_sa(sa("b" + std::to_string(i), 0x100000 + i,
                                             out ? dp::SaDirection::kOutbound : dp::SaDirection::kInbound));
      if (!r) {
        std::fprintf(stderr, "install %u: %s\n", i, r.message().c_str());
        std::exit(1);
      }
    });
    double heap_per_sa = static_cast<double>(mallinfo2().uordblks - heap_before) / count;
    auto quiet2 = bench.run(1.0, 0, none);
    auto remove = bench.run(0, count, [&](unsigned i) {
      if (!bench.gateway().remove_sa("b" + std::to_string(i))) std::exit(1);
    });
    auto quiet3 = bench.run(0.5, 0, none);  // lets the last removals' grace periods pass
    double quiet = (quiet1.worker_mpps + quiet2.worker_mpps) / 2;
    std::printf("update-bench: one worker on lcore 1 forwarding 64-byte packets (AES-128-GCM tunnel) while the\n"
                "control core on lcore 0 installs and removes %u SAs through the update rings\n\n", count);
    std::printf("%-18s %8s %11s %12s %8s %12s %11s\n", "phase", "seconds", "changes/s", "worker Mpps", "dip",
                "worker busy", "cycles/pkt");
    auto row = [&](const char* name, const UpdateBench::Phase& p) {
      double rate = p.changes ? p.changes / p.seconds : 0;
      std::printf("%-18s %8.3f %11.0f %12.2f %7.2f%% %11.1f%% %11.0f\n", name, p.seconds, rate, p.worker_mpps,
                  100.0 * (1 - p.worker_mpps / quiet), 100 * p.worker_busy, p.worker_cycles);
    };
    row("forwarding only", quiet1);
    row("installing", install);
    row("forwarding only", quiet2);
    row("removing", remove);
    row("forwarding only", quiet3);
    std::printf("\nheap per SA (SaRuntime with its replay window or template, records, maps): %.0f bytes\n",
                heap_per_sa);
    std::printf("sized by max_sas (%u): SAD entry ~%zu bytes x 2 per SA, worker slot array %zu bytes per SA per "
                "worker\n", count + 16, sizeof(uint32_t) + sizeof(void*) + 32, sizeof(void*));
    std::printf("sizeof(SaRuntime) %zu, drops during the run %llu, reclaims pending %zu\n", sizeof(dp::SaRuntime),
                static_cast<unsigned long long>(bench.drops()), bench.gateway().pending_reclaims());
    for (const auto& c : bench.gateway().counters())
      if (c.name.rfind("drop_", 0) == 0 && c.value != 0)
        std::printf("  %s %llu\n", std::string(c.name).c_str(), static_cast<unsigned long long>(c.value));
  }
  dp::eal_cleanup(prefix);
  return status;
}
