// IKEv2 Diffie-Hellman: agreement in every supported group with the lengths RFC 7296 2.14,
// RFC 5903 and RFC 8031 give; X25519 against RFC 7748's known answer; hostile peer values
// (wrong length, off the curve, out of range, low order) refused.
#include <catch2/catch.hpp>

#include "common/hex.hpp"
#include "ike/key_exchange.hpp"

using namespace rampart;
using namespace rampart::ike;

namespace {
Bytes hex(const char* text) { return parse_hex(text).value(); }
}  // namespace

TEST_CASE("both sides agree in every group, with the lengths the RFCs give", "[ike][dh]") {
  struct Expect {
    DhGroup group;
    size_t public_length, secret_length;
  };
  for (Expect e : {Expect{DhGroup::kModp2048, 256, 256}, Expect{DhGroup::kModp3072, 384, 384},
                   Expect{DhGroup::kEcp256, 64, 32}, Expect{DhGroup::kEcp384, 96, 48},
                   Expect{DhGroup::kEcp521, 132, 66}, Expect{DhGroup::kCurve25519, 32, 32}}) {
    INFO("group " << static_cast<int>(e.group));
    auto a = KeyExchange::generate(e.group);
    auto b = KeyExchange::generate(e.group);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(a->public_value().size() == e.public_length);
    auto ab = a->shared_secret(b->public_value());
    auto ba = b->shared_secret(a->public_value());
    REQUIRE(ab.ok());
    REQUIRE(ba.ok());
    CHECK(*ab == *ba);
    CHECK(ab->size() == e.secret_length);
    CHECK(a->public_value() != b->public_value());
  }
  CHECK(dh_group_supported(31));
  CHECK_FALSE(dh_group_supported(2));  // 1024-bit MODP: too weak to offer
}

TEST_CASE("X25519 matches RFC 7748 section 6.1", "[ike][dh]") {
  auto alice = KeyExchange::from_x25519_private(hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
  auto bob = KeyExchange::from_x25519_private(hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
  REQUIRE(alice.ok());
  REQUIRE(bob.ok());
  CHECK(alice->public_value() == hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"));
  CHECK(bob->public_value() == hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"));
  auto shared = alice->shared_secret(bob->public_value());
  REQUIRE(shared.ok());
  CHECK(*shared == hex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"));
}

TEST_CASE("hostile peer values are refused", "[ike][dh]") {
  auto ecp = KeyExchange::generate(DhGroup::kEcp256).value();
  Bytes off_curve(64, std::byte{0x11});
  CHECK_FALSE(ecp.shared_secret(off_curve).ok());
  CHECK_FALSE(ecp.shared_secret(Bytes(63, std::byte{1})).ok());  // wrong length

  auto modp = KeyExchange::generate(DhGroup::kModp2048).value();
  Bytes one(256, std::byte{0});
  one.back() = std::byte{1};
  CHECK_FALSE(modp.shared_secret(one).ok());                      // y = 1
  CHECK_FALSE(modp.shared_secret(Bytes(256, std::byte{0})).ok());  // y = 0
  CHECK_FALSE(modp.shared_secret(Bytes(256, std::byte{0xff})).ok());  // y >= p

  auto x = KeyExchange::generate(DhGroup::kCurve25519).value();
  CHECK_FALSE(x.shared_secret(Bytes(32, std::byte{0})).ok());  // low order: an all-zero result
  CHECK_FALSE(x.shared_secret(Bytes(31, std::byte{9})).ok());
}

TEST_CASE("a reused key pair is shared for its window, then replaced (RFC 7296 2.12)", "[ike][dh]") {
  auto first = KeyExchange::reused(DhGroup::kCurve25519, 1000, 500);
  REQUIRE(first.ok());
  auto again = KeyExchange::reused(DhGroup::kCurve25519, 1499, 500);
  REQUIRE(again.ok());
  CHECK(first->get() == again->get());
  auto later = KeyExchange::reused(DhGroup::kCurve25519, 1500, 500);
  REQUIRE(later.ok());
  CHECK(later->get() != first->get());
  CHECK((*later)->public_value() != (*first)->public_value());
  auto other = KeyExchange::reused(DhGroup::kEcp256, 1500, 500);
  REQUIRE(other.ok());
  CHECK((*other)->group() == DhGroup::kEcp256);
}
