// esp-bench: the ESP data path per core against ipsec-mb alone, on the same buffers.
// For each packet size (64, 512, 1420 bytes of inner IP packet, and IMIX 7:4:1 of 64/570/1518)
// and each SA count (1 and 100,000, packets spread round-robin so that every packet of a burst
// has its own SA), it measures:
//   raw-seal / raw-open  ipsec-mb AES-128-GCM over the packets' payloads, nothing else
//   outbound / inbound   esp_outbound_burst / esp_inbound_burst, bursts of 32
// Work is done in chunks of 1024 packets; each chunk is made ready untimed (fresh inner packets
// for outbound, freshly sealed ESP packets for inbound and raw-open) and then processed timed, so
// every variant sees the same buffers, equally warm. Prints Mpps, Gbps (of inner packet bytes),
// cycles per packet and the ratio to raw crypto; --json FILE writes the rows.
#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "crypto/aes_gcm.hpp"
#include "crypto/mb_manager.hpp"
#include "dataplane/eal.hpp"
#include "dataplane/esp_inbound.hpp"
#include "dataplane/esp_outbound.hpp"
#include "dataplane/port.hpp"
#include "dataplane/sa.hpp"
#include "dataplane/wire_headers.hpp"

namespace {

using namespace rampart;

constexpr unsigned kChunk = 1024;
constexpr unsigned kBurst = 32;

struct Row {
  std::string size;
  unsigned sas;
  std::string path;
  double mpps, gbps, cycles, ratio;
};

// An IPv4 UDP packet of the given total length, 192.0.2.1 -> 203.0.113.1.
void write_inner(uint8_t* p, uint16_t length) {
  std::memset(p, 0, 28);
  p[0] = 0x45;
  p[2] = static_cast<uint8_t>(length >> 8);
  p[3] = static_cast<uint8_t>(length);
  p[8] = 64;
  p[9] = dp::ip_proto::kUdp;
  const uint8_t addrs[8] = {192, 0, 2, 1, 203, 0, 113, 1};
  std::memcpy(p + 12, addrs, 8);
}

class Bench {
 public:
  Bench(rte_mempool* pool, const crypto::MbManager& mb) : pool_(pool), mb_(mb), drops_(dp::kDropReasonDefs, 1) {
    ctx_ = dp::EspContext{&mb_, &drops_.lane(0), nullptr};
    rte_pktmbuf_alloc_bulk(pool_, mbufs_, kChunk);
  }
  ~Bench() { rte_pktmbuf_free_bulk(mbufs_, kChunk); }

  void set_sas(unsigned count) {
    out_.clear();
    in_.clear();
    for (unsigned i = 0; i < count; ++i) {
      dp::SaParams p;
      p.spi = 0x10000 + i;
      p.tunnel_source = {198, 51, 100, 1};
      p.tunnel_destination = {203, 0, 113, 1};
      for (unsigned k = 0; k < 16; ++k) p.key[k] = std::byte{static_cast<uint8_t>(i + k)};
      p.direction = dp::SaDirection::kOutbound;
      out_.push_back(std::move(dp::create_sa(mb_, p).value()));
      p.direction = dp::SaDirection::kInbound;
      in_.push_back(std::move(dp::create_sa(mb_, p).value()));
    }
  }

  // Fresh inner packets in every mbuf of the chunk, sizes cycling through `sizes`.
  void fill_inner(const std::vector<uint16_t>& sizes) {
    for (unsigned i = 0; i < kChunk; ++i) {
      rte_mbuf* m = mbufs_[i];
      rte_pktmbuf_reset(m);
      uint16_t length = sizes[i % sizes.size()];
      auto* data = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, length));
      if (data == nullptr) std::abort();  // 2 KB mbufs hold every size used here
      write_inner(data, length);
    }
  }

  uint64_t run_outbound() { return run_stage(dp::esp_outbound_burst, out_); }
  uint64_t run_inbound() { return run_stage(dp::esp_inbound_burst, in_); }

  // ipsec-mb alone: the same buffers, the same lengths, keys and bursts, nothing around it.
  uint64_t run_raw(bool seal, const std::vector<uint16_t>& sizes) {
    uint64_t cycles = 0;
    bool ok[kBurst];
    for (unsigned at = 0; at < kChunk; at += kBurst) {
      crypto::AeadOp ops[kBurst];
      for (unsigned i = 0; i < kBurst; ++i) {
        uint8_t* data = rte_pktmbuf_mtod(mbufs_[at + i], uint8_t*);
        uint32_t inner = sizes[(at + i) % sizes.size()];
        uint32_t length = seal ? inner : (inner + 2 + 3) / 4 * 4;  // open: payload with trailer
        uint8_t* payload = seal ? data : data + 36;
        const dp::SaRuntime& sa = *out_[(at + i) % out_.size()];
        ops[i] = crypto::AeadOp{&sa.key, payload, payload, length, payload - 8, payload - 16, 8, payload + length};
      }
      uint64_t t0 = rte_rdtsc_precise();
      if (seal)
        crypto::gcm_seal_burst(mb_, ops);
      else
        crypto::gcm_open_burst(mb_, ops, ok);
      cycles += rte_rdtsc_precise() - t0;
    }
    return cycles;
  }

  uint64_t dropped() const {
    uint64_t n = 0;
    for (size_t i = 0; i < dp::kDropReasonCount; ++i) n += drops_.sum(i);
    return n;
  }

 private:
  // Times one ESP stage over the chunk, burst by burst.
  uint64_t run_stage(uint16_t (*stage)(dp::EspContext&, dp::Burst&) noexcept,
                     std::vector<std::unique_ptr<dp::SaRuntime>>& sas) {
    uint64_t cycles = 0;
    for (unsigned at = 0; at < kChunk; at += kBurst) {
      dp::Burst b;
      load(b, at, sas);
      uint64_t t0 = rte_rdtsc_precise();
      uint16_t good = stage(ctx_, b);
      cycles += rte_rdtsc_precise() - t0;
      check(good);
    }
    return cycles;
  }

  void load(dp::Burst& b, unsigned at, std::vector<std::unique_ptr<dp::SaRuntime>>& sas) {
    b.count = kBurst;
    for (unsigned i = 0; i < kBurst; ++i) {
      b.pkts[i] = mbufs_[at + i];
      b.sa[i] = sas[(at + i) % sas.size()].get();
    }
  }
  void check(uint16_t good) {
    if (good != kBurst) {
      std::fprintf(stderr, "esp-bench: %u packets of a burst dropped\n", kBurst - good);
      std::exit(1);
    }
  }

  rte_mempool* pool_;
  const crypto::MbManager& mb_;
  CounterTable drops_;
  dp::EspContext ctx_;
  rte_mbuf* mbufs_[kChunk];
  std::vector<std::unique_ptr<dp::SaRuntime>> out_, in_;
};

Row make_row(const std::string& size, unsigned sas, const char* path, uint64_t packets, uint64_t bytes,
             uint64_t cycles) {
  double hz = static_cast<double>(rte_get_tsc_hz());
  double secs = static_cast<double>(cycles) / hz;
  return Row{size, sas, path, static_cast<double>(packets) / secs / 1e6, static_cast<double>(bytes) * 8 / secs / 1e9,
             static_cast<double>(cycles) / static_cast<double>(packets), 0};
}

}  // namespace

int main(int argc, char** argv) {
  const char* json_path = nullptr;
  unsigned chunks = 200;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--json" && i + 1 < argc) json_path = argv[++i];
    if (a == "--chunks" && i + 1 < argc) chunks = static_cast<unsigned>(std::stoul(argv[++i]));
  }
  std::string prefix = "rampart_bench_" + std::to_string(getpid());
  if (auto r = dp::eal_init(dp::eal_args_without_hugepages(prefix)); !r) {
    std::fprintf(stderr, "esp-bench: %s\n", r.message().c_str());
    return 1;
  }
  auto mb = crypto::MbManager::create();
  auto pool = dp::create_packet_pool("bench_pool", 4095, static_cast<int>(rte_socket_id()));
  if (!mb || !pool) return 1;

  struct Size {
    std::string name;
    std::vector<uint16_t> lengths;
  };
  std::vector<Size> sizes{{"64", {64}}, {"512", {512}}, {"1420", {1420}},
                          {"imix", {64, 570, 64, 64, 570, 64, 1518, 64, 570, 64, 570, 64}}};

  std::printf("esp-bench: ipsec-mb %s (%s), AES-128-GCM, tunnel IPv4, bursts of %u, one core, %.2f GHz TSC\n",
              crypto::ipsec_mb_version(), mb->arch_name(), kBurst, static_cast<double>(rte_get_tsc_hz()) / 1e9);
  std::printf("%-6s %7s %-9s %9s %9s %11s %8s\n", "size", "SAs", "path", "Mpps", "Gbps", "cycles/pkt", "of raw");
  std::vector<Row> rows;
  {
    Bench bench(*pool, *mb);
    for (unsigned sa_count : {1u, 100000u}) {
      bench.set_sas(sa_count);
      for (const auto& size : sizes) {
        uint64_t bytes_per_chunk = 0;
        for (unsigned i = 0; i < kChunk; ++i) bytes_per_chunk += size.lengths[i % size.lengths.size()];
        uint64_t raw_seal = 0, outbound = 0, raw_open = 0, inbound = 0;
        for (unsigned c = 0; c < chunks; ++c) {
          bench.fill_inner(size.lengths);
          raw_seal += bench.run_raw(true, size.lengths);
          bench.fill_inner(size.lengths);
          outbound += bench.run_outbound();
          bench.fill_inner(size.lengths);
          bench.run_outbound();  // untimed: fresh ESP packets
          raw_open += bench.run_raw(false, size.lengths);
          bench.fill_inner(size.lengths);
          bench.run_outbound();
          inbound += bench.run_inbound();
        }
        uint64_t packets = uint64_t{kChunk} * chunks;
        uint64_t bytes = bytes_per_chunk * chunks;
        Row rs = make_row(size.name, sa_count, "raw-seal", packets, bytes, raw_seal);
        Row ob = make_row(size.name, sa_count, "outbound", packets, bytes, outbound);
        Row ro = make_row(size.name, sa_count, "raw-open", packets, bytes, raw_open);
        Row ib = make_row(size.name, sa_count, "inbound", packets, bytes, inbound);
        rs.ratio = ro.ratio = 1;
        ob.ratio = ob.mpps / rs.mpps;
        ib.ratio = ib.mpps / ro.mpps;
        for (const Row& r : {rs, ob, ro, ib}) {
          std::printf("%-6s %7u %-9s %9.2f %9.2f %11.1f %7.0f%%\n", r.size.c_str(), r.sas, r.path.c_str(), r.mpps,
                      r.gbps, r.cycles, r.ratio * 100);
          rows.push_back(r);
        }
      }
    }
    if (bench.dropped() != 0) {
      std::fprintf(stderr, "esp-bench: %llu drops\n", static_cast<unsigned long long>(bench.dropped()));
      return 1;
    }
  }
  if (json_path) {
    FILE* f = std::fopen(json_path, "w");
    if (!f) return 1;
    std::fprintf(f, "{\"bench\": \"esp\", \"ipsec_mb\": \"%s\", \"arch\": \"%s\", \"burst\": %u, \"rows\": [\n",
                 crypto::ipsec_mb_version(), mb->arch_name(), kBurst);
    for (size_t i = 0; i < rows.size(); ++i)
      std::fprintf(f, "  {\"size\": \"%s\", \"sas\": %u, \"path\": \"%s\", \"mpps\": %.3f, \"gbps\": %.3f, "
                      "\"cycles_per_packet\": %.1f, \"ratio_to_raw\": %.3f}%s\n",
                   rows[i].size.c_str(), rows[i].sas, rows[i].path.c_str(), rows[i].mpps, rows[i].gbps,
                   rows[i].cycles, rows[i].ratio, i + 1 < rows.size() ? "," : "");
    std::fprintf(f, "]}\n");
    std::fclose(f);
  }
  rte_mempool_free(*pool);
  dp::eal_cleanup(prefix);
  return 0;
}
