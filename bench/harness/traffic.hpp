// What rampart-bench sends: the parameters of a run and the packets they describe. Sizes are IP
// packet lengths; "imix" is 7:4:1 of 64/570/1518 (the simple IMIX). Flows are spread over the
// SAs round robin, each SA with its own destination; addresses come from the documentation
// ranges (IPv4 destinations from 198.18.0.0/15, RFC 2544's benchmarking range).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rampart::bench {

struct SizeSpec {
  std::string name;              // "64", "imix"
  std::vector<uint16_t> lengths;  // cycled through packet by packet
  double mean() const;
};

// "64,512,1420,imix" -> specs; nullopt when a size is not a number from 64 to 1518 or "imix".
std::optional<std::vector<SizeSpec>> parse_sizes(const std::string& text);

enum class Direction : uint8_t { kOutbound, kInbound };
const char* direction_name(Direction d);

// Writes an IPv4 or IPv6 UDP packet of `length` bytes (IP header included) at p.
void write_ipv4_udp(uint8_t* p, uint16_t length, uint32_t source, uint32_t destination);  // host order
void write_ipv6_udp(uint8_t* p, uint16_t length, const uint8_t* source, const uint8_t* destination);

// Bytes on the wire per packet beyond the IP packet: Ethernet header and FCS (L2 Gbps counts
// them; preamble and gap are not counted).
inline constexpr unsigned kL2Overhead = 14 + 4;

}  // namespace rampart::bench
