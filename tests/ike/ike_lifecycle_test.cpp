// An IKE SA's life after IKE_AUTH, between two in-process IKE SAs on a fake link (ike_link.hpp)
// that can lose, duplicate and reorder datagrams: CHILD_SA rekeys with and without PFS, IKE SA
// rekeys, collisions of both (RFC 7296 2.8.1, 2.25), Deletes, liveness checks and dead peers,
// retransmission, INVALID_KE_PAYLOAD, cookies (2.6) and NAT detection (2.23). Every exchange a
// test drives is named next to it. The data plane is modelled from the CHILD_SA events, and the
// make-before-break tests check at every step that what one side sends the other can receive.
#include <catch2/catch.hpp>

#include <cstring>
#include <set>

#include "ike/cookie_guard.hpp"
#include "tests/ike/ike_link.hpp"

using namespace rampart;
using namespace rampart::ike;

namespace {

Bytes ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return {std::byte{a}, std::byte{b}, std::byte{c}, std::byte{d}}; }
Bytes text(const char* s) { return Bytes(reinterpret_cast<const std::byte*>(s), reinterpret_cast<const std::byte*>(s) + std::strlen(s)); }

PeerConfig site(bool a, const char* esp = "aes128gcm16", const char* ike = "aes128gcm16-prfsha256-x25519") {
  PeerConfig c;
  c.local_id = a ? "198.51.100.1" : "gw2.example.net";
  c.remote_id = a ? "gw2.example.net" : "198.51.100.1";
  c.psk = text("correct horse battery staple");
  c.ike_suites = {parse_suite(ike, 1).value()};
  c.esp_suites = {parse_suite(esp, 3).value()};
  TrafficSelector site_a{7, 0, 0, 65535, ipv4(192, 0, 2, 0), ipv4(192, 0, 2, 255)};
  TrafficSelector site_b{7, 0, 0, 65535, ipv4(203, 0, 113, 0), ipv4(203, 0, 113, 255)};
  c.local_ts = a ? site_a : site_b;
  c.remote_ts = a ? site_b : site_a;
  return c;
}

Path path(bool a) {
  Bytes one = ipv4(198, 51, 100, 1), two = ipv4(198, 51, 100, 2);
  return a ? Path{one, two, 500, 500} : Path{two, one, 500, 500};
}

test::IkeLink established(PeerConfig a, PeerConfig b, test::LinkFaults faults = {}, unsigned seed = 1) {
  test::IkeLink link(IkeSa::initiator(std::move(a), path(true)), IkeSa::responder(std::move(b), path(false)), faults, seed);
  REQUIRE(link.a().start(link.now()).ok());  // IKE_SA_INIT, then IKE_AUTH
  REQUIRE(link.run_until([&] { return link.mirrored(); }, 60000));
  return link;
}

}  // namespace

TEST_CASE("CHILD_SA rekeys, with and without PFS, lose nothing in flight", "[ike][lifecycle]") {
  for (const char* esp : {"aes128gcm16", "aes256gcm16-ecp256", "aes128gcm16-x25519"}) {
    INFO(esp);
    auto link = established(site(true, esp), site(false, esp));
    for (int round = 0; round < 3; ++round) {
      uint32_t before = link.plane_a().outbound;
      Bytes key_before = link.a().child()->outbound_key;
      // CREATE_CHILD_SA with REKEY_SA (and KE with PFS), then INFORMATIONAL Delete of the old
      // SA; alternately started by each side.
      (round % 2 ? link.b() : link.a()).rekey_child();
      REQUIRE(link.run_until([&] { return link.plane_a().outbound != before && link.mirrored(); }, 5000, true));
      CHECK(link.a().child()->outbound_key != key_before);
      CHECK(link.a().child()->outbound_key == link.b().child()->inbound_key);
      CHECK(link.run_for(3000, true));  // the Delete lands; nothing sent is refused meanwhile
    }
    CHECK(link.a().counters().child_rekeys == 3);
    CHECK(link.b().counters().child_rekeys == 3);
    CHECK(link.a().state() == IkeState::kEstablished);
  }
}

TEST_CASE("rekey times fire by themselves, with jitter", "[ike][lifecycle]") {
  PeerConfig a = site(true), b = site(false);
  a.child_rekey_ms = 4000;
  a.ike_rekey_ms = 7000;
  auto link = established(a, b);
  uint64_t spi = link.a().initiator_spi();
  CHECK(link.run_for(20000, true));
  CHECK(link.a().counters().child_rekeys >= 4);
  CHECK(link.a().counters().ike_rekeys >= 2);
  CHECK(link.a().initiator_spi() != spi);
  // A rekey may be half done at the 20 s mark (its timer carries random jitter); it settles.
  CHECK(link.run_until([&] { return link.mirrored(); }, 4000, true));
}

TEST_CASE("an IKE SA rekey moves the SA to new SPIs and keys; the CHILD_SA lives on", "[ike][lifecycle]") {
  auto link = established(site(true), site(false));
  uint64_t spi_i = link.a().initiator_spi(), spi_r = link.a().responder_spi();
  uint32_t child = link.plane_a().outbound;
  // CREATE_CHILD_SA with an IKE proposal, then INFORMATIONAL Delete of the old IKE SA over it.
  link.b().rekey_ike();
  REQUIRE(link.run_until([&] { return link.a().initiator_spi() != spi_i && link.b().initiator_spi() != spi_i; }, 3000));
  CHECK(link.a().initiator_spi() == link.b().initiator_spi());
  CHECK(link.a().responder_spi() == link.b().responder_spi());
  CHECK(link.a().responder_spi() != spi_r);
  CHECK_FALSE(link.a().is_initiator());  // the new IKE SA's initiator is whoever rekeyed it (2.18)
  CHECK(link.b().is_initiator());
  CHECK(link.plane_a().outbound == child);
  // The new IKE SA carries exchanges: a CHILD_SA rekey over it, from the original initiator.
  link.a().rekey_child();
  REQUIRE(link.run_until([&] { return link.plane_a().outbound != child && link.mirrored(); }, 3000, true));
  CHECK(link.a().counters().ike_rekeys == 1);
}

TEST_CASE("simultaneous rekeys: CHILD_SA by the lowest nonce, IKE SA by TEMPORARY_FAILURE", "[ike][lifecycle]") {
  for (unsigned seed = 1; seed <= 8; ++seed) {
    INFO("seed " << seed);
    auto link = established(site(true, "aes128gcm16-x25519"), site(false, "aes128gcm16-x25519"), {}, seed);
    uint32_t before = link.plane_a().outbound;
    // Two CREATE_CHILD_SA exchanges for the same SA cross (2.8.1): both complete, the one with
    // the lowest nonce is redundant and its initiator deletes it (INFORMATIONAL Delete).
    link.a().rekey_child();
    link.b().rekey_child();
    REQUIRE(link.run_until([&] { return link.plane_a().outbound != before && link.mirrored(); }, 5000));
    CHECK(link.run_for(3000));
    CHECK(link.mirrored());
    CHECK(link.a().child()->inbound_spi == link.b().child()->outbound_spi);
    CHECK(link.a().child()->outbound_key == link.b().child()->inbound_key);
    CHECK(link.a().counters().child_rekeys == 2);
    // Two IKE SA rekeys cross: each side refuses the other's with TEMPORARY_FAILURE (2.25) and
    // tries again a second or two later, at a random moment.
    uint64_t spi = link.a().initiator_spi();
    link.a().rekey_ike();
    link.b().rekey_ike();
    REQUIRE(link.run_until([&] { return link.a().initiator_spi() != spi && link.a().initiator_spi() == link.b().initiator_spi(); }, 10000));
    CHECK(link.run_for(5000));
    CHECK(link.a().initiator_spi() == link.b().initiator_spi());
    CHECK(link.a().state() == IkeState::kEstablished);
    CHECK(link.b().state() == IkeState::kEstablished);
  }
}

TEST_CASE("a lossy, duplicating, reordering link: retransmissions carry every exchange through", "[ike][lifecycle]") {
  for (unsigned seed = 1; seed <= 6; ++seed) {
    INFO("seed " << seed);
    PeerConfig a = site(true, "aes128gcm16-ecp256"), b = site(false, "aes128gcm16-ecp256");
    a.child_rekey_ms = 9000;
    b.ike_rekey_ms = 13000;
    a.dpd_ms = b.dpd_ms = 5000;
    a.retransmit_tries = b.retransmit_tries = 8;
    auto link = established(a, b, {0.2, 0.1, 0.2}, seed);
    CHECK(link.run_for(60000));
    link.set_faults({});
    // With the faults gone, whatever exchange was in flight completes and both sides settle on
    // the same IKE SA and CHILD_SA.
    auto settled = [&] {
      return link.mirrored() && link.a().initiator_spi() == link.b().initiator_spi() &&
             link.a().responder_spi() == link.b().responder_spi() &&
             link.a().child()->outbound_key == link.b().child()->inbound_key;
    };
    REQUIRE(link.run_until(settled, 15000));
    CHECK(link.a().state() == IkeState::kEstablished);
    CHECK(link.b().state() == IkeState::kEstablished);
    CHECK(link.a().counters().child_rekeys >= 4);
    CHECK(link.b().counters().ike_rekeys >= 2);
    CHECK(link.a().counters().retransmits + link.b().counters().retransmits > 0);
    CHECK(link.a().counters().responses_resent + link.b().counters().responses_resent > 0);
  }
}

TEST_CASE("a CHILD_SA rekey whose answer went down with a retired IKE SA is done again", "[ike][lifecycle]") {
  auto link = established(site(true), site(false));
  uint32_t before = link.plane_a().outbound;
  // a's CREATE_CHILD_SA (rekey) reaches b, and b's answer is lost. Meanwhile b rekeys the IKE SA
  // (CREATE_CHILD_SA) and deletes the old one (INFORMATIONAL), which carried a's request: a asks
  // again over the new IKE SA, and b replaces the CHILD_SA a never heard of.
  link.lose_next_to_a([](const Bytes& d) {
    constexpr uint8_t kCreateChildSa = 36, kResponse = 0x20;
    return d.size() > 19 && uint8_t(d[18]) == kCreateChildSa && (uint8_t(d[19]) & kResponse);
  });
  link.a().rekey_child();
  link.b().rekey_ike();
  REQUIRE(link.run_until([&] { return link.plane_a().outbound != before && link.mirrored(); }, 10000, true));
  CHECK(link.run_for(5000, true));
  CHECK(link.mirrored());
  CHECK(link.a().child()->outbound_key == link.b().child()->inbound_key);
  CHECK(link.b().child()->outbound_key == link.a().child()->inbound_key);
  CHECK(link.a().counters().ike_rekeys == 1);
}

TEST_CASE("Delete of the IKE SA takes the CHILD_SA down on both sides", "[ike][lifecycle]") {
  auto link = established(site(true), site(false));
  link.b().close();  // INFORMATIONAL Delete (IKE)
  link.run_for(1000);
  CHECK(link.a().state() == IkeState::kClosed);
  CHECK(link.b().state() == IkeState::kClosed);
  CHECK(link.a().failure() == "deleted by the peer");
  CHECK(link.plane_a().downs == 1);
  CHECK(link.plane_b().downs == 1);
  CHECK(link.plane_a().inbound == 0);
}

TEST_CASE("liveness checks: a quiet peer is asked; a dead one is declared so", "[ike][lifecycle]") {
  PeerConfig a = site(true), b = site(false);
  a.dpd_ms = 2000;
  a.retransmit_tries = 3;
  auto link = established(a, b);
  CHECK(link.run_for(10000));  // empty INFORMATIONAL requests, answered
  CHECK(link.a().counters().dpd_checks >= 4);
  CHECK(link.a().state() == IkeState::kEstablished);
  link.cut(true);
  // Dead: 2 s idle, then the check and its retransmissions after 0.5 and 1 s go unanswered.
  REQUIRE(link.run_until([&] { return link.a().state() == IkeState::kFailed; }, 10000));
  CHECK(link.a().failure() == "the peer stopped answering (dead peer)");
  CHECK(link.plane_a().downs == 1);
  CHECK(link.plane_a().inbound == 0);
}

TEST_CASE("INVALID_KE_PAYLOAD: the initiator tries again with the group the responder wants", "[ike][lifecycle]") {
  PeerConfig a = site(true), b = site(false);
  a.ike_suites = {parse_suite("aes128gcm16-prfsha256-ecp256", 1).value(), parse_suite("aes128gcm16-prfsha256-x25519", 1).value()};
  b.ike_suites = {parse_suite("aes128gcm16-prfsha256-x25519", 1).value()};
  auto link = established(a, b);
  CHECK(link.a().suite().dh == 31);
  CHECK(link.datagrams() == 6);  // IKE_SA_INIT twice, IKE_AUTH
}

TEST_CASE("cookies: a responder under load answers IKE_SA_INIT with a COOKIE and keeps no state", "[ike][cookie]") {
  CookieGuard guard;
  IkeSa a = IkeSa::initiator(site(true), path(true));
  REQUIRE(a.start(0).ok());
  Bytes first = a.take_outbox().at(0);
  Bytes address = ipv4(198, 51, 100, 1);
  auto challenge = guard.check(first, address, 0);
  REQUIRE(challenge);
  // IKE_SA_INIT again, the cookie first in it.
  REQUIRE(a.receive(*challenge, path(true), 1).ok());
  Bytes second = a.take_outbox().at(0);
  CHECK_FALSE(guard.check(second, address, 2));                     // the right cookie passes
  CHECK(guard.check(second, ipv4(198, 51, 100, 99), 2));           // not from another address
  IkeSa b = IkeSa::responder(site(false), path(false));
  REQUIRE(b.receive(second, path(false), 3).ok());
  REQUIRE(a.receive(b.take_outbox().at(0), path(true), 4).ok());
  REQUIRE(b.receive(a.take_outbox().at(0), path(false), 5).ok());
  REQUIRE(a.receive(b.take_outbox().at(0), path(true), 6).ok());
  CHECK(a.state() == IkeState::kEstablished);
  // A flood from many addresses: each gets a cookie, none gets through without one.
  for (int i = 0; i < 1000; ++i) {
    IkeSa flood = IkeSa::initiator(site(true), path(true));
    REQUIRE(flood.start(0).ok());
    CHECK(guard.check(flood.take_outbox().at(0), ipv4(203, 0, 113, static_cast<uint8_t>(i)), 10));
  }
  CHECK(guard.challenged() == 1002);
  // The secret changes every minute; a cookie from the one before still passes, not older.
  CHECK_FALSE(guard.check(second, address, 61000));
  CHECK(guard.check(second, address, 122000));
}

TEST_CASE("NAT detection: a translated address moves IKE to 4500 and ESP into UDP", "[ike][nat]") {
  // The initiator thinks it is 192.0.2.7:500; the responder sees 198.51.100.1:4321 (a NAT).
  Path inside{ipv4(192, 0, 2, 7), ipv4(198, 51, 100, 2), 500, 500};
  Path seen{ipv4(198, 51, 100, 2), ipv4(198, 51, 100, 1), 500, 4321};
  IkeSa a = IkeSa::initiator(site(true), inside);
  IkeSa b = IkeSa::responder(site(false), seen);
  REQUIRE(a.start(0).ok());
  REQUIRE(b.receive(a.take_outbox().at(0), seen, 1).ok());
  CHECK(b.nat_remote());
  CHECK_FALSE(b.nat_local());
  REQUIRE(a.receive(b.take_outbox().at(0), inside, 2).ok());
  CHECK(a.nat_local());
  CHECK(a.udp_encapsulation());
  CHECK(a.path().local_port == 4500);  // IKE_AUTH goes to 4500 (2.23)
  CHECK(a.path().remote_port == 4500);
  // Behind the NAT, a keepalive after 20 s without sending; none from the side that is not.
  REQUIRE(b.receive(a.take_outbox().at(0), seen, 2).ok());  // IKE_AUTH
  REQUIRE(a.receive(b.take_outbox().at(0), inside, 2).ok());
  REQUIRE(a.state() == IkeState::kEstablished);
  a.tick(2 + 19000);
  CHECK(a.take_outbox().empty());
  a.tick(2 + 20000);
  auto keepalive = a.take_outbox();
  REQUIRE(keepalive.size() == 1);
  CHECK(keepalive[0] == Bytes{std::byte{0xff}});
  b.tick(60000);
  CHECK(b.take_outbox().empty());

  // No NAT, but one side insists (force_encapsulation): both encapsulate.
  PeerConfig forced = site(true);
  forced.force_encapsulation = true;
  auto link = established(forced, site(false));
  CHECK(link.a().udp_encapsulation());
  CHECK(link.b().udp_encapsulation());
  CHECK(link.b().nat_remote());
}

TEST_CASE("a responder that reuses its key pair still sets up distinct IKE SAs", "[ike][dh]") {
  PeerConfig b = site(false);
  b.dh_reuse_ms = 60000;
  auto one = established(site(true), b);
  auto two = established(site(true), b);
  CHECK(one.a().child()->outbound_key != two.a().child()->outbound_key);  // the nonces differ
  CHECK(one.b().responder_spi() != two.b().responder_spi());
}

// A CHILD_SA deleted alone (swanctl --terminate --child, or lost in a rekey race) must not leave
// the IKE SA a husk: the side that keeps its tunnel up makes another (CREATE_CHILD_SA without
// REKEY_SA), and the other side accepts it because none is left.
TEST_CASE("a CHILD_SA that is gone comes back; an IKE SA left without one goes", "[ike][lifecycle]") {
  SECTION("the peer deletes it: the initiator that keeps its tunnel makes it again") {
    PeerConfig a = site(true);
    a.keep_child = true;
    auto link = established(a, site(false));
    uint32_t before = link.plane_a().inbound;
    link.b().delete_child();
    // INFORMATIONAL { D(ESP) } <--, then --> CREATE_CHILD_SA { SA, Ni, TSi, TSr }
    REQUIRE(link.run_until([&] { return link.plane_a().inbound == 0; }, 2000));
    REQUIRE(link.run_until([&] { return link.mirrored() && link.plane_a().inbound != 0; }, 10000));
    CHECK(link.plane_a().inbound != before);
    CHECK(link.a().state() == IkeState::kEstablished);
    CHECK(link.b().state() == IkeState::kEstablished);
    REQUIRE(link.a().child().has_value());
    REQUIRE(link.b().child().has_value());
    CHECK(link.a().child()->outbound_spi == link.b().child()->inbound_spi);
    CHECK(link.a().child()->inbound_spi == link.b().child()->outbound_spi);
    link.run_for(5000);  // and it stays: no second one, no Delete
    CHECK(link.a().child()->inbound_spi == link.plane_a().inbound);
  }
  SECTION("with PFS, from the initiator's own Delete") {
    PeerConfig a = site(true, "aes128gcm16-ecp256");
    a.keep_child = true;
    auto link = established(a, site(false, "aes128gcm16-ecp256"));
    link.a().delete_child();
    REQUIRE(link.run_until([&] { return link.plane_b().inbound == 0; }, 2000));
    REQUIRE(link.run_until([&] { return link.mirrored() && link.plane_a().inbound != 0; }, 10000));
  }
  SECTION("nobody makes it again: the IKE SA is deleted after childless_ms") {
    PeerConfig a = site(true), b = site(false);
    a.childless_ms = b.childless_ms = 5000;
    auto link = established(a, b);
    link.b().delete_child();
    REQUIRE(link.run_until([&] { return link.a().state() == IkeState::kClosed; }, 10000));
    CHECK(link.b().state() == IkeState::kClosed);
  }
}
