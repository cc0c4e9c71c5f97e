// Certificates in IKE_AUTH (RFC 7296 2.15, RFC 7427), with the example PKI in
// config/examples/certs: an ECDSA gateway and an RSA gateway authenticate each other through the
// CA, CERT and CERTREQ travel, and a CHILD_SA follows; an impostor's certificate from another CA,
// a certificate that names someone else, a tampered signature and a peer using a PSK are refused
// with AUTHENTICATION_FAILED. Loading errors name the file.
#include <catch2/catch.hpp>

#include <cstring>

#include "ike/credentials.hpp"
#include "ike/exchange_support.hpp"
#include "tests/ike/ike_link.hpp"

using namespace rampart;
using namespace rampart::ike;

namespace {

std::string cert_file(const char* name) { return std::string(RAMPART_CERTS) + "/" + name; }

std::shared_ptr<const Credentials> credentials(const char* who) {
  auto c = Credentials::load(cert_file("ca.pem"), cert_file((std::string(who) + ".pem").c_str()),
                             cert_file((std::string(who) + ".key").c_str()));
  INFO((c.ok() ? "" : c.message()));
  REQUIRE(c.ok());
  return *c;
}

Bytes ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return {std::byte{a}, std::byte{b}, std::byte{c}, std::byte{d}}; }

PeerConfig gateway(bool one, const char* who) {
  PeerConfig c;
  c.local_id = one ? "gw1.example.net" : "gw2.example.net";
  c.remote_id = one ? "gw2.example.net" : "gw1.example.net";
  c.credentials = credentials(who);
  c.ike_suites = {parse_suite("aes128gcm16-prfsha256-ecp256", 1).value()};
  c.esp_suites = {parse_suite("aes128gcm16", 3).value()};
  TrafficSelector a{7, 0, 0, 65535, ipv4(192, 0, 2, 0), ipv4(192, 0, 2, 255)};
  TrafficSelector b{7, 0, 0, 65535, ipv4(203, 0, 113, 0), ipv4(203, 0, 113, 255)};
  c.local_ts = one ? a : b;
  c.remote_ts = one ? b : a;
  return c;
}

Path path(bool one) {
  Bytes a = ipv4(198, 51, 100, 1), b = ipv4(198, 51, 100, 2);
  return one ? Path{a, b, 500, 500} : Path{b, a, 500, 500};
}

test::IkeLink run(PeerConfig one, PeerConfig two) {
  test::IkeLink link(IkeSa::initiator(std::move(one), path(true)), IkeSa::responder(std::move(two), path(false)));
  REQUIRE(link.a().start(link.now()).ok());
  link.run_for(1000);
  return link;
}

}  // namespace

TEST_CASE("ECDSA and RSA certificates from one CA authenticate both ways (RFC 7427)", "[ike][cert]") {
  for (bool ecdsa_initiates : {true, false}) {
    INFO("the ECDSA gateway initiates: " << ecdsa_initiates);
    PeerConfig ec = gateway(true, "gw1"), rsa = gateway(false, "gw2");
    auto link = ecdsa_initiates ? run(ec, rsa) : run(rsa, ec);
    CHECK(link.a().state() == IkeState::kEstablished);
    CHECK(link.b().state() == IkeState::kEstablished);
    CHECK(link.mirrored());
    // A rekey over the certificate-authenticated IKE SA works as over any other.
    uint32_t before = link.plane_a().outbound;
    link.a().rekey_child();
    CHECK(link.run_until([&] { return link.plane_a().outbound != before && link.mirrored(); }, 3000));
  }
}

TEST_CASE("certificates that do not prove the peer are refused with AUTHENTICATION_FAILED", "[ike][cert]") {
  SECTION("an impostor's certificate from another CA") {
    PeerConfig impostor = gateway(false, "gw2");
    // It trusts our CA (it accepts us), but its own certificate comes from another one.
    auto loaded = Credentials::load(cert_file("ca.pem"), cert_file("impostor.pem"), cert_file("impostor.key"));
    REQUIRE(loaded.ok());
    impostor.credentials = *loaded;
    auto link = run(gateway(true, "gw1"), impostor);
    CHECK(link.a().state() == IkeState::kFailed);
    CHECK_THAT(link.a().failure(), Catch::Contains("not trusted"));
  }
  SECTION("a trusted certificate that names another identity") {
    PeerConfig liar = gateway(false, "gw2");
    liar.credentials = credentials("gw1");  // gw1's certificate, claiming to be gw2.example.net
    auto link = run(gateway(true, "gw1"), liar);
    CHECK(link.a().state() == IkeState::kFailed);
    CHECK_THAT(link.a().failure(), Catch::Contains("does not name the identity"));
  }
  SECTION("a PSK where a certificate is expected") {
    PeerConfig psk = gateway(true, "gw1");
    psk.credentials.reset();
    psk.psk = Bytes(20, std::byte{1});
    auto link = run(psk, gateway(false, "gw2"));
    CHECK(link.b().state() == IkeState::kFailed);
    CHECK_THAT(link.b().failure(), Catch::Contains("certificate and an RFC 7427 signature were expected"));
    CHECK(link.a().state() == IkeState::kFailed);
  }
}

TEST_CASE("signatures: made, checked, and refused when tampered", "[ike][cert]") {
  auto gw1 = credentials("gw1"), gw2 = credentials("gw2");
  Bytes octets(300, std::byte{0x5a});
  IdPayload gw1_id = identity("gw1.example.net");
  for (const auto& signer : {gw1, gw2}) {
    auto signature = signer->sign(octets);
    REQUIRE(signature.ok());
    IdPayload id = signer == gw1 ? gw1_id : identity("gw2.example.net");
    CHECK(gw1->verify(signer->certificate(), id, octets, *signature).ok());
    Bytes tampered = *signature;
    tampered.back() ^= std::byte{1};
    CHECK_FALSE(gw1->verify(signer->certificate(), id, octets, tampered).ok());
    Bytes other = octets;
    other[7] ^= std::byte{1};
    CHECK_FALSE(gw1->verify(signer->certificate(), id, other, *signature).ok());
  }
  CHECK_FALSE(gw1->verify(gw1->certificate(), gw1_id, octets, Bytes{std::byte{200}, std::byte{1}}).ok());  // truncated
  auto good = gw1->sign(octets);
  REQUIRE(good.ok());
  CHECK_FALSE(gw1->verify(Bytes(50, std::byte{0x30}), gw1_id, octets, *good).ok());  // not a certificate
  CHECK(gw1->authority().size() == 20);
  CHECK(gw1->authority() == gw2->authority());
}

TEST_CASE("loading errors name the file", "[ike][cert]") {
  auto missing = Credentials::load(cert_file("ca.pem"), cert_file("nope.pem"), cert_file("gw1.key"));
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.message(), Catch::Contains("nope.pem: cannot open it"));
  auto mismatch = Credentials::load(cert_file("ca.pem"), cert_file("gw1.pem"), cert_file("gw2.key"));
  REQUIRE_FALSE(mismatch.ok());
  CHECK_THAT(mismatch.message(), Catch::Contains("gw2.key: not the private key of"));
  auto not_pem = Credentials::load(cert_file("gw1.key"), cert_file("gw1.pem"), cert_file("gw1.key"));
  REQUIRE_FALSE(not_pem.ok());
  CHECK_THAT(not_pem.message(), Catch::Contains("gw1.key: not a PEM X.509 certificate"));
}

// RFC 8247 2.4 and RFC 7427: the hash fits the key, and is one the peer's
// SIGNATURE_HASH_ALGORITHMS allow; the AlgorithmIdentifier in the AUTH data says which.
TEST_CASE("the signature's hash fits the key and the peer's SIGNATURE_HASH_ALGORITHMS", "[ike][cert]") {
  auto p256 = credentials("gw1"), p384 = credentials("gw1-p384"), rsa = credentials("gw2");
  using H = std::vector<uint16_t>;
  CHECK(p256->signing_hash({}) == Credentials::kSha256);
  CHECK(p384->signing_hash({}) == Credentials::kSha384);
  CHECK(rsa->signing_hash({}) == Credentials::kSha256);
  CHECK(p384->signing_hash(H{2, 3, 4}) == Credentials::kSha384);
  CHECK(p256->signing_hash(H{4}) == Credentials::kSha512);   // a peer that asks for SHA-512 only
  CHECK(rsa->signing_hash(H{3, 2}) == Credentials::kSha256);
  CHECK(rsa->signing_hash(H{3}) == Credentials::kSha384);
  CHECK(p384->signing_hash(H{2, 4}) == Credentials::kSha512);  // the strongest it allows
  Bytes octets(100, std::byte{7});
  IdPayload gw1_id = identity("gw1.example.net");
  // ecdsa-with-SHA384 is 1.2.840.10045.4.3.3: the AlgorithmIdentifier's last byte.
  auto signature = p384->sign(octets);
  REQUIRE(signature.ok());
  CHECK((*signature)[0] == std::byte{12});
  CHECK((*signature)[12] == std::byte{0x03});
  CHECK(p256->verify(p384->certificate(), gw1_id, octets, *signature).ok());
  auto asked = p256->sign(octets, H{3});
  REQUIRE(asked.ok());
  CHECK((*asked)[12] == std::byte{0x03});
  CHECK(p256->verify(p256->certificate(), gw1_id, octets, *asked).ok());
}

TEST_CASE("a P-384 certificate authenticates an IKE SA with SHA-384 both ways", "[ike][cert]") {
  PeerConfig one = gateway(true, "gw1-p384");
  auto link = run(std::move(one), gateway(false, "gw2"));
  CHECK(link.a().state() == IkeState::kEstablished);
  CHECK(link.b().state() == IkeState::kEstablished);
}
