// pipeline-bench: the whole worker pipeline per core (rx burst, parse, SPD or SAD, ESP, inbound
// policy check, route, neighbour, tx burst) over ring-port pairs that cost almost nothing.
// One Gateway, one Worker stepped on this thread; the generator side is untimed: before each
// pass it refills the gateway's rx ring with fresh frames (inbound: freshly sealed ESP, so the
// replay window sees new sequence numbers), and after it drains the tx ring. Only
// Worker::poll_once is timed. Sizes are inner IP packet lengths (64, 512, 1420, IMIX 7:4:1 of
// 64/570/1518); SA counts 1 and 100,000 (one policy per SA, traffic spread over all of them;
// destinations from 198.18.0.0/15, RFC 2544's benchmarking range, never sent to a network).
#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "crypto/mb_manager.hpp"
#include "dataplane/eal.hpp"
#include "dataplane/esp_outbound.hpp"
#include "dataplane/gateway.hpp"
#include "dataplane/port.hpp"
#include "dataplane/sa.hpp"
#include "dataplane/worker.hpp"

namespace {

using namespace rampart;

constexpr uint32_t ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return RTE_IPV4(a, b, c, d); }
constexpr unsigned kBurst = 32;
constexpr uint32_t kBenchBase = ip4(198, 18, 0, 0);
const rte_ether_addr kPeerMac{{0x02, 0, 0, 0, 0, 0x02}};
const rte_ether_addr kHostMac{{0x02, 0, 0, 0, 0, 0x10}};

dp::SaParams sa_params(uint32_t spi, dp::SaDirection direction, uint32_t index) {
  dp::SaParams p;
  p.spi = spi;
  p.direction = direction;
  p.tunnel_source = direction == dp::SaDirection::kOutbound ? std::array<uint8_t, 16>{198, 51, 100, 1}
                                                            : std::array<uint8_t, 16>{198, 51, 100, 2};
  p.tunnel_destination = direction == dp::SaDirection::kOutbound ? std::array<uint8_t, 16>{198, 51, 100, 2}
                                                                 : std::array<uint8_t, 16>{198, 51, 100, 1};
  for (unsigned k = 0; k < 16; ++k) p.key[k] = std::byte{static_cast<uint8_t>(index * 7 + k)};
  p.replay_window = 1u << 16;
  return p;
}

struct Frame {
  std::vector<uint8_t> bytes;
};

void write_ether(uint8_t* f, const rte_ether_addr& dst, const rte_ether_addr& src) {
  std::memcpy(f, dst.addr_bytes, 6);
  std::memcpy(f + 6, src.addr_bytes, 6);
  f[12] = 0x08;
  f[13] = 0x00;
}

void write_ipv4_udp(uint8_t* p, uint16_t length, uint32_t src, uint32_t dst) {
  std::memset(p, 0, 28);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p);
  ip->version_ihl = 0x45;
  ip->total_length = rte_cpu_to_be_16(length);
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_UDP;
  ip->src_addr = rte_cpu_to_be_32(src);
  ip->dst_addr = rte_cpu_to_be_32(dst);
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  p[20] = 0x04; p[22] = 0x04;
  p[24] = static_cast<uint8_t>((length - 20) >> 8);
  p[25] = static_cast<uint8_t>(length - 20);
}

struct Result_ {
  double mpps, gbps, cycles;
};

class PipelineBench {
 public:
  PipelineBench(unsigned sa_count, rte_mempool* gen_pool) : gen_pool_(gen_pool), sa_count_(sa_count) {
    in_ = dp::create_ring_port_pair("pb_in", SOCKET_ID_ANY).value();
    out_ = dp::create_ring_port_pair("pb_out", SOCKET_ID_ANY).value();
    if (!dp::start_port(in_.b, gen_pool_, 1) || !dp::start_port(out_.b, gen_pool_, 1)) std::abort();
    dp::GatewaySpec spec;
    spec.worker_lcores = {1};
    spec.mbufs = 8191;
    spec.ports = {dp::ipv4_port("inside", in_.a_name, dp::PortRole::kProtected, {ip4(192, 0, 2, 1), 24}),
                  dp::ipv4_port("outside", out_.a_name, dp::PortRole::kPublic, {ip4(198, 51, 100, 1), 24})};
    spec.routes = {dp::ipv4_route({kBenchBase, 15}, ip4(198, 51, 100, 2), 1)};
    spec.max_sas = 2 * sa_count;
    for (uint32_t i = 0; i < sa_count; ++i) {
      spec.sas.push_back(sa_params(0x10000 + i, dp::SaDirection::kOutbound, i));
      spec.sas.back().name = "out" + std::to_string(i);
      spec.sas.push_back(sa_params(0x400000 + i, dp::SaDirection::kInbound, i + 1000000));
      spec.sas.back().name = "in" + std::to_string(i);
      dp::PolicySpec out;
      out.direction = dp::SaDirection::kOutbound;
      out.source = {ip4(192, 0, 2, 0), 24};
      out.destination = sa_count == 1 ? dp::Ipv4Prefix{kBenchBase, 15} : dp::Ipv4Prefix{kBenchBase + i, 32};
      out.action = dp::PolicyAction::kProtect;
      out.sa = "out" + std::to_string(i);
      spec.policies.push_back(out);
      dp::PolicySpec in = out;
      in.direction = dp::SaDirection::kInbound;
      std::swap(in.source, in.destination);
      in.sa = "in" + std::to_string(i);
      spec.policies.push_back(in);
    }
    gw_ = std::move(dp::Gateway::create(spec).value());
    worker_ = std::make_unique<dp::Worker>(*gw_, 0, crypto::MbManager::create().value());
    mb_ = std::make_unique<crypto::MbManager>(crypto::MbManager::create().value());
    for (uint32_t i = 0; i < sa_count; ++i) {  // the peer's outbound SAs: what our inbound SAs open
      dp::SaParams peer = sa_params(0x400000 + i, dp::SaDirection::kOutbound, i + 1000000);
      std::swap(peer.tunnel_source, peer.tunnel_destination);
      peer_.push_back(std::move(dp::create_sa(*mb_, peer).value()));
    }
    learn(out_.b, kPeerMac, ip4(198, 51, 100, 2), ip4(198, 51, 100, 1));
    learn(in_.b, kHostMac, ip4(192, 0, 2, 10), ip4(192, 0, 2, 1));
  }
  ~PipelineBench() {
    drain(in_.b);
    drain(out_.b);
    gw_->shutdown();
    dp::close_ring_port_pair(in_);
    dp::close_ring_port_pair(out_);
    worker_.reset();  // it detaches from the gateway
    gw_.reset();
  }

  Result_ run(bool outbound, const std::vector<uint16_t>& sizes, unsigned bursts) {
    uint64_t cycles = 0, packets = 0, bytes = 0;
    uint64_t flow = 0;
    for (unsigned b = 0; b < bursts; ++b) {
      rte_mbuf* m[kBurst];
      if (rte_pktmbuf_alloc_bulk(gen_pool_, m, kBurst) != 0) std::abort();
      for (unsigned i = 0; i < kBurst; ++i, ++flow) {
        uint16_t length = sizes[flow % sizes.size()];
        uint32_t sa = static_cast<uint32_t>(flow % sa_count_);
        bytes += length;
        if (outbound) {
          auto* f = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m[i], static_cast<uint16_t>(14 + length)));
          write_ether(f, port_mac(in_.a), kHostMac);
          write_ipv4_udp(f + 14, length, ip4(192, 0, 2, 10), kBenchBase + sa);
        } else {
          // The peer seals a packet for us (untimed): our inbound pipeline opens it.
          auto* inner = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m[i], length));
          write_ipv4_udp(inner, length, kBenchBase + sa, ip4(192, 0, 2, 10));
          dp::Burst one;
          one.pkts[0] = m[i];
          one.sa[0] = peer_[sa].get();
          one.count = 1;
          CounterTable drops(dp::kDropReasonDefs, 1);
          dp::EspContext ctx{mb_.get(), &drops.lane(0), nullptr};
          if (dp::esp_outbound_burst(ctx, one) != 1) std::abort();
          auto* eth = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m[i], 14));
          write_ether(eth, port_mac(out_.a), kPeerMac);
        }
      }
      uint16_t from = outbound ? in_.b : out_.b;
      if (rte_eth_tx_burst(from, 0, m, kBurst) != kBurst) std::abort();
      uint64_t t0 = rte_rdtsc_precise();
      worker_->poll_once();
      cycles += rte_rdtsc_precise() - t0;
      packets += drain(outbound ? out_.b : in_.b);
    }
    double secs = static_cast<double>(cycles) / static_cast<double>(rte_get_tsc_hz());
    return {static_cast<double>(packets) / secs / 1e6, static_cast<double>(bytes) * 8 / secs / 1e9,
            static_cast<double>(cycles) / static_cast<double>(packets ? packets : 1)};
  }

  uint64_t dropped() const {
    uint64_t n = 0;
    for (const auto& c : gw_->counters())
      if (c.name.rfind("drop_", 0) == 0) n += c.value;
    return n;
  }

 private:
  static rte_ether_addr port_mac(uint16_t port) {
    rte_ether_addr mac;
    rte_eth_macaddr_get(port, &mac);
    return mac;
  }
  void learn(uint16_t port, const rte_ether_addr& mac, uint32_t ip, uint32_t target) {
    rte_mbuf* m = rte_pktmbuf_alloc(gen_pool_);
    auto* f = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, 42));
    std::memset(f, 0xff, 6);
    std::memcpy(f + 6, mac.addr_bytes, 6);
    f[12] = 0x08; f[13] = 0x06;
    auto* arp = reinterpret_cast<rte_arp_hdr*>(f + 14);
    arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
    arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    arp->arp_hlen = 6;
    arp->arp_plen = 4;
    arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
    arp->arp_data.arp_sha = mac;
    arp->arp_data.arp_sip = rte_cpu_to_be_32(ip);
    arp->arp_data.arp_tip = rte_cpu_to_be_32(target);
    rte_eth_tx_burst(port, 0, &m, 1);
    worker_->poll_once();
    gw_->control_poll();
    worker_->poll_once();
    drain(port);
  }
  uint64_t drain(uint16_t port) {
    rte_mbuf* m[kBurst];
    uint64_t total = 0;
    uint16_t n;
    while ((n = rte_eth_rx_burst(port, 0, m, kBurst)) > 0) {
      rte_pktmbuf_free_bulk(m, n);
      total += n;
    }
    return total;
  }

  rte_mempool* gen_pool_;
  unsigned sa_count_;
  dp::PortPair in_{}, out_{};
  std::unique_ptr<dp::Gateway> gw_;
  std::unique_ptr<dp::Worker> worker_;
  std::unique_ptr<crypto::MbManager> mb_;
  std::vector<std::unique_ptr<dp::SaRuntime>> peer_;
};

}  // namespace

int main(int argc, char** argv) {
  unsigned bursts = 20000;
  const char* json_path = nullptr;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--bursts" && i + 1 < argc) bursts = static_cast<unsigned>(std::stoul(argv[++i]));
    if (a == "--json" && i + 1 < argc) json_path = argv[++i];
  }
  std::string prefix = "rampart_pipeline_bench_" + std::to_string(getpid());
  auto args = dp::eal_args_without_hugepages(prefix);
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == "-m") args[i + 1] = "2048";  // 100,000 SAs and policies need room
  if (!dp::eal_init(args)) return 1;
  auto pool = dp::create_packet_pool("pb_gen_pool", 8191, static_cast<int>(rte_socket_id()));
  if (!pool) return 1;
  std::printf("pipeline-bench: one worker core, AES-128-GCM tunnel IPv4, bursts of %u, ring ports, %.2f GHz TSC\n",
              kBurst, static_cast<double>(rte_get_tsc_hz()) / 1e9);
  std::printf("%-6s %7s %-9s %9s %9s %11s\n", "size", "SAs", "direction", "Mpps", "Gbps", "cycles/pkt");
  struct Size {
    const char* name;
    std::vector<uint16_t> lengths;
  };
  std::vector<Size> sizes{{"64", {64}}, {"512", {512}}, {"1420", {1420}},
                          {"imix", {64, 570, 64, 64, 570, 64, 1518, 64, 570, 64, 570, 64}}};
  FILE* json = json_path ? std::fopen(json_path, "w") : nullptr;
  if (json) std::fprintf(json, "{\"bench\": \"pipeline\", \"rows\": [\n");
  bool first = true;
  for (unsigned sas : {1u, 100000u}) {
    PipelineBench bench(sas, *pool);
    for (const auto& size : sizes) {
      for (bool outbound : {true, false}) {
        bench.run(outbound, size.lengths, bursts / 10);  // warm up
        Result_ r = bench.run(outbound, size.lengths, bursts);
        const char* dir = outbound ? "outbound" : "inbound";
        std::printf("%-6s %7u %-9s %9.2f %9.2f %11.1f\n", size.name, sas, dir, r.mpps, r.gbps, r.cycles);
        if (json)
          std::fprintf(json, "%s  {\"size\": \"%s\", \"sas\": %u, \"direction\": \"%s\", \"mpps\": %.3f, \"gbps\": %.3f, "
                             "\"cycles_per_packet\": %.1f}", first ? "" : ",\n", size.name, sas, dir, r.mpps, r.gbps, r.cycles);
        first = false;
      }
    }
    if (bench.dropped() != 0) {
      std::fprintf(stderr, "pipeline-bench: %llu packets dropped\n", static_cast<unsigned long long>(bench.dropped()));
      return 1;
    }
  }
  if (json) {
    std::fprintf(json, "\n]}\n");
    std::fclose(json);
  }
  rte_mempool_free(*pool);
  dp::eal_cleanup(prefix);
  return 0;
}
