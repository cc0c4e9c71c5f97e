// Hostile and broken input on the inbound path: every drop reason counted exactly once, the
// window untouched by forgeries, and every mbuf back in the pool.
#include <catch2/catch.hpp>

#include "crypto/aes_gcm.hpp"
#include "dataplane/wire_headers.hpp"
#include "tests/dataplane/esp_harness.hpp"

using namespace rampart;
using namespace rampart::test;
using dp::DropReason;

namespace {

// Builds an IPv4 tunnel-mode ESP packet by hand from a plaintext that already holds its trailer,
// so tests can send what our outbound never would (bad padding, dummy packets, odd next headers).
Bytes craft_esp(const EspHarness& h, const dp::SaParams& sa, uint32_t seq, const Bytes& plaintext_with_trailer) {
  static crypto::GcmKey key;
  REQUIRE(crypto::gcm_key_init(h.mb(), std::span(sa.key.data(), sa.key_length), sa.salt, key).ok());
  Bytes p(20 + 8 + 8 + plaintext_with_trailer.size() + 16);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p.data());
  ip->version_ihl = 0x45;
  ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(p.size()));
  ip->time_to_live = 64;
  ip->next_proto_id = dp::ip_proto::kEsp;
  std::memcpy(&ip->src_addr, sa.tunnel_source.data(), 4);
  std::memcpy(&ip->dst_addr, sa.tunnel_destination.data(), 4);
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  uint8_t* esp = p.data() + 20;
  uint32_t spi_be = rte_cpu_to_be_32(sa.spi), seq_be = rte_cpu_to_be_32(seq);
  std::memcpy(esp, &spi_be, 4);
  std::memcpy(esp + 4, &seq_be, 4);
  esp[15] = static_cast<uint8_t>(seq);  // IV
  std::copy(plaintext_with_trailer.begin(), plaintext_with_trailer.end(), esp + 16);
  crypto::AeadOp op{&key, esp + 16, esp + 16, static_cast<uint32_t>(plaintext_with_trailer.size()), esp + 8, esp, 8,
                    esp + 16 + plaintext_with_trailer.size()};
  crypto::gcm_seal_burst(h.mb(), {&op, 1});
  return p;
}

// An inner packet with the ESP trailer RFC 4303 asks for.
Bytes with_trailer(Bytes inner, uint8_t next_header, uint8_t pad) {
  for (uint8_t k = 1; k <= pad; ++k) inner.push_back(k);
  inner.push_back(pad);
  inner.push_back(next_header);
  return inner;
}

struct Fixture {
  EspHarness h;
  SaPair pair = make_sa_pair(dp::SaMode::kTunnel, dp::IpFamily::kIpv4, 16, false, false);
  std::unique_ptr<dp::SaRuntime> out = h.sa(pair.out);
  std::unique_ptr<dp::SaRuntime> in = h.sa(pair.in);
  Bytes inner = ipv4_udp({v4(192, 0, 2, 10), v4(203, 0, 113, 20), 50});

  std::vector<Bytes> seal(size_t n) {
    std::vector<Bytes> plain(n, inner);
    Processed p = h.outbound(*out, plain);
    REQUIRE(p.good.size() == n);
    return p.good;
  }
  // Sends one packet inbound and returns its drop reason, or kCount if it was accepted.
  DropReason verdict(const Bytes& packet) {
    Processed p = h.inbound(*in, {packet});
    return p.dropped.empty() ? DropReason::kCount : p.dropped[0];
  }
};

}  // namespace

TEST_CASE_METHOD(Fixture, "a tampered packet fails the ICV and does not move the window", "[dp][esp][drop]") {
  auto sealed = seal(2);
  for (size_t at : {size_t{25} /* seq */, size_t{30} /* IV */, size_t{40} /* ciphertext */, sealed[0].size() - 1 /* ICV */}) {
    Bytes forged = sealed[0];
    forged[at] ^= 0x40;
    CHECK(verdict(forged) == DropReason::kIcvFailed);
  }
  CHECK(h.dropped(DropReason::kIcvFailed) == 4);
  CHECK(in->window->top() == 0);
  // The genuine packets are still accepted: the forgeries did not mark their numbers seen.
  CHECK(verdict(sealed[0]) == DropReason::kCount);
  CHECK(verdict(sealed[1]) == DropReason::kCount);
  CHECK(in->drops[size_t(DropReason::kIcvFailed)].get() == 4);
  CHECK(mbufs_in_use() == 0);
}

TEST_CASE_METHOD(Fixture, "replays: duplicates, duplicates in one burst, too old", "[dp][esp][drop][replay]") {
  pair.in.replay_window = 32;
  in = h.sa(pair.in);
  auto sealed = seal(100);
  CHECK(verdict(sealed[0]) == DropReason::kCount);
  CHECK(verdict(sealed[0]) == DropReason::kReplay);
  // The same packet twice in one burst: both pass the early check, the second is caught after.
  Processed p = h.inbound(*in, {sealed[1], sealed[1]});
  CHECK(p.good.size() == 1);
  CHECK(p.dropped == std::vector<DropReason>{DropReason::kReplay});
  CHECK(verdict(sealed[99]) == DropReason::kCount);              // seq 100: the window's top
  CHECK(verdict(sealed[99 - 31]) == DropReason::kCount);         // seq 69: the oldest still inside
  CHECK(verdict(sealed[99 - 32]) == DropReason::kOutOfWindow);   // seq 68: just outside
  CHECK(h.dropped(DropReason::kReplay) == 2);
  CHECK(h.dropped(DropReason::kOutOfWindow) == 1);
  CHECK(h.dropped_total() == 3);
  CHECK(mbufs_in_use() == 0);
}

TEST_CASE_METHOD(Fixture, "replay window 0: anti-replay off, every authentic packet accepted, forgeries still not",
                 "[dp][esp][drop][replay]") {
  pair.in.replay_window = 0;
  in = h.sa(pair.in);
  REQUIRE(in->window->off());
  auto sealed = seal(100);
  CHECK(verdict(sealed[99]) == DropReason::kCount);
  CHECK(verdict(sealed[99]) == DropReason::kCount);  // a replay
  CHECK(verdict(sealed[0]) == DropReason::kCount);   // 99 behind: outside a 64-packet window
  Processed p = h.inbound(*in, {sealed[1], sealed[1]});
  CHECK(p.good.size() == 2);
  Bytes forged = sealed[1];
  forged.back() ^= 1;
  CHECK(verdict(forged) == DropReason::kIcvFailed);
  CHECK(in->window->top() == 100);
  CHECK(h.dropped_total() == 1);

  pair.in.esn = true;  // ESN infers high bits from the window (RFC 4303 2.2.1)
  auto refused = dp::create_sa(h.mb(), pair.in);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.message().find("ESN needs anti-replay") != std::string::npos);
  CHECK(mbufs_in_use() == 0);
}

TEST_CASE_METHOD(Fixture, "truncated and malformed outer packets", "[dp][esp][drop]") {
  auto sealed = seal(1);
  const Bytes& good = sealed[0];
  CHECK(verdict(Bytes(good.begin(), good.begin() + 10)) == DropReason::kRunt);

  Bytes short_esp(good.begin(), good.begin() + 20 + 8 + 8 + 16);  // no room for a trailer
  short_esp[2] = 0;
  short_esp[3] = static_cast<uint8_t>(short_esp.size());
  CHECK(verdict(short_esp) == DropReason::kRunt);

  Bytes long_claim = good;
  long_claim[2] = 0xff;  // total length beyond the packet
  CHECK(verdict(long_claim) == DropReason::kBadLength);

  Bytes misaligned = good;
  misaligned.resize(good.size() - 1);
  misaligned[3] = static_cast<uint8_t>(misaligned[3] - 1);
  CHECK(verdict(misaligned) == DropReason::kBadLength);

  Bytes not_esp = good;
  not_esp[9] = dp::ip_proto::kTcp;
  CHECK(verdict(not_esp) == DropReason::kNotEsp);

  Bytes fragment = good;
  fragment[6] = 0x20;  // more fragments
  CHECK(verdict(fragment) == DropReason::kFragment);

  Bytes v6_claim = good;
  v6_claim[0] = 0x65;
  CHECK(verdict(v6_claim) == DropReason::kNotIp);

  Bytes other_spi = good;
  other_spi[23] ^= 1;
  CHECK(verdict(other_spi) == DropReason::kSpiMismatch);

  // Ethernet padding after the IP packet is trimmed, not treated as ESP.
  Bytes padded = good;
  padded.resize(good.size() + 6, 0);
  CHECK(verdict(padded) == DropReason::kCount);
  CHECK(h.dropped_total() == 8);
  CHECK(mbufs_in_use() == 0);
}

TEST_CASE_METHOD(Fixture, "padding, next header and dummy packets", "[dp][esp][drop]") {
  // A correct hand-made packet is accepted, so the drops below are about the one thing changed.
  CHECK(verdict(craft_esp(h, pair.in, 1, with_trailer(inner, dp::ip_proto::kIpv4, 0))) == DropReason::kCount);

  Bytes bad_pad = with_trailer(inner, dp::ip_proto::kIpv4, 4);
  bad_pad[inner.size() + 2] = 9;  // pad bytes must be 1, 2, 3, 4
  CHECK(verdict(craft_esp(h, pair.in, 2, bad_pad)) == DropReason::kBadPadding);

  Bytes pad_too_long = with_trailer(inner, dp::ip_proto::kIpv4, 0);
  pad_too_long[pad_too_long.size() - 2] = 250;
  CHECK(verdict(craft_esp(h, pair.in, 3, pad_too_long)) == DropReason::kBadPadding);

  CHECK(verdict(craft_esp(h, pair.in, 4, with_trailer(inner, dp::ip_proto::kUdp, 0))) == DropReason::kBadNextHeader);

  // RFC 4303 section 2.6: a dummy packet (next header 59) is dropped silently, but counted.
  CHECK(verdict(craft_esp(h, pair.in, 5, with_trailer(Bytes(30, 0xaa), dp::ip_proto::kNoNext, 0))) ==
        DropReason::kDummy);

  // TFC padding after the inner packet (RFC 4303 section 2.7) is accepted and cut off.
  Bytes tfc = inner;
  tfc.resize(inner.size() + 64, 0x5a);
  Processed p = h.inbound(*in, {craft_esp(h, pair.in, 6, with_trailer(tfc, dp::ip_proto::kIpv4, 0))});
  REQUIRE(p.good.size() == 1);
  CHECK(p.good[0] == inner);

  // An inner packet claiming more than was decrypted.
  Bytes liar = inner;
  liar[2] = 0x7f;
  CHECK(verdict(craft_esp(h, pair.in, 7, with_trailer(liar, dp::ip_proto::kIpv4, 0))) == DropReason::kBadInner);
  CHECK(h.dropped(DropReason::kBadPadding) == 2);
  CHECK(h.dropped(DropReason::kBadNextHeader) == 1);
  CHECK(h.dropped(DropReason::kDummy) == 1);
  CHECK(h.dropped(DropReason::kBadInner) == 1);
  CHECK(h.dropped_total() == 5);
  CHECK(mbufs_in_use() == 0);
}

// RFC 6040 section 4.2, its table written out: rows the arriving inner codepoint, columns the
// arriving outer one (Not-ECT, ECT(1), ECT(0), CE as the two ECN bits 0, 1, 2, 3); what leaves,
// or -1 for a drop.
constexpr int kDecapsulated[4][4] = {
    /* inner Not-ECT */ {0, 0, 0, -1},
    /* inner ECT(1)  */ {1, 1, 1, 3},
    /* inner ECT(0)  */ {2, 1, 2, 3},
    /* inner CE      */ {3, 3, 3, 3},
};

TEST_CASE("RFC 6040: all sixteen inner x outer ECN pairs decapsulate as section 4.2's table says", "[dp][esp][ecn]") {
  for (dp::IpFamily family : {dp::IpFamily::kIpv4, dp::IpFamily::kIpv6}) {
    bool v6_outer = family == dp::IpFamily::kIpv6;
    for (int inner = 0; inner < 4; ++inner) {
      for (int outer = 0; outer < 4; ++outer) {
        INFO("outer " << (v6_outer ? "IPv6" : "IPv4") << ", inner ECN " << inner << ", outer ECN " << outer);
        EspHarness h;
        SaPair pair = make_sa_pair(dp::SaMode::kTunnel, family, 16, false, false);
        auto out = h.sa(pair.out);
        auto in = h.sa(pair.in);
        // The inner packet of the outer's family; its DSCP must come through untouched.
        uint8_t tos = static_cast<uint8_t>(0xb8 | inner);
        Bytes plain = v6_outer ? ipv6_udp({v6(1, 10), v6(2, 20), 20, tos}) : ipv4_udp({v4(192, 0, 2, 1), v4(203, 0, 113, 2), 20, tos});
        Processed sealed = h.outbound(*out, {plain});
        REQUIRE(sealed.good.size() == 1);
        Bytes& e = sealed.good[0];
        // On the way, the outer header's ECN becomes `outer` (it is outside the ICV).
        if (v6_outer) {
          uint32_t flow = rte_be_to_cpu_32(reinterpret_cast<rte_ipv6_hdr*>(e.data())->vtc_flow);
          flow = (flow & ~(3u << 20)) | uint32_t(outer) << 20;
          reinterpret_cast<rte_ipv6_hdr*>(e.data())->vtc_flow = rte_cpu_to_be_32(flow);
        } else {
          auto* ip = reinterpret_cast<rte_ipv4_hdr*>(e.data());
          ip->type_of_service = static_cast<uint8_t>((ip->type_of_service & ~3) | outer);
          ip->hdr_checksum = 0;
          ip->hdr_checksum = rte_ipv4_cksum(ip);
        }
        Processed opened = h.inbound(*in, sealed.good);
        int expected = kDecapsulated[inner][outer];
        if (expected < 0) {
          CHECK(opened.good.empty());
          CHECK(opened.dropped == std::vector<DropReason>{DropReason::kEcnDrop});
          continue;
        }
        REQUIRE(opened.good.size() == 1);
        const Bytes& got = opened.good[0];
        uint8_t traffic_class = v6_outer ? static_cast<uint8_t>(((got[0] & 0x0f) << 4) | (got[1] >> 4)) : got[1];
        CHECK((traffic_class & 3) == expected);
        CHECK((traffic_class & ~3) == 0xb8);
        if (!v6_outer) CHECK(rte_ipv4_cksum(reinterpret_cast<const rte_ipv4_hdr*>(got.data())) == 0);
      }
    }
  }
  CHECK(mbufs_in_use() == 0);
}

// RFC 1812 5.2.2: an authentic ESP packet can still carry an inner IPv4 header its sender
// damaged; it is dropped after decryption, not forwarded.
TEST_CASE("an inner IPv4 header whose checksum fails is dropped after decryption", "[dp][esp][checksum]") {
  EspHarness h;
  SaPair pair = make_sa_pair(dp::SaMode::kTunnel, dp::IpFamily::kIpv4, 16, false, false);
  auto out = h.sa(pair.out);
  auto in = h.sa(pair.in);
  Bytes good = ipv4_udp({v4(192, 0, 2, 1), v4(203, 0, 113, 2), 30});
  Bytes damaged = good;
  damaged[10] ^= 0x40;  // the checksum field
  Processed sealed = h.outbound(*out, {damaged, good});
  REQUIRE(sealed.good.size() == 2);
  Processed opened = h.inbound(*in, sealed.good);
  REQUIRE(opened.good.size() == 1);
  CHECK(opened.good[0] == good);
  CHECK(opened.dropped == std::vector<DropReason>{DropReason::kBadChecksum});
  CHECK(mbufs_in_use() == 0);
}

// RFC 768, RFC 8200 8.1: a non-zero UDP checksum must verify; zero means none was sent, which
// ESP in UDP may do over either family (RFC 3948 2.1, RFC 6935).
TEST_CASE("ESP in UDP: a wrong non-zero UDP checksum is dropped, a right one or none is taken", "[dp][esp][checksum][nat_t]") {
  for (dp::IpFamily family : {dp::IpFamily::kIpv4, dp::IpFamily::kIpv6}) {
    bool v6 = family == dp::IpFamily::kIpv6;
    INFO((v6 ? "IPv6" : "IPv4"));
    EspHarness h;
    SaPair pair = make_sa_pair(dp::SaMode::kTunnel, family, 16, false, true);
    auto out = h.sa(pair.out);
    auto in = h.sa(pair.in);
    Processed sealed = h.outbound(*out, std::vector<Bytes>(3, ipv4_udp({v4(192, 0, 2, 1), v4(203, 0, 113, 2), 40})));
    REQUIRE(sealed.good.size() == 3);
    unsigned udp_at = v6 ? 40 : 20;
    auto set_checksum = [&](Bytes& e) {
      auto* udp = reinterpret_cast<rte_udp_hdr*>(e.data() + udp_at);
      udp->dgram_cksum = 0;
      udp->dgram_cksum = v6 ? rte_ipv6_udptcp_cksum(reinterpret_cast<rte_ipv6_hdr*>(e.data()), udp)
                            : rte_ipv4_udptcp_cksum(reinterpret_cast<rte_ipv4_hdr*>(e.data()), udp);
    };
    Bytes none = sealed.good[0];
    none[udp_at + 6] = none[udp_at + 7] = 0;
    Bytes right = sealed.good[1];
    set_checksum(right);
    Bytes wrong = sealed.good[2];
    set_checksum(wrong);
    wrong[udp_at + 7] ^= 0x01;
    Processed opened = h.inbound(*in, {none, right, wrong});
    CHECK(opened.good.size() == 2);
    CHECK(opened.dropped == std::vector<DropReason>{DropReason::kBadChecksum});
  }
  CHECK(mbufs_in_use() == 0);
}

TEST_CASE("NAT-T inbound: keepalives, IKE's non-ESP marker and wrong ports", "[dp][esp][nat_t]") {
  EspHarness h;
  SaPair pair = make_sa_pair(dp::SaMode::kTunnel, dp::IpFamily::kIpv4, 16, false, true);
  auto out = h.sa(pair.out);
  auto in = h.sa(pair.in);
  Processed sealed = h.outbound(*out, {ipv4_udp({v4(192, 0, 2, 1), v4(203, 0, 113, 2)})});
  REQUIRE(sealed.good.size() == 1);
  const Bytes& good = sealed.good[0];

  Bytes keepalive(good.begin(), good.begin() + 29);
  keepalive[28] = 0xff;
  keepalive[3] = 29;
  keepalive[25] = 9;  // UDP length
  Bytes marker = good;
  std::fill(marker.begin() + 28, marker.begin() + 32, 0);  // SPI 0: an IKE message on 4500
  Bytes wrong_port = good;
  wrong_port[23] ^= 1;
  Processed p = h.inbound(*in, {keepalive, marker, wrong_port, good});
  CHECK(p.good.size() == 1);
  CHECK(p.dropped == std::vector<DropReason>{DropReason::kNatKeepalive, DropReason::kNotEsp, DropReason::kNotEsp});
  CHECK(mbufs_in_use() == 0);
}

TEST_CASE("lifetimes: soft raises one event, hard stops the SA", "[dp][esp][lifetime]") {
  EspHarness h;
  SaPair pair = make_sa_pair(dp::SaMode::kTunnel, dp::IpFamily::kIpv4, 16, false, false);
  pair.out.lifetime.soft_packets = 3;
  pair.out.lifetime.hard_packets = 5;
  pair.in.lifetime.soft_bytes = 100;
  auto out = h.sa(pair.out);
  auto in = h.sa(pair.in);
  std::vector<Bytes> plain(8, ipv4_udp({v4(192, 0, 2, 1), v4(203, 0, 113, 2), 40}));
  Processed sealed = h.outbound(*out, plain);
  CHECK(sealed.good.size() == 5);
  CHECK(sealed.dropped == std::vector<DropReason>(3, DropReason::kSaExpired));
  CHECK(out->state.load() == dp::SaState::kExpired);
  auto events = h.events();
  REQUIRE(events.size() == 2);
  CHECK(events[0].kind == dp::SaEventKind::kSoftLifetime);
  CHECK(events[1].kind == dp::SaEventKind::kHardLifetime);
  CHECK(events[1].spi == 0x1001);
  CHECK(events[1].direction == dp::SaDirection::kOutbound);

  // Nothing more goes out, and no second event is raised.
  CHECK(h.outbound(*out, {plain[0]}).dropped == std::vector<DropReason>{DropReason::kSaExpired});
  CHECK(h.events().empty());

  // Inbound bytes: 5 packets of 68 inner bytes cross the 100-byte soft limit once.
  Processed opened = h.inbound(*in, sealed.good);
  CHECK(opened.good.size() == 5);
  events = h.events();
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind == dp::SaEventKind::kSoftLifetime);
  CHECK(events[0].direction == dp::SaDirection::kInbound);
  CHECK(mbufs_in_use() == 0);
}

TEST_CASE("sequence numbers: no cycling without ESN, ESN carries on past 2^32", "[dp][esp][esn]") {
  EspHarness h;
  SaPair pair = make_sa_pair(dp::SaMode::kTunnel, dp::IpFamily::kIpv4, 16, false, false);
  pair.out.initial_seq = 0xfffffffeull;
  auto out = h.sa(pair.out);
  std::vector<Bytes> plain(3, ipv4_udp({v4(192, 0, 2, 1), v4(203, 0, 113, 2)}));
  Processed sealed = h.outbound(*out, plain);
  CHECK(sealed.good.size() == 1);  // 0xffffffff is the last number
  CHECK(sealed.dropped == std::vector<DropReason>(2, DropReason::kSeqOverflow));
  CHECK(out->state.load() == dp::SaState::kExpired);
  auto events = h.events();
  REQUIRE(events.size() == 2);  // past 15/16 of the space from the start, then out of numbers
  CHECK(((events[0].kind == dp::SaEventKind::kSeqNearOverflow && events[1].kind == dp::SaEventKind::kSeqOverflow) ||
         (events[0].kind == dp::SaEventKind::kSeqOverflow && events[1].kind == dp::SaEventKind::kSeqNearOverflow)));

  SaPair esn = make_sa_pair(dp::SaMode::kTunnel, dp::IpFamily::kIpv4, 16, true, false);
  esn.out.initial_seq = esn.in.initial_seq = 0xfffffffdull;
  auto esn_out = h.sa(esn.out);
  auto esn_in = h.sa(esn.in);
  Processed across = h.outbound(*esn_out, std::vector<Bytes>(6, plain[0]));
  REQUIRE(across.good.size() == 6);
  CHECK(esn_out->seq == 0x100000003ull);
  // Delivered out of order across the wrap: the receiver infers the high half each time.
  std::vector<Bytes> shuffled{across.good[4], across.good[0], across.good[5], across.good[2], across.good[1],
                              across.good[3]};
  Processed opened = h.inbound(*esn_in, shuffled);
  CHECK(opened.good.size() == 6);
  CHECK(esn_in->window->top() == 0x100000003ull);
  CHECK(h.inbound(*esn_in, {across.good[1]}).dropped == std::vector<DropReason>{DropReason::kReplay});
  CHECK(mbufs_in_use() == 0);
}

// RFC 4303 appendix A: each packet's high half is inferred against the window as the packets
// before it left it, so a burst that jumps across 2^32 opens what one-at-a-time delivery opens,
// and an old packet gets the same drop whatever burst it comes in.
TEST_CASE("ESN: a burst that jumps across 2^32 is judged as if its packets came one at a time", "[dp][esp][esn]") {
  std::vector<Bytes> plain(1, ipv4_udp({v4(192, 0, 2, 1), v4(203, 0, 113, 2)}));
  auto seal_at = [&](EspHarness& h, dp::SaRuntime& out, uint64_t seq) {
    out.seq = seq - 1;
    Processed p = h.outbound(out, plain);
    REQUIRE(p.good.size() == 1);
    return p.good[0];
  };
  for (bool one_burst : {false, true}) {
    INFO((one_burst ? "one burst" : "one packet per burst"));
    EspHarness h;
    SaPair pair = make_sa_pair(dp::SaMode::kTunnel, dp::IpFamily::kIpv4, 16, true, false);
    pair.in.replay_window = 64;
    auto out = h.sa(pair.out);
    auto in = h.sa(pair.in);
    Bytes first = seal_at(h, *out, 100);
    Bytes old = seal_at(h, *out, 90);               // in the window now; far behind after the jump
    Bytes jump = seal_at(h, *out, 0xfffffff0ull);    // ahead, within block 0
    Bytes wrapped = seal_at(h, *out, 0x100000032ull);  // block 1, low half 50: above the window's bottom now
    Bytes next = seal_at(h, *out, 0x100000033ull);
    REQUIRE(h.inbound(*in, {first}).good.size() == 1);
    std::vector<Bytes> rest{jump, wrapped, old, next};
    std::vector<DropReason> dropped;
    size_t good = 0;
    if (one_burst) {
      Processed p = h.inbound(*in, rest);
      good = p.good.size();
      dropped = p.dropped;
    } else {
      for (const Bytes& b : rest) {
        Processed p = h.inbound(*in, {b});
        good += p.good.size();
        dropped.insert(dropped.end(), p.dropped.begin(), p.dropped.end());
      }
    }
    CHECK(good == 3);  // the jump, the wrapped one and the next
    // The old one's low half now reads as block 1, where it is not authentic (appendix A2.2).
    CHECK(dropped == std::vector<DropReason>{DropReason::kIcvFailed});
    CHECK(in->window->top() == 0x100000033ull);
  }
  CHECK(mbufs_in_use() == 0);
}

// RFC 4301 4.4.2.1: the SAD is searched by SPI and destination, and, where the SA asks, source.
// An SPI that is ours on ESP addressed elsewhere names no SA of ours.
TEST_CASE("ESP for another destination, or where the SA checks it another source, is refused", "[dp][esp][sad]") {
  for (dp::IpFamily family : {dp::IpFamily::kIpv4, dp::IpFamily::kIpv6}) {
    bool v6 = family == dp::IpFamily::kIpv6;
    INFO((v6 ? "IPv6" : "IPv4"));
    unsigned source_at = v6 ? 8 : 12, destination_at = v6 ? 24 : 16;
    auto readdressed = [&](Bytes e, unsigned at) {
      e[at + (v6 ? 15 : 3)] ^= 0x40;
      if (!v6) {
        auto* ip = reinterpret_cast<rte_ipv4_hdr*>(e.data());
        ip->hdr_checksum = 0;
        ip->hdr_checksum = rte_ipv4_cksum(ip);
      }
      return e;
    };
    for (bool check_source : {false, true}) {
      INFO("check_source " << check_source);
      EspHarness h;
      SaPair pair = make_sa_pair(dp::SaMode::kTunnel, family, 16, false, false);
      pair.in.check_source = check_source;
      auto out = h.sa(pair.out);
      auto in = h.sa(pair.in);
      Processed sealed = h.outbound(*out, std::vector<Bytes>(3, ipv4_udp({v4(192, 0, 2, 1), v4(203, 0, 113, 2)})));
      REQUIRE(sealed.good.size() == 3);
      Processed opened = h.inbound(*in, {readdressed(sealed.good[0], destination_at),
                                         readdressed(sealed.good[1], source_at), sealed.good[2]});
      CHECK(opened.good.size() == (check_source ? 1u : 2u));
      std::vector<DropReason> expected(check_source ? 2 : 1, DropReason::kSaAddressMismatch);
      CHECK(opened.dropped == expected);
      CHECK(in->window->check(1) == dp::ReplayWindow::Verdict::kNew);  // refused before the window saw it
    }
  }
  CHECK(mbufs_in_use() == 0);
}

TEST_CASE("no headroom, no tailroom, chained mbufs", "[dp][esp][drop]") {
  EspHarness h;
  SaPair pair = make_sa_pair(dp::SaMode::kTunnel, dp::IpFamily::kIpv4, 16, false, false);
  auto out = h.sa(pair.out);
  dp::Burst b;
  Bytes small = ipv4_udp({v4(192, 0, 2, 1), v4(203, 0, 113, 2), 20});
  b.pkts[0] = to_mbuf(small);
  b.pkts[0]->data_off = 0;  // move the data to the very start of the buffer: no headroom
  std::memcpy(rte_pktmbuf_mtod(b.pkts[0], uint8_t*), small.data(), small.size());
  Bytes huge = ipv4_udp({v4(192, 0, 2, 1), v4(203, 0, 113, 2), 2010});  // 10 bytes left: no tailroom
  b.pkts[1] = to_mbuf(huge);
  b.pkts[2] = to_mbuf(small);
  rte_mbuf* tail = to_mbuf(Bytes(4, 0));
  REQUIRE(rte_pktmbuf_chain(b.pkts[2], tail) == 0);
  b.sa[0] = b.sa[1] = b.sa[2] = out.get();
  b.count = 3;
  uint16_t good = dp::esp_outbound_burst(h.context(), b);
  CHECK(good == 0);
  CHECK(b.drop[0] == DropReason::kNoHeadroom);
  CHECK(b.drop[1] == DropReason::kNoTailroom);
  CHECK(b.drop[2] == DropReason::kMultiSegment);
  dp::free_dropped(b, good);
  CHECK(mbufs_in_use() == 0);
}
