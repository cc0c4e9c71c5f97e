// rampart-bench: Gbps and pps for Rampart (self mode) with the crypto ceiling and DPDK's rte_ipsec
// measured in the same run. See bench/README.md for how to read and reproduce each figure.
//
//   rampart-bench self [--sizes 64,512,1420,imix] [--sas 1,100000] [--burst 32]
//                      [--cipher aes-gcm-128|aes-gcm-256] [--mode tunnel|transport]
//                      [--family ipv4|ipv6] [--seconds S] [--no-baseline] [--json FILE] [--plot FILE.png]
//
// Self mode runs one worker core. Every row checks that its counts add up (sent = received +
// counted drops); a row that does not makes the exit status 1.
#include <rte_cycles.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "bench/harness/ceiling.hpp"
#include "bench/harness/esp_stage.hpp"
#include "bench/harness/report.hpp"
#include "bench/harness/rte_ipsec_baseline.hpp"
#include "bench/harness/self_mode.hpp"
#include "dataplane/eal.hpp"
#include "dataplane/port.hpp"

using namespace rampart;
using namespace rampart::bench;

namespace {

const char* kUsage =
    "usage: rampart-bench self [--sizes 64,512,1420,imix] [--sas 1,100000] [--burst N] [--cipher aes-gcm-128|aes-gcm-256]\n"
    "                          [--mode tunnel|transport] [--family ipv4|ipv6] [--seconds S] [--no-baseline]\n"
    "                          [--json FILE] [--plot FILE.png]\n";

struct Options {
  std::vector<SizeSpec> sizes = *parse_sizes("64,512,1420,imix");
  std::vector<unsigned> sa_counts{1, 100000};
  RunConfig run;
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

}  // namespace

int main(int argc, char** argv) {
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
      CryptoCeiling ceiling(config, *pool);
      EspStageRig stage(config, *pool);
      std::unique_ptr<RteIpsecBaseline> peer;
      if (o.baseline) peer = std::make_unique<RteIpsecBaseline>(config, *pool);
      for (Direction d : directions) {
        for (const SizeSpec& size : o.sizes) {
          std::fprintf(stderr, "\r[%zu/%zu] %s %s B, %u SA%s ...     ", ++done, total, direction_name(d),
                       size.name.c_str(), sas, sas == 1 ? "" : "s");
          Row raw = make_row("ipsec-mb", d, size, sas, ceiling.run(d == Direction::kOutbound, size));
          Row ours = make_row("rampart", d, size, sas, rig.run(d, size));
          ours.of_ceiling = ours.mpps / raw.mpps;
          Row esp = make_row("rampart-esp", d, size, sas, stage.run(d, size));
          esp.of_ceiling = esp.mpps / raw.mpps;
          std::fprintf(stderr, "\r%60s\r", "");
          if (ours.sent != ours.received + ours.dropped) {
            std::fprintf(stderr, "rampart-bench: %s %s: sent %llu, received %llu + dropped %llu do not add up\n",
                         ours.direction.c_str(), ours.size.c_str(), ours.sent, ours.received, ours.dropped);
            status = 1;
          }
          if (peer) {
            Row theirs = make_row("rte_ipsec", d, size, sas, peer->run(d, size));
            theirs.of_ceiling = theirs.mpps / raw.mpps;
            ours.vs_rte_ipsec = ours.mpps / theirs.mpps;
            esp.vs_rte_ipsec = esp.mpps / theirs.mpps;
            for (const Row* r : {&ours, &esp, &theirs}) {
              print_row(*r);
              rows.push_back(*r);
            }
          } else {
            for (const Row* r : {&ours, &esp}) {
              print_row(*r);
              rows.push_back(*r);
            }
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
