// Two IKE SAs talking to each other in-process: IKE_SA_INIT and IKE_AUTH with a pre-shared key
// (RFC 7296 1.2, 2.15) for several suites and groups; the CHILD_SA they agree on, keys mirrored and
// selectors narrowed (2.9); refusals (wrong PSK: AUTHENTICATION_FAILED; nothing in common:
// NO_PROPOSAL_CHOSEN); and the agreed keys carrying a packet through the data plane's ESP stages.
#include <catch2/catch.hpp>

#include "ike/exchange_support.hpp"
#include "ike/ike_sa.hpp"
#include "ike/sk_crypto.hpp"
#include "tests/dataplane/esp_harness.hpp"
#include "tests/ike/ike_link.hpp"

using namespace rampart;
using namespace rampart::ike;

namespace {

Bytes ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return {std::byte{a}, std::byte{b}, std::byte{c}, std::byte{d}}; }
TrafficSelector range(Bytes start, Bytes end) { return {7, 0, 0, 65535, std::move(start), std::move(end)}; }
Bytes text(const char* s) { return Bytes(reinterpret_cast<const std::byte*>(s), reinterpret_cast<const std::byte*>(s) + std::strlen(s)); }

PeerConfig site(bool a, const char* ike, const char* esp, const char* psk = "correct horse battery staple") {
  PeerConfig c;
  c.local_id = a ? "gw1.example.net" : "gw2.example.net";
  c.remote_id = a ? "gw2.example.net" : "gw1.example.net";
  c.psk = text(psk);
  c.ike_suites = {parse_suite(ike, 1).value()};
  c.esp_suites = {parse_suite(esp, 3).value()};
  TrafficSelector site_a = range(ipv4(192, 0, 2, 0), ipv4(192, 0, 2, 255));
  TrafficSelector site_b = range(ipv4(203, 0, 113, 0), ipv4(203, 0, 113, 255));
  c.local_ts = a ? site_a : site_b;
  c.remote_ts = a ? site_b : site_a;
  return c;
}

Path path(uint8_t local, uint8_t remote) { return {ipv4(198, 51, 100, local), ipv4(198, 51, 100, remote), 500, 500}; }
IkeSa initiator(PeerConfig c) { return IkeSa::initiator(std::move(c), path(1, 2)); }
IkeSa responder(PeerConfig c) { return IkeSa::responder(std::move(c), path(2, 1)); }

// Starts the initiator and moves messages over a clean link until nothing is left to say.
// Returns the number of datagrams moved.
size_t run(test::IkeLink& link) {
  REQUIRE(link.a().start(link.now()).ok());
  link.run_for(500);
  return link.datagrams();
}

}  // namespace

TEST_CASE("proposal strings in the usual notation", "[ike][proposal]") {
  auto s = parse_suite("aes256gcm16-prfsha384-x25519", 1);
  REQUIRE(s.ok());
  CHECK(*s == Suite{20, 256, 0, 6, 31});
  CHECK(suite_text(*s) == "aes256gcm16-prfsha384-x25519");
  CHECK(parse_suite("aes128-sha256-modp2048", 1).value() == Suite{12, 128, 12, 5, 14});
  CHECK(parse_suite("aes128gcm16", 3).value() == Suite{20, 128, 0, 0, 0});
  CHECK_FALSE(parse_suite("aes128gcm16", 1).ok());              // an IKE SA needs a group
  CHECK_FALSE(parse_suite("aes128-modp2048", 1).ok());          // CBC needs integrity
  CHECK_FALSE(parse_suite("aes128gcm16-sha256-ecp256", 1).ok());  // GCM takes none
  CHECK_FALSE(parse_suite("des-md5-modp768", 1).ok());
}

TEST_CASE("IKE_SA_INIT and IKE_AUTH with a PSK establish an IKE SA and a CHILD_SA", "[ike][exchange]") {
  struct Case {
    const char *ike, *esp;
  };
  for (Case c : {Case{"aes128gcm16-prfsha256-ecp256", "aes128gcm16"}, Case{"aes256gcm16-prfsha384-x25519", "aes256gcm16"},
                 Case{"aes128gcm16-prfsha256-modp2048", "aes128gcm16"}, Case{"aes128-sha256-ecp384", "aes256gcm16"},
                 Case{"aes256-sha512-ecp521", "aes128gcm16"}}) {
    INFO(c.ike << " / " << c.esp);
    test::IkeLink link(initiator(site(true, c.ike, c.esp)), responder(site(false, c.ike, c.esp)));
    CHECK(run(link) == 4);  // IKE_SA_INIT and IKE_AUTH, request and response each
    IkeSa &a = link.a(), &b = link.b();
    REQUIRE(a.state() == IkeState::kEstablished);
    REQUIRE(b.state() == IkeState::kEstablished);
    CHECK(a.initiator_spi() == b.initiator_spi());
    CHECK(a.responder_spi() == b.responder_spi());
    REQUIRE(a.child());
    REQUIRE(b.child());
    const ChildSa &ca = *a.child(), &cb = *b.child();
    CHECK(ca.outbound_spi == cb.inbound_spi);
    CHECK(ca.inbound_spi == cb.outbound_spi);
    CHECK(ca.outbound_key == cb.inbound_key);
    CHECK(ca.inbound_key == cb.outbound_key);
    CHECK(ca.outbound_key != ca.inbound_key);
    CHECK(ca.outbound_key.size() == (c.esp == std::string("aes128gcm16") ? 20u : 36u));
    CHECK(ca.local_ts == cb.remote_ts);
    CHECK(ca.remote_ts == cb.local_ts);
    CHECK(link.mirrored());  // both installed it, in and out
    CHECK_FALSE(a.udp_encapsulation());  // no NAT between them
  }
}

TEST_CASE("the responder narrows the traffic selectors to its own (2.9)", "[ike][exchange]") {
  PeerConfig narrower = site(false, "aes128gcm16-prfsha256-ecp256", "aes128gcm16");
  narrower.local_ts = range(ipv4(203, 0, 113, 0), ipv4(203, 0, 113, 127));
  test::IkeLink link(initiator(site(true, "aes128gcm16-prfsha256-ecp256", "aes128gcm16")), responder(narrower));
  run(link);
  IkeSa &a = link.a(), &b = link.b();
  REQUIRE(a.child());
  CHECK(a.child()->remote_ts.end == ipv4(203, 0, 113, 127));
  CHECK(b.child()->local_ts.end == ipv4(203, 0, 113, 127));
}

TEST_CASE("a wrong PSK gets AUTHENTICATION_FAILED; nothing in common gets NO_PROPOSAL_CHOSEN", "[ike][exchange]") {
  {
    test::IkeLink link(initiator(site(true, "aes128gcm16-prfsha256-ecp256", "aes128gcm16", "one secret")),
                       responder(site(false, "aes128gcm16-prfsha256-ecp256", "aes128gcm16", "another secret")));
    run(link);
    CHECK(link.b().state() == IkeState::kFailed);
    CHECK(link.a().state() == IkeState::kFailed);
    CHECK(link.a().failure() == "the responder refused our authentication");
    CHECK_FALSE(link.a().child());
    CHECK(link.plane_a().inbound == 0);
  }
  {
    test::IkeLink link(initiator(site(true, "aes128gcm16-prfsha256-ecp256", "aes128gcm16")),
                       responder(site(false, "aes256gcm16-prfsha384-x25519", "aes128gcm16")));
    run(link);
    CHECK(link.a().state() == IkeState::kFailed);
    CHECK(link.a().failure() == "the responder chose no proposal");
  }
}

TEST_CASE("garbage, tampering and messages out of turn are dropped; a retransmitted request gets the same answer",
          "[ike][exchange]") {
  IkeSa a = initiator(site(true, "aes128gcm16-prfsha256-ecp256", "aes128gcm16"));
  IkeSa b = responder(site(false, "aes128gcm16-prfsha256-ecp256", "aes128gcm16"));
  Path ab = path(2, 1), ba = path(1, 2);
  REQUIRE(a.start(0).ok());
  Bytes init = a.take_outbox().at(0);
  CHECK_FALSE(b.receive(Bytes(10, std::byte{0}), ab, 0).ok());
  REQUIRE(b.receive(init, ab, 0).ok());
  Bytes init_response = b.take_outbox().at(0);
  REQUIRE(b.receive(init, ab, 1).ok());  // IKE_SA_INIT again: the same response, no new state
  CHECK(b.take_outbox().at(0) == init_response);
  CHECK(b.counters().responses_resent == 1);
  // A forged copy (the SPIs and message ID right, the rest not the request): no answer, counted.
  Bytes forged_init = init;
  forged_init[forged_init.size() - 1] ^= std::byte{1};
  CHECK_FALSE(b.receive(forged_init, ab, 1).ok());
  CHECK(b.take_outbox().empty());
  CHECK(b.counters().resends_refused == 1);
  REQUIRE(a.receive(init_response, ba, 2).ok());
  Bytes auth = a.take_outbox().at(0);
  Bytes tampered = auth;
  tampered[tampered.size() - 1] ^= std::byte{1};
  CHECK_FALSE(b.receive(tampered, ab, 3).ok());  // ICV: dropped, the SA waits on
  CHECK(b.state() == IkeState::kInitSent);
  CHECK(b.take_outbox().empty());
  REQUIRE(b.receive(auth, ab, 4).ok());
  Bytes auth_response = b.take_outbox().at(0);
  REQUIRE(b.receive(auth, ab, 5).ok());  // IKE_AUTH again: answered from the cache
  CHECK(b.take_outbox().at(0) == auth_response);
  CHECK_FALSE(b.receive(tampered, ab, 5).ok());  // its tampered copy: not answered again
  CHECK(b.take_outbox().empty());
  CHECK(b.counters().resends_refused == 2);
  CHECK(b.counters().responses_resent == 2);
  CHECK_FALSE(a.receive(init_response, ba, 6).ok());  // a response to nothing in flight
  REQUIRE(a.receive(auth_response, ba, 7).ok());
  CHECK(a.state() == IkeState::kEstablished);
  CHECK_FALSE(a.receive(auth_response, ba, 8).ok());  // the same response again: nothing waits for it
  CHECK(a.counters().dropped == 2);
}

TEST_CASE("the CHILD_SA's keys carry a packet through the data plane's ESP stages", "[ike][exchange][dp]") {
  test::IkeLink link(initiator(site(true, "aes128gcm16-prfsha256-x25519", "aes128gcm16")),
                     responder(site(false, "aes128gcm16-prfsha256-x25519", "aes128gcm16")));
  run(link);
  IkeSa &a = link.a(), &b = link.b();
  REQUIRE(a.child());
  REQUIRE(b.child());
  auto sa = [](const ChildSa& c, bool outbound, std::array<uint8_t, 16> from, std::array<uint8_t, 16> to) {
    dp::SaParams p;
    p.name = outbound ? "out" : "in";
    p.spi = outbound ? c.outbound_spi : c.inbound_spi;
    p.direction = outbound ? dp::SaDirection::kOutbound : dp::SaDirection::kInbound;
    const Bytes& key = outbound ? c.outbound_key : c.inbound_key;
    p.key_length = static_cast<uint8_t>(key.size() - 4);
    std::copy(key.begin(), key.end() - 4, p.key.begin());
    std::copy(key.end() - 4, key.end(), p.salt.begin());
    p.tunnel_source = from;
    p.tunnel_destination = to;
    return p;
  };
  test::EspHarness h;
  auto gw1 = test::v4(198, 51, 100, 1), gw2 = test::v4(198, 51, 100, 2);
  auto sender = h.sa(sa(*a.child(), true, gw1, gw2));
  auto receiver = h.sa(sa(*b.child(), false, gw1, gw2));
  test::Bytes inner = test::ipv4_udp({test::v4(192, 0, 2, 10), test::v4(203, 0, 113, 10), 200});
  auto sealed = h.outbound(*sender, {inner});
  REQUIRE(sealed.good.size() == 1);
  auto opened = h.inbound(*receiver, sealed.good);
  REQUIRE(opened.good.size() == 1);
  CHECK(opened.good[0] == inner);
}

TEST_CASE("a malformed IKE_SA_INIT is answered in the clear with what was wrong (2.21.1)", "[ike][exchange]") {
  IkeSa b = responder(site(false, "aes128gcm16-prfsha256-ecp256", "aes128gcm16"));
  // A header naming payload 200 first, and that payload marked critical.
  Bytes m(28 + 8, std::byte{0});
  m[7] = std::byte{42};                        // initiator SPI
  m[16] = std::byte{200};                      // next payload: unknown
  m[17] = std::byte{0x20};                     // IKEv2
  m[18] = std::byte{34};                       // IKE_SA_INIT
  m[19] = std::byte{kFlagInitiator};
  m[27] = std::byte{36};                       // length
  m[29] = std::byte{0x80};                     // critical
  m[31] = std::byte{8};
  CHECK_FALSE(b.receive(m, path(2, 1), 0).ok());
  auto out = b.take_outbox();
  REQUIRE(out.size() == 1);
  auto answer = parse_message(out[0]);
  REQUIRE(std::holds_alternative<Message>(answer));
  const Message& reply = std::get<Message>(answer);
  CHECK(reply.header.initiator_spi == 42);
  CHECK((reply.header.flags & kFlagResponse) != 0);
  const auto& n = std::get<NotifyPayload>(reply.payloads.at(0).body);
  CHECK(n.type == 1);  // UNSUPPORTED_CRITICAL_PAYLOAD
  CHECK(n.data == Bytes{std::byte{200}});
  CHECK(b.state() == IkeState::kIdle);  // no state kept
}

TEST_CASE("IPv6 traffic selectors (TS_IPV6_ADDR_RANGE) are narrowed and agreed", "[ike][exchange]") {
  auto v6 = [](uint8_t site, uint8_t last) {
    Bytes b(16, std::byte{0});
    b[0] = std::byte{0x20}, b[1] = std::byte{0x01}, b[2] = std::byte{0x0d}, b[3] = std::byte{0xb8};
    b[5] = std::byte{site};
    for (size_t i = 8; i < 16; ++i) b[i] = std::byte{last};
    return b;
  };
  TrafficSelector site1{8, 0, 0, 65535, v6(1, 0), v6(1, 0xff)}, site2{8, 0, 0, 65535, v6(2, 0), v6(2, 0xff)};
  PeerConfig a = site(true, "aes128gcm16-prfsha256-ecp256", "aes128gcm16");
  PeerConfig b = site(false, "aes128gcm16-prfsha256-ecp256", "aes128gcm16");
  a.local_ts = site1, a.remote_ts = site2;
  b.local_ts = site2, b.remote_ts = site1;
  b.local_ts.end = v6(2, 0x7f);  // the responder narrows its side
  test::IkeLink link(initiator(a), responder(b));
  run(link);
  REQUIRE(link.a().child());
  CHECK(link.a().child()->remote_ts.type == 8);
  CHECK(link.a().child()->remote_ts.end == v6(2, 0x7f));
  CHECK(link.b().child()->local_ts.end == v6(2, 0x7f));
  CHECK(link.mirrored());
  // Mixed families never narrow to anything.
  CHECK_FALSE(narrow(site1, TrafficSelector{7, 0, 0, 65535, ipv4(192, 0, 2, 0), ipv4(192, 0, 2, 255)}));
}

// RFC 7296 2.21.2: an initiator that refuses the responder's AUTH says so in an INFORMATIONAL of
// its own; the responder, established by then, must end the IKE SA and its CHILD_SA.
TEST_CASE("AUTHENTICATION_FAILED in an INFORMATIONAL ends the IKE SA and its CHILD_SA", "[ike][exchange]") {
  for (uint16_t type : {notify::kAuthenticationFailed, notify::kInvalidSyntax}) {
    test::IkeLink link(initiator(site(true, "aes128gcm16-prfsha256-ecp256", "aes128gcm16")),
                       responder(site(false, "aes128gcm16-prfsha256-ecp256", "aes128gcm16")));
    run(link);
    REQUIRE(link.b().state() == IkeState::kEstablished);
    REQUIRE(link.plane_b().inbound != 0);
    IkeSa& a = link.a();
    const IkeKeys& k = a.keys();
    Header h{a.initiator_spi(), a.responder_spi(), PayloadType::kNone, 0x20, ExchangeType::kInformational, kFlagInitiator, 2, 0};
    SkSuite suite{a.suite().encryption, a.suite().key_bits, a.suite().integrity};
    auto sealed = seal_message(suite, k.sk_ei, k.sk_ai, h, {notify_payload(type)}, random_iv_source());
    REQUIRE(sealed.ok());
    CHECK(link.b().receive(*sealed, path(2, 1), link.now()).ok());
    CHECK(link.b().state() == IkeState::kFailed);
    CHECK_THAT(link.b().failure(), Catch::Contains("the peer sent"));
    link.collect();
    CHECK(link.plane_b().inbound == 0);  // the CHILD_SA left the data plane
  }
}

// 3.10.1: a peer that answers with an error saying it cannot read us (INVALID_SYNTAX,
// UNSUPPORTED_CRITICAL_PAYLOAD, INVALID_MAJOR_VERSION) or refuses our authentication ends the
// IKE SA whatever the exchange: here the answer to a CHILD_SA rekey.
TEST_CASE("A fatal error notify in any answer ends the IKE SA", "[ike][exchange]") {
  for (uint16_t type : {notify::kInvalidSyntax, notify::kUnsupportedCriticalPayload, notify::kInvalidMajorVersion,
                        notify::kAuthenticationFailed}) {
    test::IkeLink link(initiator(site(true, "aes128gcm16-prfsha256-ecp256", "aes128gcm16")),
                       responder(site(false, "aes128gcm16-prfsha256-ecp256", "aes128gcm16")));
    run(link);
    IkeSa& a = link.a();
    REQUIRE(a.state() == IkeState::kEstablished);
    a.rekey_child();
    REQUIRE(a.take_outbox().size() == 1);  // CREATE_CHILD_SA request 2, never delivered
    const IkeKeys& k = a.keys();
    Header h{a.initiator_spi(), a.responder_spi(), PayloadType::kNone, 0x20, ExchangeType::kCreateChildSa, kFlagResponse, 2, 0};
    SkSuite suite{a.suite().encryption, a.suite().key_bits, a.suite().integrity};
    auto sealed = seal_message(suite, k.sk_er, k.sk_ar, h, {notify_payload(type)}, random_iv_source());
    REQUIRE(sealed.ok());
    (void)a.receive(*sealed, path(1, 2), link.now());
    CHECK(a.state() == IkeState::kFailed);
    CHECK_THAT(a.failure(), Catch::Contains("the peer answered with"));
    link.collect();
    CHECK(link.plane_a().inbound == 0);
  }
}
