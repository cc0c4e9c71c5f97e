#include "bench/harness/traffic.hpp"

#include <rte_byteorder.h>
#include <rte_ip.h>

#include <cstring>
#include <numeric>
#include <sstream>

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

void write_ipv4_udp(uint8_t* p, uint16_t length, uint32_t source, uint32_t destination) {
  std::memset(p, 0, 28);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p);
  ip->version_ihl = 0x45;
  ip->total_length = rte_cpu_to_be_16(length);
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_UDP;
  ip->src_addr = rte_cpu_to_be_32(source);
  ip->dst_addr = rte_cpu_to_be_32(destination);
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  p[20] = 0x04;  // ports 1024 -> 1024
  p[22] = 0x04;
  p[24] = static_cast<uint8_t>((length - 20) >> 8);
  p[25] = static_cast<uint8_t>(length - 20);
}

void write_ipv6_udp(uint8_t* p, uint16_t length, const uint8_t* source, const uint8_t* destination) {
  std::memset(p, 0, 48);
  auto* ip = reinterpret_cast<rte_ipv6_hdr*>(p);
  ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
  ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(length - 40));
  ip->proto = IPPROTO_UDP;
  ip->hop_limits = 64;
  std::memcpy(ip->src_addr, source, 16);
  std::memcpy(ip->dst_addr, destination, 16);
  p[40] = 0x04;
  p[42] = 0x04;
  p[44] = static_cast<uint8_t>((length - 40) >> 8);
  p[45] = static_cast<uint8_t>(length - 40);
}

}  // namespace rampart::bench
