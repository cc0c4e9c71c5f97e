// What the worker does with an IPv4 packet too big for its tunnel: split it before encryption
// (RFC 4301 section 8.1 allows fragmenting before IPsec; each fragment is then a packet of its
// own), or, when the sender set DF, tell it the MTU it can use (RFC 792 type 3 code 4, the
// message path MTU discovery relies on, RFC 1191). Slow path: it copies.
#pragma once

#include <cstdint>

struct rte_mbuf;
struct rte_mempool;

namespace rampart::dp {

// Splits m (at its IPv4 header, one segment) into fragments of at most max_length bytes of IP
// packet each, into out[]. Returns how many, or 0 if it cannot (no mbufs, more than max_out
// pieces, a header too long for max_length). m is freed when the split succeeds.
unsigned fragment_ipv4(rte_mbuf* m, uint16_t max_length, rte_mempool* pool, rte_mbuf** out, unsigned max_out) noexcept;

// An ICMP "fragmentation needed" for m (at its IPv4 header) from our address, in a new mbuf at
// its IPv4 header, or nullptr if none could be allocated. m is left as it is.
rte_mbuf* icmp_fragmentation_needed(const rte_mbuf* m, uint32_t our_address, uint16_t next_hop_mtu,
                                    rte_mempool* pool) noexcept;

// An ICMPv6 "packet too big" for m (at its IPv6 header) from our_address (RFC 4443 3.2): the MTU
// and as much of m as keeps the message within the IPv6 minimum MTU. nullptr if no mbuf.
rte_mbuf* icmp6_packet_too_big(const rte_mbuf* m, const uint8_t* our_address, uint32_t mtu, rte_mempool* pool) noexcept;

}  // namespace rampart::dp
