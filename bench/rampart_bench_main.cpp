// rampart-bench: Gbps and pps for Rampart (self mode) with the crypto ceiling and DPDK's rte_ipsec
// measured in the same run. See bench/README.md for how to read and reproduce each figure.
//
//   rampart-bench self [--sizes 64,512,1420,imix] [--sas 1,100000] [--burst 32]
//                      [--cipher aes-gcm-128|aes-gcm-256] [--mode tunnel|transport]
//                      [--family ipv4|ipv6] [--seconds S] [--no-baseline] [--workers 1,2] [--json FILE] [--plot FILE.png]
//   rampart-bench dut (--tx DEVICE --rx DEVICE [--dst-mac MAC] | --loopback PPS) [--seal|--open SPI,KEY --tunnel A,B]
//                     [--sizes 64,1420] [--rate PPS | --search [--max-rate PPS] [--loss F]]
//                     [--src IP] [--dst IP] [--flows N] [--seconds S] [--json FILE]
//
// Self mode runs one worker core; the systems of a row take turns in 20 ms slices. Every row checks that its counts add up (sent = received +
// counted drops); a row that does not makes the exit status 1. DUT mode drives a device under
// test through two EAL ports (--loopback: a rate-limited stand-in, for tests).
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>
#include <string>
#include <vector>

#include "bench/harness/ceiling.hpp"
#include "bench/harness/dut_mode.hpp"
#include "bench/harness/esp_stage.hpp"
#include "bench/harness/report.hpp"
#include "bench/harness/rte_ipsec_baseline.hpp"
#include "bench/harness/scaling_mode.hpp"
#include "bench/harness/self_mode.hpp"
#include "dataplane/eal.hpp"
#include "dataplane/port.hpp"

using namespace rampart;
using namespace rampart::bench;

namespace {

// A row's systems alternate every 20 ms of timed work: short against the VM's disturbances,
// long against the cache a system loses when another has run.
constexpr double kSliceSeconds = 0.02;

const char* kUsage =
    "usage: rampart-bench self [--sizes 64,512,1420,imix] [--sas 1,100000] [--burst N] [--cipher aes-gcm-128|aes-gcm-256]\n"
    "                          [--mode tunnel|transport] [--family ipv4|ipv6] [--seconds S] [--no-baseline]\n"
    "                          [--workers 1,2 (aggregate of W workers instead of the one-worker rows)]\n"
    "                          [--json FILE] [--plot FILE.png]\n"
    "       rampart-bench dut (--tx DEVICE --rx DEVICE [--dst-mac MAC] | --loopback PPS) [--sizes 64,1420]\n"
    "                         [--rate PPS | --search [--max-rate PPS] [--loss F]] [--src IP] [--dst IP]\n"
    "                         [--flows N] [--seconds S] [--json FILE]\n"
    "                         [--seal SPI,KEY] [--open SPI,KEY] [--tunnel LOCAL,DUT]  (as the far-end gateway)\n";

struct Options {
  std::vector<SizeSpec> sizes = *parse_sizes("64,512,1420,imix");
  std::vector<unsigned> sa_counts{1, 100000};
  RunConfig run;
  std::vector<unsigned> workers;  // --workers: the scaling rows instead of the one-worker ones
  bool baseline = true;
  std::string json, png;
};

bool parse(int argc, char** argv, Options& o) {
  if (argc < 2 || std::string(argv[1]) != "self") return false;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--sizes") {
      auto s = parse_sizes(value());
      if (!s) return false;
      o.sizes = *s;
    } else if (a == "--sas") {
      o.sa_counts.clear();
      std::istringstream in(value());
      for (std::string n; std::getline(in, n, ',');) {
        unsigned long v = std::strtoul(n.c_str(), nullptr, 10);
        if (v < 1 || v > 1000000) return false;
        o.sa_counts.push_back(static_cast<unsigned>(v));
      }
    } else if (a == "--burst") {
      o.run.burst = static_cast<unsigned>(std::strtoul(value().c_str(), nullptr, 10));
      if (o.run.burst < 1 || o.run.burst > dp::kMaxBurst) return false;
    } else if (a == "--cipher") {
      std::string c = value();
      if (c != "aes-gcm-128" && c != "aes-gcm-256") return false;
      o.run.key_length = c == "aes-gcm-128" ? 16 : 32;
    } else if (a == "--mode") {
      std::string m = value();
      if (m != "tunnel" && m != "transport") return false;
      o.run.mode = m == "tunnel" ? dp::SaMode::kTunnel : dp::SaMode::kTransport;
    } else if (a == "--family") {
      std::string f = value();
      if (f != "ipv4" && f != "ipv6") return false;
      o.run.family = f == "ipv4" ? dp::IpFamily::kIpv4 : dp::IpFamily::kIpv6;
    } else if (a == "--seconds") {
      o.run.seconds = std::strtod(value().c_str(), nullptr);
      if (o.run.seconds <= 0 || o.run.seconds > 600) return false;
    } else if (a == "--workers") {
      std::istringstream in(value());
      for (std::string n; std::getline(in, n, ',');) {
        unsigned long v = std::strtoul(n.c_str(), nullptr, 10);
        if (v < 1 || v > 16) return false;
        o.workers.push_back(static_cast<unsigned>(v));
      }
      if (o.workers.empty()) return false;
    } else if (a == "--no-baseline") {
      o.baseline = false;
    } else if (a == "--json") {
      o.json = value();
    } else if (a == "--plot") {
      o.png = value();
    } else {
      return false;
    }
  }
  return true;
}

Row make_row(const char* system, Direction d, const SizeSpec& size, unsigned sas, const Measurement& m) {
  Row r;
  r.system = system;
  r.direction = direction_name(d);
  r.size = size.name;
  r.mean_size = size.mean();
  r.sas = sas;
  double seconds = static_cast<double>(m.cycles) / static_cast<double>(rte_get_tsc_hz());
  r.mpps = static_cast<double>(m.packets) / seconds / 1e6;
  double bytes_per_packet = m.sent ? static_cast<double>(m.ip_bytes) / static_cast<double>(m.sent) : 0;
  r.gbps_l3 = r.mpps * bytes_per_packet * 8 / 1e3;
  r.gbps_l2 = r.mpps * (bytes_per_packet + kL2Overhead) * 8 / 1e3;
  r.cycles_per_packet = m.packets ? static_cast<double>(m.cycles) / static_cast<double>(m.packets) : 0;
  r.sent = m.sent;
  r.received = m.packets;
  r.dropped = m.dropped;
  return r;
}


Row make_scaling_row(const std::string& system, Direction d, const SizeSpec& size, unsigned sas, unsigned workers,
                     const ScalingMeasurement& m) {
  Row r;
  r.system = system;
  r.direction = direction_name(d);
  r.size = size.name;
  r.mean_size = size.mean();
  r.sas = sas;
  r.workers = workers;
  double seconds = static_cast<double>(m.wall_cycles) / static_cast<double>(rte_get_tsc_hz());
  r.mpps = seconds > 0 ? static_cast<double>(m.packets) / seconds / 1e6 : 0;
  double bytes_per_packet = m.sent ? static_cast<double>(m.ip_bytes) / static_cast<double>(m.sent) : 0;
  r.gbps_l3 = r.mpps * bytes_per_packet * 8 / 1e3;
  r.gbps_l2 = r.mpps * (bytes_per_packet + kL2Overhead) * 8 / 1e3;
  // Busy cycles of every worker per packet: what the packet cost in all, hand-off included.
  r.cycles_per_packet = m.packets ? static_cast<double>(m.busy_cycles) / static_cast<double>(m.packets) : 0;
  r.handed_per_packet = m.packets ? static_cast<double>(m.handed) / static_cast<double>(m.packets) : 0;
  r.sent = m.sent;
  r.received = m.packets;
  r.dropped = m.dropped;
  return r;
}

// --workers: the gateway with each worker count in turn on the same traffic, the counts taking
// turns in slices as the systems of the one-worker rows do; outbound, each count above one also
// with spread SAs (sealed wherever they arrive, no hand-off). Then, with one SA, a hand-off row:
// two workers with every packet arriving at the worker that does not own the SA; what it costs
// beyond one worker doing all, per handed packet, is the hand-off's price.
int run_scaling(const Options& o, rte_mempool* pool, std::vector<Row>& rows) {
  int status = 0;
  std::printf("rampart-bench self --workers: aggregate of W workers, each a thread of its own, flows spread over "
              "their queues by hash; %u CPUs here (workers beyond them share CPUs: correctness, not speed)\n\n",
              std::thread::hardware_concurrency());
  print_scaling_header();
  for (unsigned sas : o.sa_counts) {
    RunConfig config = o.run;
    config.sas = sas;
    struct Rig {
      std::string system;
      unsigned workers;
      bool spread;
      std::unique_ptr<ScalingRig> rig;
    };
    std::vector<Rig> rigs;
    for (unsigned w : o.workers) rigs.push_back({"rampart x" + std::to_string(w), w, false, std::make_unique<ScalingRig>(config, w, pool)});
    RunConfig spread = config;
    spread.spread = true;
    for (unsigned w : o.workers)
      if (w > 1)
        rigs.push_back({"rampart x" + std::to_string(w) + " spread", w, true, std::make_unique<ScalingRig>(spread, w, pool)});
    std::unique_ptr<ScalingRig> handed;
    if (sas == 1) handed = std::make_unique<ScalingRig>(config, 2, pool, /*only_queue=*/1);
    for (Direction d : {Direction::kOutbound, Direction::kInbound}) {
      for (const SizeSpec& size : o.sizes) {
        unsigned slices = std::max(1u, static_cast<unsigned>(std::lround(o.run.seconds / kSliceSeconds)));
        double slice = o.run.seconds / slices;
        std::vector<ScalingMeasurement> total(rigs.size() + 1);
        auto add = [](ScalingMeasurement& to, const ScalingMeasurement& m) {
          to.packets += m.packets, to.sent += m.sent, to.dropped += m.dropped, to.ip_bytes += m.ip_bytes;
          to.wall_cycles += m.wall_cycles, to.busy_cycles += m.busy_cycles, to.handed += m.handed;
        };
        for (unsigned turn = 0; turn < slices; ++turn) {
          for (size_t r = 0; r < rigs.size(); ++r)
            if (d == Direction::kOutbound || !rigs[r].spread)  // inbound SAs are never spread
              add(total[r], rigs[r].rig->run(d, size, slice));
          if (handed) add(total.back(), handed->run(d, size, slice));
        }
        Row one;
        for (size_t r = 0; r < rigs.size(); ++r) {
          if (d == Direction::kInbound && rigs[r].spread) continue;
          Row row = make_scaling_row(rigs[r].system, d, size, sas, rigs[r].workers, total[r]);
          if (rigs[r].workers == 1) one = row;
          if (one.mpps > 0) row.vs_one_worker = row.mpps / one.mpps;
          if (row.sent != row.received + row.dropped) {
            std::fprintf(stderr, "rampart-bench: %s %s %s: sent %llu, received %llu + dropped %llu do not add up\n",
                         row.system.c_str(), row.direction.c_str(), row.size.c_str(), row.sent, row.received, row.dropped);
            status = 1;
          }
          print_scaling_row(row);
          rows.push_back(row);
        }
        if (handed) {
          Row row = make_scaling_row("rampart handoff", d, size, sas, 2, total.back());
          if (one.mpps > 0 && row.handed_per_packet > 0)
            row.handoff_cycles = (row.cycles_per_packet - one.cycles_per_packet) / row.handed_per_packet;
          print_scaling_row(row);
          rows.push_back(row);
        }
      }
    }
  }
  return status;
}

}  // namespace

int run_dut(int argc, char** argv);

int run_self(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, o)) {
    std::fprintf(stderr, "%s", kUsage);
    return 2;
  }
  std::string prefix = "rampart_bench_" + std::to_string(getpid());
  auto args = dp::eal_args_without_hugepages(prefix);
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == "-m") args[i + 1] = "4096";  // 100,000 SAs, their policies and rte_ipsec's copies
  if (!dp::eal_init(args)) return 1;
  int status = 0;
  {
    auto pool = dp::create_packet_pool("rb_pool", 16383, static_cast<int>(rte_socket_id()));
    if (!pool) return 1;
    if (!o.workers.empty()) {
      std::vector<Row> rows;
      status = run_scaling(o, *pool, rows);
      if (!o.json.empty()) {
        std::ofstream j(o.json);
        j << "{\"bench\": \"rampart-bench\", \"mode\": \"self-workers\", \"time\": " << std::time(nullptr)
          << ",\n \"machine\": " << machine_json() << ",\n \"rows\": " << rows_json(rows) << "}\n";
        if (!j) status = 1;
      }
      if (!o.png.empty() && !plot(rows, o.png, "rampart-bench self, W workers (aggregate)")) status = 1;
      dp::eal_cleanup(prefix);
      return status;
    }
    std::printf("rampart-bench self: one worker core, %s %s %s, bursts of %u, %.2f s per row\n%s\n\n",
                o.run.key_length == 16 ? "AES-GCM-128" : "AES-GCM-256",
                o.run.mode == dp::SaMode::kTunnel ? "tunnel" : "transport",
                o.run.family == dp::IpFamily::kIpv4 ? "IPv4" : "IPv6", o.run.burst, o.run.seconds,
                machine_summary().c_str());
    print_header();
    std::vector<Row> rows;
    std::vector<Direction> directions{Direction::kOutbound};
    // A gateway terminates transport-mode ESP only for itself: transport runs outbound only.
    if (o.run.mode == dp::SaMode::kTunnel) directions.push_back(Direction::kInbound);
    size_t total = o.sa_counts.size() * directions.size() * o.sizes.size(), done = 0;
    for (unsigned sas : o.sa_counts) {
      RunConfig config = o.run;
      config.sas = sas;
      PipelineRig rig(config, *pool);
      RunConfig clear_config = config;
      clear_config.clear = true;
      PipelineRig clear_rig(clear_config, *pool);
      CryptoCeiling ceiling(config, *pool);
      EspStageRig stage(config, *pool);
      std::unique_ptr<RteIpsecBaseline> peer;
      if (o.baseline) peer = std::make_unique<RteIpsecBaseline>(config, *pool);
      for (Direction d : directions) {
        for (const SizeSpec& size : o.sizes) {
          std::fprintf(stderr, "\r[%zu/%zu] %s %s B, %u SA%s ...     ", ++done, total, direction_name(d),
                       size.name.c_str(), sas, sas == 1 ? "" : "s");
          // The systems take turns, a slice each (see Slice), until each has had its seconds.
          unsigned slices = std::max(1u, static_cast<unsigned>(std::lround(o.run.seconds / kSliceSeconds)));
          Slice slice{o.run.seconds / slices, 0};
          enum { kCeiling, kOurs, kEsp, kClear, kTheirs, kSystems };
          Measurement total[kSystems];
          uint64_t next_flow[kSystems] = {};
          auto take_turn = [&](int system, auto&& run) {
            slice.first_flow = next_flow[system];
            Measurement m = run();
            next_flow[system] += m.sent;
            total[system] += m;
          };
          for (unsigned turn = 0; turn < slices; ++turn) {
            take_turn(kCeiling, [&] { return ceiling.run(d == Direction::kOutbound, size, slice); });
            take_turn(kOurs, [&] { return rig.run(d, size, slice); });
            take_turn(kEsp, [&] { return stage.run(d, size, slice); });
            take_turn(kClear, [&] { return clear_rig.run(d, size, slice); });
            if (peer) take_turn(kTheirs, [&] { return peer->run(d, size, slice); });
          }
          Row raw = make_row("ipsec-mb", d, size, sas, total[kCeiling]);
          Row ours = make_row("rampart", d, size, sas, total[kOurs]);
          ours.of_ceiling = ours.mpps / raw.mpps;
          Row esp = make_row("rampart-esp", d, size, sas, total[kEsp]);
          esp.of_ceiling = esp.mpps / raw.mpps;
          Row clear = make_row("rampart-clear", d, size, sas, total[kClear]);
          std::fprintf(stderr, "\r%60s\r", "");
          for (const Row* r : {&ours, &clear}) {
            if (r->sent == r->received + r->dropped) continue;
            std::fprintf(stderr, "rampart-bench: %s %s %s: sent %llu, received %llu + dropped %llu do not add up\n",
                         r->system.c_str(), r->direction.c_str(), r->size.c_str(), r->sent, r->received, r->dropped);
            status = 1;
          }
          Row theirs;
          std::vector<const Row*> shown{&ours, &esp};
          if (peer) {
            theirs = make_row("rte_ipsec", d, size, sas, total[kTheirs]);
            theirs.of_ceiling = theirs.mpps / raw.mpps;
            ours.vs_rte_ipsec = ours.mpps / theirs.mpps;
            esp.vs_rte_ipsec = esp.mpps / theirs.mpps;
            shown.push_back(&theirs);
          }
          shown.push_back(&clear);
          for (const Row* r : shown) {
            print_row(*r);
            rows.push_back(*r);
          }
          print_row(raw);
          rows.push_back(raw);
        }
      }
    }
    if (!o.json.empty()) {
      std::ofstream j(o.json);
      j << "{\"bench\": \"rampart-bench\", \"mode\": \"self\", \"time\": " << std::time(nullptr)
        << ",\n \"machine\": " << machine_json() << ",\n \"config\": {\"cipher\": \""
        << (o.run.key_length == 16 ? "aes-gcm-128" : "aes-gcm-256") << "\", \"mode\": \""
        << (o.run.mode == dp::SaMode::kTunnel ? "tunnel" : "transport") << "\", \"family\": \""
        << (o.run.family == dp::IpFamily::kIpv4 ? "ipv4" : "ipv6") << "\", \"burst\": " << o.run.burst
        << ", \"seconds_per_row\": " << o.run.seconds << ", \"workers\": 1},\n \"rows\": " << rows_json(rows)
        << "}\n";
      if (!j) status = 1;
    }
    if (!o.png.empty() && !plot(rows, o.png, "rampart-bench self, one worker core")) status = 1;
  }
  dp::eal_cleanup(prefix);
  return status;
}

namespace {

struct DutOptions {
  std::string tx, rx;
  double loopback_pps = 0;
  std::vector<uint16_t> sizes{64};
  double rate = 0;
  bool search = false;
  double max_rate = 0, loss = 0.005;
  DutConfig config;
  std::string json;
};

bool parse_mac(const std::string& text, std::array<uint8_t, 6>& mac) {
  unsigned b[6];
  if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6) return false;
  for (int i = 0; i < 6; ++i) mac[i] = static_cast<uint8_t>(b[i]);
  return true;
}

bool parse_ipv4(const std::string& text, uint32_t& out) {
  unsigned a, b, c, d;
  if (std::sscanf(text.c_str(), "%u.%u.%u.%u", &a, &b, &c, &d) != 4 || a > 255 || b > 255 || c > 255 || d > 255)
    return false;
  out = a << 24 | b << 16 | c << 8 | d;
  return true;
}

// "SPI,KEY": an SPI (decimal or 0x hex) and the AES-GCM key with its 4-byte salt in hex, as
// `rampartctl show sa --show-keys` prints them.
bool parse_esp(const std::string& text, dp::SaParams& sa) {
  size_t comma = text.find(',');
  if (comma == std::string::npos) return false;
  sa.spi = static_cast<uint32_t>(std::strtoul(text.substr(0, comma).c_str(), nullptr, 0));
  std::string key = text.substr(comma + 1);
  if (sa.spi < 256 || (key.size() != 40 && key.size() != 72)) return false;
  sa.key_length = static_cast<uint8_t>(key.size() / 2 - 4);
  for (size_t i = 0; i < key.size() / 2; ++i) {
    unsigned byte;
    if (std::sscanf(key.c_str() + 2 * i, "%2x", &byte) != 1) return false;
    (i < sa.key_length ? sa.key[i] : sa.salt[i - sa.key_length]) = static_cast<std::byte>(byte);
  }
  return true;
}

bool parse_dut(int argc, char** argv, DutOptions& o) {
  o.config.source = RTE_IPV4(192, 0, 2, 10);
  o.config.destination = RTE_IPV4(203, 0, 113, 10);
  uint32_t tunnel_local = 0, tunnel_remote = 0;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--tx") {
      o.tx = value();
    } else if (a == "--rx") {
      o.rx = value();
    } else if (a == "--loopback") {
      o.loopback_pps = std::strtod(value().c_str(), nullptr);
      if (o.loopback_pps <= 0) return false;
    } else if (a == "--dst-mac") {
      if (!parse_mac(value(), o.config.destination_mac)) return false;
    } else if (a == "--src") {
      if (!parse_ipv4(value(), o.config.source)) return false;
    } else if (a == "--dst") {
      if (!parse_ipv4(value(), o.config.destination)) return false;
    } else if (a == "--sizes") {
      auto sizes = parse_sizes(value());
      if (!sizes) return false;
      o.sizes.clear();
      for (const auto& s : *sizes) {
        if (s.lengths.size() != 1) return false;  // one size per trial: no imix here
        o.sizes.push_back(s.lengths[0]);
      }
    } else if (a == "--rate") {
      o.rate = std::strtod(value().c_str(), nullptr);
      if (o.rate <= 0) return false;
    } else if (a == "--search") {
      o.search = true;
    } else if (a == "--max-rate") {
      o.max_rate = std::strtod(value().c_str(), nullptr);
      if (o.max_rate <= 0) return false;
    } else if (a == "--loss") {
      o.loss = std::strtod(value().c_str(), nullptr);
      if (o.loss < 0 || o.loss >= 1) return false;
    } else if (a == "--flows") {
      o.config.flows = static_cast<uint16_t>(std::strtoul(value().c_str(), nullptr, 10));
      if (o.config.flows == 0) return false;
    } else if (a == "--seconds") {
      o.config.seconds = std::strtod(value().c_str(), nullptr);
      if (o.config.seconds <= 0 || o.config.seconds > 600) return false;
    } else if (a == "--json") {
      o.json = value();
    } else if (a == "--seal" || a == "--open") {
      dp::SaParams sa;
      if (!parse_esp(value(), sa)) return false;
      sa.name = a.substr(2);
      sa.direction = a == "--seal" ? dp::SaDirection::kOutbound : dp::SaDirection::kInbound;
      (a == "--seal" ? o.config.seal : o.config.open) = sa;
    } else if (a == "--tunnel") {
      std::string t = value();
      size_t comma = t.find(',');
      if (comma == std::string::npos || !parse_ipv4(t.substr(0, comma), tunnel_local) ||
          !parse_ipv4(t.substr(comma + 1), tunnel_remote))
        return false;
    } else {
      return false;
    }
  }
  // Tunnel endpoints: this generator plays the far-end gateway (local), the DUT is remote.
  for (auto* sa : {&o.config.seal, &o.config.open}) {
    if (!*sa) continue;
    if (tunnel_local == 0) return false;
    bool out = (*sa)->direction == dp::SaDirection::kOutbound;
    uint32_t from = out ? tunnel_local : tunnel_remote, to = out ? tunnel_remote : tunnel_local;
    for (int i = 0; i < 4; ++i) {
      (*sa)->tunnel_source[i] = static_cast<uint8_t>(from >> (24 - 8 * i));
      (*sa)->tunnel_destination[i] = static_cast<uint8_t>(to >> (24 - 8 * i));
    }
  }
  bool devices = !o.tx.empty() && !o.rx.empty();
  if (devices == (o.loopback_pps > 0)) return false;  // one or the other
  if (o.search == (o.rate > 0)) return false;
  if (o.search && o.max_rate == 0) o.max_rate = o.loopback_pps > 0 ? o.loopback_pps * 4 : 1e6;
  return true;
}

std::string trial_json(const char* kind, uint16_t size, const Trial& t) {
  char text[512];
  std::snprintf(text, sizeof text,
                "{\"kind\": \"%s\", \"size\": %u, \"offered_pps\": %.0f, \"sent\": %llu, \"received\": %llu, "
                "\"foreign\": %llu, \"loss\": %.6f, \"achieved_pps\": %.0f, \"latency_us\": {\"p50\": %.2f, "
                "\"p90\": %.2f, \"p99\": %.2f, \"p999\": %.2f, \"max\": %.2f}}",
                kind, size, t.offered_pps, static_cast<unsigned long long>(t.sent),
                static_cast<unsigned long long>(t.received), static_cast<unsigned long long>(t.foreign), t.loss(),
                t.achieved_pps, t.latency_us[0], t.latency_us[1], t.latency_us[2], t.latency_us[3], t.latency_us[4]);
  return text;
}

void print_trial(const char* kind, uint16_t size, const Trial& t) {
  std::printf("%-6s %5u %12.0f %10llu %10llu %8.3f%% %12.0f %8.2f %8.2f %8.2f %8.2f %8.2f\n", kind, size,
              t.offered_pps, static_cast<unsigned long long>(t.sent), static_cast<unsigned long long>(t.received),
              100 * t.loss(), t.achieved_pps, t.latency_us[0], t.latency_us[1], t.latency_us[2], t.latency_us[3],
              t.latency_us[4]);
  std::fflush(stdout);
}

}  // namespace

int run_dut(int argc, char** argv) {
  DutOptions o;
  if (!parse_dut(argc, argv, o)) {
    std::fprintf(stderr, "%s", kUsage);
    return 2;
  }
  std::string prefix = "rampart_bench_dut_" + std::to_string(getpid());
  auto args = dp::eal_args_without_hugepages(prefix);
  for (const std::string& device : {o.tx, o.rx})
    if (!device.empty()) args.insert(args.end(), {"--vdev", device});
  if (auto r = dp::eal_init(args); !r) {
    std::fprintf(stderr, "rampart-bench: EAL: %s\n", r.message().c_str());
    return 1;
  }
  int status = 0;
  {
    auto pool = dp::create_packet_pool("rbd_pool", 32767, static_cast<int>(rte_socket_id()));
    if (!pool) return 1;
    std::unique_ptr<RateLimitedLoopback> loopback;
    if (o.loopback_pps > 0) {
      loopback = std::make_unique<RateLimitedLoopback>(o.loopback_pps, *pool);
      o.config.tx_port = loopback->generator_port();
      o.config.rx_port = loopback->receiver_port();
    } else {
      for (auto [device, port] : {std::pair{&o.tx, &o.config.tx_port}, std::pair{&o.rx, &o.config.rx_port}}) {
        std::string name = device->substr(0, device->find(','));
        if (rte_eth_dev_get_port_by_name(name.c_str(), port) != 0 || !dp::start_port(*port, *pool, 1)) {
          std::fprintf(stderr, "rampart-bench: device %s did not come up as a DPDK port\n", device->c_str());
          return 1;
        }
      }
    }
    std::printf("rampart-bench dut: %s, %.2f s per trial%s\n%s\n\n",
                loopback ? ("a loopback limited to " + std::to_string(static_cast<long>(o.loopback_pps)) + " pps").c_str()
                         : (o.tx + " -> DUT -> " + o.rx).c_str(),
                o.config.seconds, o.search ? (", searching for NDR and PDR (loss <= " + std::to_string(o.loss) + ")").c_str() : "",
                machine_summary().c_str());
    std::printf("%-6s %5s %12s %10s %10s %9s %12s %8s %8s %8s %8s %8s\n", "trial", "size", "offered pps", "sent",
                "received", "loss", "received pps", "p50 us", "p90 us", "p99 us", "p99.9", "max us");
    DutRig rig(o.config, *pool);
    std::vector<std::string> rows;
    for (uint16_t size : o.sizes) {
      if (!o.search) {
        Trial t = rig.run(size, o.rate);
        print_trial("fixed", size, t);
        rows.push_back(trial_json("fixed", size, t));
        continue;
      }
      auto show = [&](const Trial& t) {
        print_trial("try", size, t);
        rows.push_back(trial_json("trial", size, t));
      };
      Trial ndr = rig.search(size, o.max_rate, 0.0, 0.01, show);
      Trial pdr = rig.search(size, o.max_rate, o.loss, 0.01, show);
      print_trial("NDR", size, ndr);
      print_trial("PDR", size, pdr);
      rows.push_back(trial_json("ndr", size, ndr));
      rows.push_back(trial_json("pdr", size, pdr));
    }
    if (!o.json.empty()) {
      std::ofstream j(o.json);
      j << "{\"bench\": \"rampart-bench\", \"mode\": \"dut\", \"time\": " << std::time(nullptr)
        << ",\n \"machine\": " << machine_json() << ",\n \"config\": {\"seconds_per_trial\": " << o.config.seconds
        << ", \"loss_for_pdr\": " << o.loss << ", \"flows\": " << o.config.flows << "},\n \"rows\": [";
      for (size_t i = 0; i < rows.size(); ++i) j << (i ? ",\n  " : "\n  ") << rows[i];
      j << "\n]}\n";
      if (!j) status = 1;
    }
  }
  dp::eal_cleanup(prefix);
  return status;
}

int main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "dut") return run_dut(argc, argv);
  return run_self(argc, argv);
}
