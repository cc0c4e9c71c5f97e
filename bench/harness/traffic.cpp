#include "bench/harness/traffic.hpp"

#include <rte_byteorder.h>
#include <rte_ip.h>

#include <cstring>
#include <numeric>
#include <sstream>

#include "dataplane/udp_headers.hpp"

namespace rampart::bench {

double SizeSpec::mean() const {
  return static_cast<double>(std::accumulate(lengths.begin(), lengths.end(), 0u)) / static_cast<double>(lengths.size());
}

std::optional<std::vector<SizeSpec>> parse_sizes(const std::string& text) {
  std::vector<SizeSpec> out;
  std::istringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    if (item == "imix") {
      // 7:4:1, interleaved so that every burst sees the mix.
      out.push_back({"imix", {64, 570, 64, 64, 570, 64, 1518, 64, 570, 64, 570, 64}});
      continue;
    }
    char* end = nullptr;
    unsigned long n = std::strtoul(item.c_str(), &end, 10);
    if (item.empty() || *end != 0 || n < 64 || n > 1518) return std::nullopt;
    out.push_back({item, {static_cast<uint16_t>(n)}});
  }
  if (out.empty()) return std::nullopt;
  return out;
}

const char* direction_name(Direction d) { return d == Direction::kOutbound ? "outbound" : "inbound"; }

// Ports 1024 -> 1024; length is the IP packet's.
void write_ipv4_udp(uint8_t* p, uint16_t length, uint32_t source, uint32_t destination) {
  uint32_t from = rte_cpu_to_be_32(source), to = rte_cpu_to_be_32(destination);
  dp::write_ipv4_udp(p, {reinterpret_cast<const uint8_t*>(&from), reinterpret_cast<const uint8_t*>(&to), 1024, 1024},
                     static_cast<uint16_t>(length - dp::kIpv4UdpHeaders));
}

void write_ipv6_udp(uint8_t* p, uint16_t length, const uint8_t* source, const uint8_t* destination) {
  dp::write_ipv6_udp(p, {source, destination, 1024, 1024}, static_cast<uint16_t>(length - dp::kIpv6UdpHeaders));
}

}  // namespace rampart::bench
