// Fragments addressed to the gateway are put back together before anything reads them: ESP
// first (RFC 4303 3.4.1: "reassembly is performed prior to IPsec processing"; a path with a
// smaller MTU than the peer assumed fragments its ESP), and IKE messages too big for one packet
// (IKE_AUTH with certificates). DPDK's rte_ip_frag does the work, one table per worker, so no
// state is shared. Packets passing through are not reassembled: that is their receiver's job.
#pragma once

#include <rte_ip_frag.h>

#include <cstdint>
#include <utility>

#include "common/result.hpp"

struct rte_mbuf;
struct rte_mempool;

namespace rampart::dp {

class Reassembler {
 public:
  // Room for max_packets packets in reassembly at once; a packet's fragments are given up
  // timeout_ms after its first arrived. A whole packet that does not fit the first fragment's
  // mbuf is copied into one from large_pool (one segment of up to 64 KiB; may be null).
  static Result<Reassembler> create(uint32_t max_packets, uint32_t timeout_ms, rte_mempool* large_pool, int socket);
  Reassembler(Reassembler&& other) noexcept;
  Reassembler& operator=(Reassembler&&) = delete;
  ~Reassembler();

  // Does m (at its Ethernet header) carry a fragment of an IPv4 packet, or of an IPv6 packet
  // whose fragment header follows the fixed header? Only the headers are looked at.
  static bool is_fragment(const rte_mbuf* m) noexcept;
  // Is that fragment's protocol ESP? Transport-mode ESP to a host behind the gateway is put
  // back together here too (RFC 4303 3.4.1), though not addressed to the gateway.
  static bool carries_esp(const rte_mbuf* m) noexcept;

  // Takes m, a fragment (is_fragment), at its Ethernet header. Returns the whole packet, in one
  // segment at the first fragment's Ethernet header, when m was the last piece missing; nullptr
  // when m is held for more or was given up (malformed, overlapping, too many pieces, too big
  // for one mbuf: counted by release()). now is the TSC.
  rte_mbuf* add(rte_mbuf* m, uint64_t now) noexcept;

  // Frees the fragments given up since the last call (including those that timed out by now)
  // and returns how many mbufs that was.
  uint32_t release(uint64_t now) noexcept;

  // For the accounts (every packet in is out, dropped, or held): fragments that became part of
  // a whole packet beyond its first, since the last call; and fragments held right now.
  uint32_t take_merged() noexcept { return std::exchange(merged_, 0); }
  uint32_t holding() const noexcept { return holding_; }

  // Frees everything held, at shutdown, and returns how many fragments that was (with those
  // given up and not yet released); add() gives up on whatever comes after.
  uint32_t close() noexcept;

 private:
  Reassembler() = default;
  rte_mbuf* give_up(rte_mbuf* m) noexcept;
  rte_mbuf* into_one_segment(rte_mbuf* chain) noexcept;

  rte_ip_frag_tbl* table_ = nullptr;
  rte_mempool* large_pool_ = nullptr;
  rte_ip_frag_death_row death_row_{};
  uint32_t given_up_ = 0;  // freed here rather than through the death row
  uint32_t merged_ = 0;
  uint32_t holding_ = 0;   // in the table or its death row
};

}  // namespace rampart::dp
