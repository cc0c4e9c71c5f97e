// Two IKE SAs talking to each other in-process: IKE_SA_INIT and IKE_AUTH with a pre-shared key
// (RFC 7296 1.2, 2.15) for several suites and groups; the CHILD_SA they agree on, keys mirrored and
// selectors narrowed (2.9); refusals (wrong PSK: AUTHENTICATION_FAILED; nothing in common:
// NO_PROPOSAL_CHOSEN); and the agreed keys carrying a packet through the data plane's ESP stages.
#include <catch2/catch.hpp>

#include "ike/ike_sa.hpp"
#include "tests/dataplane/esp_harness.hpp"

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

// Moves the messages until neither side has anything to say. Returns the number moved.
int run(IkeSa& initiator, IkeSa& responder) {
  int moved = 0;
  auto request = initiator.start();
  REQUIRE(request.ok());
  std::optional<Bytes> to_responder = *request;
  while (to_responder) {
    ++moved;
    auto answer = responder.receive(*to_responder);
    REQUIRE(answer.ok());
    if (!*answer) break;
    ++moved;
    auto next = initiator.receive(**answer);
    if (!next) break;
    to_responder = *next;
  }
  return moved;
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
    IkeSa a = IkeSa::initiator(site(true, c.ike, c.esp));
    IkeSa b = IkeSa::responder(site(false, c.ike, c.esp));
    CHECK(run(a, b) == 4);  // IKE_SA_INIT and IKE_AUTH, request and response each
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
  }
}

TEST_CASE("the responder narrows the traffic selectors to its own (2.9)", "[ike][exchange]") {
  IkeSa a = IkeSa::initiator(site(true, "aes128gcm16-prfsha256-ecp256", "aes128gcm16"));
  PeerConfig narrower = site(false, "aes128gcm16-prfsha256-ecp256", "aes128gcm16");
  narrower.local_ts = range(ipv4(203, 0, 113, 0), ipv4(203, 0, 113, 127));
  IkeSa b = IkeSa::responder(narrower);
  run(a, b);
  REQUIRE(a.child());
  CHECK(a.child()->remote_ts.end == ipv4(203, 0, 113, 127));
  CHECK(b.child()->local_ts.end == ipv4(203, 0, 113, 127));
}

TEST_CASE("a wrong PSK gets AUTHENTICATION_FAILED; nothing in common gets NO_PROPOSAL_CHOSEN", "[ike][exchange]") {
  IkeSa a = IkeSa::initiator(site(true, "aes128gcm16-prfsha256-ecp256", "aes128gcm16", "one secret"));
  IkeSa b = IkeSa::responder(site(false, "aes128gcm16-prfsha256-ecp256", "aes128gcm16", "another secret"));
  auto init = a.start();
  auto init_response = b.receive(*init);
  auto auth = a.receive(**init_response);
  REQUIRE(auth.ok());
  auto refusal = b.receive(**auth);
  REQUIRE(refusal.ok());
  CHECK(b.state() == IkeState::kFailed);
  CHECK_FALSE(a.receive(**refusal).ok());
  CHECK(a.state() == IkeState::kFailed);
  CHECK_FALSE(a.child());

  IkeSa c = IkeSa::initiator(site(true, "aes128gcm16-prfsha256-ecp256", "aes128gcm16"));
  IkeSa d = IkeSa::responder(site(false, "aes256gcm16-prfsha384-x25519", "aes128gcm16"));
  auto offer = c.start();
  auto no = d.receive(*offer);
  REQUIRE(no.ok());
  REQUIRE(*no);
  CHECK_FALSE(c.receive(**no).ok());
  CHECK(c.state() == IkeState::kFailed);
}

TEST_CASE("garbage, replays and messages out of turn are dropped without harm", "[ike][exchange]") {
  IkeSa a = IkeSa::initiator(site(true, "aes128gcm16-prfsha256-ecp256", "aes128gcm16"));
  IkeSa b = IkeSa::responder(site(false, "aes128gcm16-prfsha256-ecp256", "aes128gcm16"));
  auto init = a.start();
  CHECK_FALSE(b.receive(Bytes(10, std::byte{0})).ok());
  auto init_response = b.receive(*init);
  REQUIRE(init_response.ok());
  CHECK_FALSE(b.receive(*init).ok());  // the same IKE_SA_INIT again: not for this SA's state
  auto auth = a.receive(**init_response);
  Bytes tampered = **auth;
  tampered[tampered.size() - 1] ^= std::byte{1};
  CHECK_FALSE(b.receive(tampered).ok());  // ICV: dropped, the SA waits on
  CHECK(b.state() == IkeState::kInitSent);
  auto auth_response = b.receive(**auth);
  REQUIRE(auth_response.ok());
  CHECK(a.receive(**auth_response).ok());
  CHECK(a.state() == IkeState::kEstablished);
}

TEST_CASE("the CHILD_SA's keys carry a packet through the data plane's ESP stages", "[ike][exchange][dp]") {
  IkeSa a = IkeSa::initiator(site(true, "aes128gcm16-prfsha256-x25519", "aes128gcm16"));
  IkeSa b = IkeSa::responder(site(false, "aes128gcm16-prfsha256-x25519", "aes128gcm16"));
  run(a, b);
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
