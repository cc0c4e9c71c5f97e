// A spread outbound SA in the ESP stage, one thread acting as each of its workers in turn: the
// sequence numbers they reserve a run at a time, their own tallies, and lifetimes split in
// shares that add up to the SA's limits. many_workers_test runs it on real worker threads.
#include <catch2/catch.hpp>

#include <set>

#include "tests/dataplane/esp_harness.hpp"

using namespace rampart;
using namespace rampart::test;
using dp::DropReason;

namespace {

uint32_t seq_of(const Bytes& esp) {
  return uint32_t{esp[24]} << 24 | uint32_t{esp[25]} << 16 | uint32_t{esp[26]} << 8 | esp[27];  // after IPv4 (20) and the SPI
}

dp::SaParams spread_out(SaPair& pair) {
  pair.out.spread = true;
  return pair.out;
}

}  // namespace

TEST_CASE("spread SA: workers take runs of sequence numbers, count in their own tallies", "[dp][esp][spread]") {
  EspHarness h;
  SaPair pair = make_sa_pair(dp::SaMode::kTunnel, dp::IpFamily::kIpv4, 16, false, false);
  auto out = h.sa(spread_out(pair), 3);
  auto in = h.sa(pair.in);
  REQUIRE(out->spread);
  REQUIRE(out->tally_count == 3);
  CHECK_FALSE(h.sa(spread_out(pair), 1)->spread);  // one worker: its owner alone, as any SA

  Bytes plain = ipv4_udp({v4(192, 0, 2, 1), v4(203, 0, 113, 2), 100});
  std::set<uint32_t> seqs;
  std::vector<Bytes> sealed;
  const unsigned runs[] = {5, 1, 32, 7, 3, 40};  // 40: a full burst, then 8
  for (unsigned r = 0; r < std::size(runs); ++r) {
    h.context().worker = r % 3;
    Processed p = h.outbound(*out, std::vector<Bytes>(runs[r], plain));
    REQUIRE(p.good.size() == runs[r]);
    uint32_t first = seq_of(p.good[0]);
    for (size_t i = 0; i < p.good.size(); ++i) {
      CHECK(seq_of(p.good[i]) == first + i);  // a run's numbers are consecutive
      CHECK(seqs.insert(seq_of(p.good[i])).second);
    }
    sealed.insert(sealed.end(), p.good.begin(), p.good.end());
  }
  CHECK(seqs.size() == 88);
  CHECK(*seqs.rbegin() == 88);  // no gaps when nothing was dropped
  CHECK(h.inbound(*in, sealed).good.size() == 88);

  CHECK(out->packets.get() == 0);  // the SA's own counters belong to an owner; nobody here is one
  CHECK(out->tallies[0].packets.get() == 5 + 7);
  CHECK(out->tallies[1].packets.get() == 1 + 3);
  CHECK(out->tallies[2].packets.get() == 32 + 40);
  dp::SaTotals totals = dp::sa_totals(*out);
  CHECK(totals.packets == 88);
  CHECK(totals.bytes == 88 * plain.size());
  CHECK(mbufs_in_use() == 0);
}

TEST_CASE("spread SA: small limits are split in fixed shares, which never add up to more",
          "[dp][esp][spread]") {
  EspHarness h;
  SaPair pair = make_sa_pair(dp::SaMode::kTunnel, dp::IpFamily::kIpv4, 16, false, false);
  Bytes plain = ipv4_udp({v4(192, 0, 2, 1), v4(203, 0, 113, 2), 72});  // 100 bytes
  pair.out.lifetime.soft_bytes = 1000;
  pair.out.lifetime.hard_bytes = 2001;
  auto out = h.sa(spread_out(pair), 2);
  CHECK(out->tallies[0].hard_bytes + out->tallies[1].hard_bytes == 2001);
  CHECK(out->tallies[0].soft_bytes == 500);

  // All the traffic on worker 0: its soft share raises the event, its hard share stops the SA.
  h.context().worker = 0;
  Processed first = h.outbound(*out, std::vector<Bytes>(5, plain));
  CHECK(first.good.size() == 5);
  auto soft = h.events();
  REQUIRE(soft.size() == 1);
  CHECK(soft[0].kind == dp::SaEventKind::kSoftLifetime);
  Processed rest = h.outbound(*out, std::vector<Bytes>(8, plain));
  CHECK(rest.good.size() == 5);  // 1,000 of its 1,001 bytes
  CHECK(rest.dropped == std::vector<DropReason>(3, DropReason::kSaExpired));
  CHECK(out->state.load() == dp::SaState::kExpired);
  // Stopped for every worker, though worker 1 used none of its share.
  h.context().worker = 1;
  CHECK(h.outbound(*out, {plain}).dropped == std::vector<DropReason>{DropReason::kSaExpired});
  CHECK(dp::sa_totals(*out).bytes <= 2001);
  CHECK(dp::sa_totals(*out).drops == 4);
  CHECK(mbufs_in_use() == 0);
}

TEST_CASE("spread SA: the sequence space ends for every worker at its last number", "[dp][esp][spread]") {
  EspHarness h;
  SaPair pair = make_sa_pair(dp::SaMode::kTunnel, dp::IpFamily::kIpv4, 16, false, false);
  pair.out.initial_seq = 0xfffffffdull;
  auto out = h.sa(spread_out(pair), 2);
  Bytes plain = ipv4_udp({v4(192, 0, 2, 1), v4(203, 0, 113, 2)});
  h.context().worker = 1;
  Processed p = h.outbound(*out, std::vector<Bytes>(3, plain));
  REQUIRE(p.good.size() == 2);  // 0xfffffffe and 0xffffffff
  CHECK(seq_of(p.good[1]) == 0xffffffffu);
  CHECK(p.dropped == std::vector<DropReason>{DropReason::kSeqOverflow});
  h.context().worker = 0;
  CHECK(h.outbound(*out, {plain}).dropped == std::vector<DropReason>{DropReason::kSaExpired});
  CHECK(mbufs_in_use() == 0);
}

TEST_CASE("spread SA: a worker's budget is what the others left, less a margin for their runs in flight",
          "[dp][esp][spread]") {
  EspHarness h;
  SaPair pair = make_sa_pair(dp::SaMode::kTunnel, dp::IpFamily::kIpv4, 16, false, false);
  pair.out.lifetime.soft_packets = 100;
  pair.out.lifetime.hard_packets = 200;  // above twice the margin (one burst of 64 for the other worker)
  auto out = h.sa(spread_out(pair), 2);
  REQUIRE(out->shared->pooled);
  Bytes plain = ipv4_udp({v4(192, 0, 2, 1), v4(203, 0, 113, 2)});

  // All on worker 0: the soft limit is the SA's, not half of it.
  h.context().worker = 0;
  CHECK(h.outbound(*out, std::vector<Bytes>(99, plain)).good.size() == 99);
  CHECK(h.events().empty());
  CHECK(h.outbound(*out, {plain}).good.size() == 1);
  auto soft = h.events();
  REQUIRE(soft.size() == 1);
  CHECK(soft[0].kind == dp::SaEventKind::kSoftLifetime);
  // It may go on to the limit less the margin: 136, well past an even share of 100.
  Processed rest = h.outbound(*out, std::vector<Bytes>(40, plain));
  CHECK(rest.good.size() == 36);
  CHECK(rest.dropped == std::vector<DropReason>(4, DropReason::kSaExpired));
  CHECK(out->state.load() == dp::SaState::kExpired);

  // Worker 1 finds the SA stopped; and had worker 0 not stopped it, worker 1's budget would be
  // what worker 0 left: 200 - 64 - 136 = 0.
  h.context().worker = 1;
  CHECK(h.outbound(*out, {plain}).dropped == std::vector<DropReason>{DropReason::kSaExpired});
  dp::refresh_budget(*out, 1);
  CHECK(out->tallies[1].hard_packets == 0);
  CHECK(dp::sa_totals(*out).packets == 136);
  CHECK(mbufs_in_use() == 0);
}
