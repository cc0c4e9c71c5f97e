#include "bench/harness/report.hpp"

#include <intel-ipsec-mb.h>
#include <rte_cycles.h>
#include <rte_version.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "crypto/mb_manager.hpp"

namespace rampart::bench {

namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return out + "\"";
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

std::vector<std::string> crypto_flags() {
  std::ifstream in("/proc/cpuinfo");
  std::set<std::string> present;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    for (std::string w; words >> w;) present.insert(w);
    break;
  }
  std::vector<std::string> out;
  for (const char* f : {"aes", "pclmulqdq", "sse4_2", "avx", "avx2", "avx512f", "avx512bw", "vaes", "vpclmulqdq", "sha_ni"})
    if (present.count(f)) out.push_back(f);
  return out;
}

std::string ipsec_mb_arch() {
  auto mb = crypto::MbManager::create();
  return mb ? mb->arch_name() : "unavailable";
}

}  // namespace

std::string machine_json() {
  utsname u{};
  uname(&u);
  std::ostringstream j;
  j << "{\"cpu\": " << json_string(cpu_model()) << ", \"flags\": [";
  auto flags = crypto_flags();
  for (size_t i = 0; i < flags.size(); ++i) j << (i ? ", " : "") << json_string(flags[i]);
  j << "], \"cores\": " << std::thread::hardware_concurrency()
    << ", \"tsc_ghz\": " << static_cast<double>(rte_get_tsc_hz()) / 1e9
    << ", \"ipsec_mb\": {\"version\": " << json_string(imb_get_version_str())
    << ", \"arch\": " << json_string(ipsec_mb_arch()) << "}"
    << ", \"dpdk\": " << json_string(rte_version()) << ", \"compiler\": " << json_string(__VERSION__)
    << ", \"kernel\": " << json_string(std::string(u.sysname) + " " + u.release)
    << ", \"host\": " << json_string(u.nodename) << "}";
  return j.str();
}

std::string machine_summary() {
  std::string flags;
  for (const auto& f : crypto_flags()) flags += (flags.empty() ? "" : " ") + f;
  char line[512];
  std::snprintf(line, sizeof line, "%s, %u cores, %.2f GHz TSC; ipsec-mb %s (%s); %s; flags: %s", cpu_model().c_str(),
                std::thread::hardware_concurrency(), static_cast<double>(rte_get_tsc_hz()) / 1e9,
                imb_get_version_str(), ipsec_mb_arch().c_str(), rte_version(), flags.c_str());
  return line;
}

void print_header() {
  std::printf("%-13s %-9s %-5s %7s %8s %8s %8s %10s %8s %9s\n", "system", "direction", "size", "SAs", "Mpps",
              "Gbps L3", "Gbps L2", "cycles/pkt", "of raw", "vs rte_ipsec");
}

void print_row(const Row& r) {
  char raw[16] = "-", peer[16] = "-";
  if (r.of_ceiling > 0) std::snprintf(raw, sizeof raw, "%.0f%%", 100 * r.of_ceiling);
  if (r.vs_rte_ipsec > 0) std::snprintf(peer, sizeof peer, "%.2fx", r.vs_rte_ipsec);
  std::printf("%-13s %-9s %-5s %7u %8.2f %8.2f %8.2f %10.0f %8s %9s\n", r.system.c_str(), r.direction.c_str(),
              r.size.c_str(), r.sas, r.mpps, r.gbps_l3, r.gbps_l2, r.cycles_per_packet, raw, peer);
  std::fflush(stdout);
}

void print_scaling_header() {
  std::printf("%-16s %-9s %-5s %7s %7s %8s %8s %14s %8s %11s %10s\n", "system", "direction", "size", "SAs", "workers",
              "Mpps", "Gbps L3", "cycles/pkt/wkr", "vs 1", "handed/pkt", "cyc/handed");
}

void print_scaling_row(const Row& r) {
  char vs[16] = "-", handed[16] = "-", cost[16] = "-";
  if (r.vs_one_worker > 0) std::snprintf(vs, sizeof vs, "%.2fx", r.vs_one_worker);
  if (r.workers > 1) std::snprintf(handed, sizeof handed, "%.2f", r.handed_per_packet);
  if (r.handoff_cycles != 0) std::snprintf(cost, sizeof cost, "%.0f", r.handoff_cycles);
  std::printf("%-16s %-9s %-5s %7u %7u %8.2f %8.2f %14.0f %8s %11s %10s\n", r.system.c_str(), r.direction.c_str(),
              r.size.c_str(), r.sas, r.workers, r.mpps, r.gbps_l3, r.cycles_per_packet, vs, handed, cost);
  std::fflush(stdout);
}

std::string rows_json(const std::vector<Row>& rows) {
  std::ostringstream j;
  j << "[";
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    j << (i ? ",\n  " : "\n  ") << "{\"system\": " << json_string(r.system) << ", \"direction\": "
      << json_string(r.direction) << ", \"size\": " << json_string(r.size) << ", \"mean_size\": " << r.mean_size
      << ", \"sas\": " << r.sas << ", \"mpps\": " << r.mpps << ", \"gbps_l3\": " << r.gbps_l3
      << ", \"gbps_l2\": " << r.gbps_l2 << ", \"cycles_per_packet\": " << r.cycles_per_packet
      << ", \"of_ceiling\": " << r.of_ceiling << ", \"vs_rte_ipsec\": " << r.vs_rte_ipsec << ", \"sent\": " << r.sent
      << ", \"received\": " << r.received << ", \"dropped\": " << r.dropped << ", \"workers\": " << r.workers
      << ", \"vs_one_worker\": " << r.vs_one_worker << ", \"handed_per_packet\": " << r.handed_per_packet
      << ", \"handoff_cycles\": " << r.handoff_cycles << "}";
  }
  j << "\n]";
  return j.str();
}

bool plot(const std::vector<Row>& rows, const std::string& png, const std::string& title) {
  // One data block per (direction, line), x = mean IP size, y = Gbps at L3.
  std::map<std::pair<std::string, std::string>, std::vector<const Row*>> lines;
  for (const Row& r : rows) {
    if (r.system == "rampart-clear") continue;  // four times the others: it would flatten them
    std::string name = r.system == "ipsec-mb"      ? "ipsec-mb AES-GCM alone (ceiling)"
                       : r.system == "rampart"     ? "rampart pipeline"
                       : r.system == "rampart-esp" ? "rampart ESP stage"
                       : r.system == "rte_ipsec"   ? "DPDK rte_ipsec (ESP only)"
                                                   : r.system;
    name += ", " + std::to_string(r.sas) + (r.sas == 1 ? " SA" : " SAs");  // the ceiling too: one key per SA
    lines[{r.direction, name}].push_back(&r);
  }
  std::string data = png + ".dat", script = png + ".gp";
  std::ofstream d(data), s(script);
  std::vector<std::pair<std::string, std::string>> blocks;
  for (auto& [key, points] : lines) {
    std::sort(points.begin(), points.end(), [](const Row* a, const Row* b) { return a->mean_size < b->mean_size; });
    d << "# " << key.first << " " << key.second << "\n";
    for (const Row* r : points) d << r->mean_size << " " << r->gbps_l3 << " " << r->size << "\n";
    d << "\n\n";
    blocks.push_back(key);
  }
  s << "set terminal pngcairo noenhanced size 1400,600 font ',10'\nset output '" << png << "'\n"
    << "set multiplot layout 1,2 title '" << title << "'\n"
    << "set xlabel 'IP packet size (bytes; IMIX at its mean)'\nset ylabel 'Gbps (IP bytes)'\nset grid\n"
    << "set key top left\n";
  for (const char* direction : {"outbound", "inbound"}) {
    s << "set title '" << direction << "'\nplot ";
    bool first = true;
    for (size_t b = 0; b < blocks.size(); ++b) {
      if (blocks[b].first != direction) continue;
      s << (first ? "" : ", ") << "'" << data << "' index " << b << " using 1:2 with linespoints title '"
        << blocks[b].second << "'";
      first = false;
    }
    if (first) s << "NaN notitle";
    s << "\n";
  }
  s << "unset multiplot\n";
  s.close();
  d.close();
  std::string command = "gnuplot '" + script + "' 2>&1";
  bool drawn = std::system(command.c_str()) == 0;
  if (!drawn) std::fprintf(stderr, "rampart-bench: gnuplot could not draw %s (is gnuplot-nox installed?)\n", png.c_str());
  std::remove(data.c_str());
  std::remove(script.c_str());
  return drawn;
}

}  // namespace rampart::bench
