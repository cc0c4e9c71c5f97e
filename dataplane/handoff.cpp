#include "dataplane/handoff.hpp"

#include <rte_ring.h>

#include "dataplane/tsan.hpp"

namespace rampart::dp {

Result<std::unique_ptr<HandoffRings>> HandoffRings::create(unsigned workers, const std::string& tag) {
  std::unique_ptr<HandoffRings> rings(new HandoffRings(workers));
  for (unsigned from = 0; from < workers; ++from) {
    for (unsigned to = 0; to < workers; ++to) {
      if (from == to) continue;
      std::string name = "rp_handoff" + tag + "_" + std::to_string(from) + "_" + std::to_string(to);
      rte_ring* ring = rte_ring_create(name.c_str(), kRingSize, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
      if (ring == nullptr) return make_error(Errc::kNoMemory, "cannot create hand-off ring " + name);
      rings->rings_[from * workers + to] = ring;
    }
  }
  return rings;
}

HandoffRings::~HandoffRings() {
  drain();
  for (rte_ring* ring : rings_) rte_ring_free(ring);
}

std::vector<rte_ring*> HandoffRings::outgoing(unsigned self) const {
  std::vector<rte_ring*> out(workers_);
  for (unsigned to = 0; to < workers_; ++to) out[to] = ring(self, to);
  return out;
}

std::vector<rte_ring*> HandoffRings::incoming(unsigned self) const {
  std::vector<rte_ring*> in(workers_);
  for (unsigned from = 0; from < workers_; ++from) in[from] = ring(from, self);
  return in;
}

unsigned HandoffRings::drain() noexcept {
  unsigned freed = 0;
  for (rte_ring* ring : rings_) {
    if (ring == nullptr) continue;
    void* m = nullptr;
    while (rte_ring_dequeue(ring, &m) == 0) {
      rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
      ++freed;
    }
  }
  return freed;
}

Handoff::Handoff(std::vector<rte_ring*> outgoing, std::vector<rte_ring*> incoming)
    : outgoing_(std::move(outgoing)),
      incoming_(std::move(incoming)),
      outboxes_(std::make_unique<Outbox[]>(outgoing_.size())),
      dirty_(std::make_unique<uint16_t[]>(outgoing_.size())) {}

unsigned Handoff::enqueue(unsigned owner, rte_mbuf** pkts, unsigned count) noexcept {
  tsan_release_packets(pkts, count);
  return rte_ring_sp_enqueue_burst(outgoing_[owner], reinterpret_cast<void**>(pkts), count, nullptr);
}

unsigned Handoff::take(unsigned sender, rte_mbuf** pkts, unsigned max) noexcept {
  unsigned n = rte_ring_sc_dequeue_burst(incoming_[sender], reinterpret_cast<void**>(pkts), max, nullptr);
  tsan_acquire_packets(pkts, n);
  return n;
}

}  // namespace rampart::dp
