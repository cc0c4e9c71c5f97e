// Hand-off between workers. Each SA has one owning worker, the only one that writes its sequence
// numbers, window and counters (so no nonce is used twice and nothing needs an atomic). A worker
// that meets a packet of an SA it does not own passes the packet to the owner over a
// single-producer/single-consumer ring, one per ordered pair of workers, as VPP's ipsec handoff
// nodes do. What travels is the mbuf alone, tagged with what the owner needs to find the SA in
// its own state: the slot (outbound) or where the SPI is (inbound). Never an SaRuntime pointer:
// the producer's grace period covers only its own pass, and a pointer sitting in a ring could
// outlive the SA it names. Packets of one flow come in on one queue, so they pass through one
// ring in order, and the owner keeps that order.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "dataplane/burst.hpp"

struct rte_ring;

namespace rampart::dp {

// SaRuntime::owner is a byte; EAL has at most RTE_MAX_LCORE (128) lcores, one of them the control core.
inline constexpr unsigned kMaxWorkers = 127;

// What a handed packet carries in mbuf->hash.usr (the RSS hash is spent by then).
inline constexpr uint32_t kHandedInbound = 1u << 31;
inline void tag_handed_outbound(rte_mbuf* m, uint32_t slot) noexcept { m->hash.usr = slot; }
inline void tag_handed_inbound(rte_mbuf* m, uint16_t spi_at) noexcept { m->hash.usr = kHandedInbound | spi_at; }
inline bool handed_inbound(const rte_mbuf* m) noexcept { return (m->hash.usr & kHandedInbound) != 0; }
inline uint32_t handed_slot(const rte_mbuf* m) noexcept { return m->hash.usr; }
inline uint16_t handed_spi_at(const rte_mbuf* m) noexcept { return static_cast<uint16_t>(m->hash.usr); }

// The gateway's rings between workers: workers x (workers - 1) of them, created at start and
// freed with the gateway.
class HandoffRings {
 public:
  static constexpr unsigned kRingSize = 1024;  // per pair: 32 bursts in flight

  static Result<std::unique_ptr<HandoffRings>> create(unsigned workers, const std::string& tag);
  ~HandoffRings();
  HandoffRings(const HandoffRings&) = delete;
  HandoffRings& operator=(const HandoffRings&) = delete;

  // The ring from one worker to another (nullptr when they are the same).
  rte_ring* ring(unsigned from, unsigned to) const noexcept { return rings_[from * workers_ + to]; }
  // What worker `self` sends on (by owner) and takes from (by sender).
  std::vector<rte_ring*> outgoing(unsigned self) const;
  std::vector<rte_ring*> incoming(unsigned self) const;
  // Frees the mbufs still in the rings (once no worker runs); returns how many.
  unsigned drain() noexcept;

 private:
  explicit HandoffRings(unsigned workers) : workers_(workers), rings_(size_t{workers} * workers, nullptr) {}
  unsigned workers_;
  std::vector<rte_ring*> rings_;  // [from * workers + to]
};

// A worker's side: a burst-sized outbox per owner, filled while a burst is sorted and sent
// whole at its end (one ring enqueue per owner per burst, no per-packet atomic), and the rings
// from every other worker to take from. A full ring loses nothing: the sender keeps the rest and
// stops taking from its queues until the owner has room, so an owner that falls behind pushes
// back on the ports' rx queues (where a NIC counts what it cannot take as missed).
class Handoff {
 public:
  Handoff(std::vector<rte_ring*> outgoing, std::vector<rte_ring*> incoming);

  unsigned workers() const noexcept { return static_cast<unsigned>(outgoing_.size()); }
  // The outbox to `owner` has room for a burst's packets: process() hands off at most one burst,
  // and runs only when every outbox is empty.
  void push(unsigned owner, rte_mbuf* m) noexcept {
    Outbox& box = outboxes_[owner];
    if (box.count == 0) dirty_[dirty_count_++] = static_cast<uint16_t>(owner);
    box.pkts[box.count++] = m;
  }
  bool pending() const noexcept { return dirty_count_ != 0; }
  // Sends every outbox; what a full ring did not take stays in its outbox, in order, for the
  // next call (the worker takes nothing from its queues meanwhile). Returns how many went.
  unsigned flush() noexcept {
    unsigned sent = 0, still = 0;
    for (unsigned d = 0; d < dirty_count_; ++d) {
      Outbox& box = outboxes_[dirty_[d]];
      unsigned n = enqueue(dirty_[d], box.pkts, box.count);
      sent += n;
      if (n < box.count) {
        std::memmove(box.pkts, box.pkts + n, (box.count - n) * sizeof box.pkts[0]);
        box.count = static_cast<uint16_t>(box.count - n);
        dirty_[still++] = dirty_[d];
      } else {
        box.count = 0;
      }
    }
    dirty_count_ = still;
    return sent;
  }
  // At the worker's end: gives every packet still in an outbox to f, and empties them.
  template <typename F>
  void abandon(F&& f) noexcept {
    for (unsigned d = 0; d < dirty_count_; ++d) {
      Outbox& box = outboxes_[dirty_[d]];
      for (uint16_t i = 0; i < box.count; ++i) f(box.pkts[i]);
      box.count = 0;
    }
    dirty_count_ = 0;
  }
  // Takes up to `max` packets handed by worker `sender`.
  unsigned take(unsigned sender, rte_mbuf** pkts, unsigned max) noexcept;

 private:
  unsigned enqueue(unsigned owner, rte_mbuf** pkts, unsigned count) noexcept;
  struct Outbox {
    uint16_t count = 0;
    rte_mbuf* pkts[kMaxBurst];
  };
  std::vector<rte_ring*> outgoing_;  // by owner; nullptr for self
  std::vector<rte_ring*> incoming_;  // by sender; nullptr for self
  std::unique_ptr<Outbox[]> outboxes_;
  std::unique_ptr<uint16_t[]> dirty_;  // owners with a non-empty outbox, in the order they filled
  unsigned dirty_count_ = 0;
};

}  // namespace rampart::dp
