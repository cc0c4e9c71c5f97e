// The rings between workers on their own: a full ring keeps what it did not take in the
// sender's outbox, in order, and sends it once the owner has made room.
#include <catch2/catch.hpp>

#include <vector>

#include "dataplane/handoff.hpp"
#include "tests/support/packets.hpp"

using namespace rampart;

TEST_CASE("hand-off: a full ring loses nothing and keeps the order", "[dp][handoff]") {
  auto rings = dp::HandoffRings::create(2, "_ht");
  REQUIRE(rings.ok());
  dp::Handoff sender((*rings)->outgoing(1), (*rings)->incoming(1));
  dp::Handoff owner((*rings)->outgoing(0), (*rings)->incoming(0));
  std::vector<rte_mbuf*> sent, received;
  uint32_t next = 0;
  // Bursts of 32 until three rings' worth went, taking a burst from time to time: the ring
  // fills, the sender keeps the rest, and goes on once there is room.
  for (int pass = 0; pass < 400 && received.size() < 3 * dp::HandoffRings::kRingSize; ++pass) {
    if (!sender.pending()) {
      for (int i = 0; i < 32; ++i) {
        rte_mbuf* m = rte_pktmbuf_alloc(test::packet_pool());
        REQUIRE(m != nullptr);
        dp::tag_handed_outbound(m, next++);
        sender.push(0, m);
        sent.push_back(m);
      }
    }
    sender.flush();
    if (pass % 3 == 0) {
      rte_mbuf* pkts[dp::kMaxBurst];
      unsigned n = owner.take(1, pkts, dp::kMaxBurst);
      received.insert(received.end(), pkts, pkts + n);
    }
  }
  while (sender.pending() || received.size() < sent.size()) {
    sender.flush();
    rte_mbuf* pkts[dp::kMaxBurst];
    unsigned n = owner.take(1, pkts, dp::kMaxBurst);
    REQUIRE((n > 0 || sender.pending()));
    received.insert(received.end(), pkts, pkts + n);
  }
  REQUIRE(received.size() == sent.size());
  for (size_t i = 0; i < sent.size(); ++i) CHECK(dp::handed_slot(received[i]) == i);
  for (rte_mbuf* m : received) rte_pktmbuf_free(m);
  CHECK(test::mbufs_in_use() == 0);
}
