// The headers the ESP path reads and writes, each under its RFC diagram. Fields are big-endian
// types (common/byte_order.hpp): reading one without converting does not compile.
#pragma once

#include <cstdint>

#include "common/byte_order.hpp"

namespace rampart::dp {

//  RFC 791 section 3.1
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |Version|  IHL  |Type of Service|          Total Length         |
//  |         Identification        |Flags|      Fragment Offset    |
//  |  Time to Live |    Protocol   |         Header Checksum       |
//  |                       Source Address                          |
//  |                    Destination Address                        |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
struct Ipv4Header {
  uint8_t version_ihl;
  uint8_t tos;  // DSCP (6 bits) and ECN (2 bits), RFC 2474 / RFC 3168
  Be16 total_length;
  Be16 id;
  Be16 flags_fragment;
  uint8_t ttl;
  uint8_t protocol;
  Be16 checksum;
  uint8_t source[4];
  uint8_t destination[4];

  unsigned header_length() const noexcept { return (version_ihl & 0x0fu) * 4u; }
};
static_assert(sizeof(Ipv4Header) == 20);

inline constexpr uint16_t kIpv4DontFragment = 0x4000;
inline constexpr uint16_t kIpv4MoreFragments = 0x2000;
inline constexpr uint16_t kIpv4FragmentOffsetMask = 0x1fff;

//  RFC 8200 section 3
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |Version| Traffic Class |           Flow Label                  |
//  |         Payload Length        |  Next Header  |   Hop Limit   |
//  |                     Source Address (128 bits)                 |
//  |                  Destination Address (128 bits)               |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
struct Ipv6Header {
  Be32 version_class_flow;
  Be16 payload_length;
  uint8_t next_header;
  uint8_t hop_limit;
  uint8_t source[16];
  uint8_t destination[16];

  uint8_t traffic_class() const noexcept { return static_cast<uint8_t>(version_class_flow.get() >> 20); }
  void set_traffic_class(uint8_t tc) noexcept {
    version_class_flow.set((version_class_flow.get() & 0xf00fffffu) | (uint32_t{tc} << 20));
  }
};
static_assert(sizeof(Ipv6Header) == 40);

// RFC 8200 section 4: the extension headers that share the "next header, length" layout.
// Length is in 8-byte units, not counting the first 8 bytes; the fragment header is always 8.
struct Ipv6ExtensionHeader {
  uint8_t next_header;
  uint8_t length;
};

//  RFC 768
//  |          Source Port          |       Destination Port        |
//  |            Length             |           Checksum            |
struct UdpHeader {
  Be16 source_port;
  Be16 destination_port;
  Be16 length;
  Be16 checksum;
};
static_assert(sizeof(UdpHeader) == 8);

//  RFC 4303 section 2
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |               Security Parameters Index (SPI)                 |
//  |                      Sequence Number                          |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                    Payload Data* (variable)                   |  <- for AES-GCM the first
//  ~                                                               ~     8 bytes are the IV
//  |               |     Padding (0-255 bytes)                     |     (RFC 4106 section 3)
//  |                               |  Pad Length   | Next Header   |
//  |         Integrity Check Value-ICV   (variable)                |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
struct EspHeader {
  Be32 spi;
  Be32 seq;
};
static_assert(sizeof(EspHeader) == 8);

struct EspTrailer {
  uint8_t pad_length;
  uint8_t next_header;
};
static_assert(sizeof(EspTrailer) == 2);

namespace ip_proto {
inline constexpr uint8_t kHopByHop = 0;
inline constexpr uint8_t kIcmp = 1;
inline constexpr uint8_t kIpv4 = 4;   // IP-in-IP: a tunnelled IPv4 packet
inline constexpr uint8_t kTcp = 6;
inline constexpr uint8_t kUdp = 17;
inline constexpr uint8_t kIpv6 = 41;  // a tunnelled IPv6 packet
inline constexpr uint8_t kRouting = 43;
inline constexpr uint8_t kFragment = 44;
inline constexpr uint8_t kEsp = 50;
inline constexpr uint8_t kAh = 51;
inline constexpr uint8_t kNoNext = 59;  // RFC 4303 section 2.6: a dummy (TFC) packet
inline constexpr uint8_t kDestinationOptions = 60;
}  // namespace ip_proto

// ECN codepoints, RFC 3168 section 5.
inline constexpr uint8_t kEcnMask = 0x03;
inline constexpr uint8_t kEcnNotEct = 0x00;
inline constexpr uint8_t kEcnEct1 = 0x01;
inline constexpr uint8_t kEcnEct0 = 0x02;
inline constexpr uint8_t kEcnCe = 0x03;

}  // namespace rampart::dp
