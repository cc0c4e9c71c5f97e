// Walking an IPv6 extension header chain to where ESP goes (outbound transport mode) or where
// ESP, or the UDP header of ESP-in-UDP, is (inbound). RFC 4303 section 3.1.1: ESP comes after
// hop-by-hop, routing and fragment headers; destination options may come before or after it.
#pragma once

#include <cstdint>

#include "dataplane/wire_headers.hpp"

namespace rampart::dp {

struct Ipv6Chain {
  bool ok = false;          // false: a header runs past the packet
  bool fragment = false;    // a fragment header was crossed
  unsigned insert_at = 0;   // offset of the first header not walked
  unsigned next_header_at = 0;  // offset of the byte that names it
  uint8_t next = 0;         // its protocol number
};

// inbound: also walk destination options, and stop at ESP or UDP.
inline Ipv6Chain walk_ipv6_chain(const uint8_t* p, uint32_t length, bool inbound) noexcept {
  Ipv6Chain c;
  if (length < sizeof(Ipv6Header)) return c;
  c.next_header_at = offsetof(Ipv6Header, next_header);
  c.next = p[c.next_header_at];
  c.insert_at = sizeof(Ipv6Header);
  // Bounded: each header is at least 8 bytes, so a packet holds fewer than length / 8.
  for (;;) {
    bool walk = c.next == ip_proto::kHopByHop || c.next == ip_proto::kRouting || c.next == ip_proto::kFragment ||
                (inbound && c.next == ip_proto::kDestinationOptions);
    if (!walk) break;
    if (c.insert_at + 8 > length) return c;
    auto* ext = reinterpret_cast<const Ipv6ExtensionHeader*>(p + c.insert_at);
    unsigned size = c.next == ip_proto::kFragment ? 8u : (ext->length + 1u) * 8u;
    if (c.next == ip_proto::kFragment) c.fragment = true;
    if (c.insert_at + size > length) return c;
    c.next_header_at = c.insert_at;
    c.next = ext->next_header;
    c.insert_at += size;
  }
  c.ok = true;
  return c;
}

}  // namespace rampart::dp
