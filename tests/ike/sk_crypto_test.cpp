// The Encrypted payload: an AES-GCM message byte for byte as Python's `cryptography` (an
// independent AES-GCM with RFC 5282's framing done by hand) builds it; round trips for AES-GCM
// and AES-CBC + HMAC-SHA2 suites; and any change to header, ciphertext, ICV or key caught.
#include <catch2/catch.hpp>

#include "common/hex.hpp"
#include "ike/sk_crypto.hpp"

using namespace rampart;
using namespace rampart::ike;

namespace {

Bytes hex(const char* text) { return parse_hex(text).value(); }
Bytes range(uint8_t from, size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = std::byte(static_cast<uint8_t>(from + i));
  return b;
}
IvSource fixed_iv(uint8_t from) {
  return [from](std::span<std::byte> out) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = std::byte(static_cast<uint8_t>(from + i));
  };
}
Header auth_header() {
  return {0x1122334455667788ull, 0x99aabbccddeeff00ull, PayloadType::kNone, 0x20, ExchangeType::kIkeAuth,
          kFlagInitiator, 1, 0};
}
std::vector<Payload> auth_payloads() {
  TrafficSelector ts{7, 0, 0, 65535, range(192, 4), range(193, 4)};
  return {
      {PayloadType::kIdi, false, IdPayload{2, range('a', 10)}},
      {PayloadType::kAuth, false, AuthPayload{2, range(1, 32)}},
      {PayloadType::kSa, false, SaPayload{{Proposal{1, 3, range(0xc0, 4), {{TransformType::kEncryption, 20, 128}}}}}},
      {PayloadType::kTsi, false, TsPayload{{ts}}},
      {PayloadType::kTsr, false, TsPayload{{ts}}},
      {PayloadType::kNotify, false, NotifyPayload{0, {}, 16384, {}}},  // INITIAL_CONTACT
  };
}

}  // namespace

TEST_CASE("an AES-GCM SK payload matches an independent build byte for byte", "[ike][sk]") {
  Bytes key = range(0, 16);
  Bytes salt = hex("a0a1a2a3");
  key.insert(key.end(), salt.begin(), salt.end());
  std::vector<Payload> inner{{PayloadType::kNonce, false, RawPayload{range(0x40, 16)}}};
  auto sealed = seal_message({20, 128, 0}, key, {}, auth_header(), inner, fixed_iv(0xb0));
  REQUIRE(sealed.ok());
  CHECK(to_hex(*sealed) ==
        "112233445566778899aabbccddeeff002e202308000000010000004d28800031b0b1b2b3b4b5b6b770ef2260c29e753f76a1b1c8dd"
        "e1adfc8729cadaee8d43b1e62d3fcda340c837d9b0c8c3c4");
  auto opened = open_message({20, 128, 0}, key, {}, *sealed);
  REQUIRE(std::holds_alternative<std::vector<Payload>>(opened));
  CHECK(std::get<std::vector<Payload>>(opened) == inner);
}

TEST_CASE("every suite seals and opens an IKE_AUTH's payloads; tampering is caught", "[ike][sk]") {
  for (SkSuite suite : {SkSuite{20, 128, 0}, SkSuite{20, 256, 0}, SkSuite{12, 128, 12}, SkSuite{12, 256, 14},
                        SkSuite{12, 256, 13}}) {
    INFO("encryption " << suite.encryption << "/" << suite.key_bits << ", integrity " << suite.integrity);
    REQUIRE(check_suite(suite).ok());
    Bytes ek = range(7, encryption_key_length(suite));
    Bytes ak = range(9, integrity_key_length(suite));
    auto sealed = seal_message(suite, ek, ak, auth_header(), auth_payloads(), random_iv_source());
    REQUIRE(sealed.ok());
    auto parsed = parse_message(*sealed);
    REQUIRE(std::holds_alternative<Message>(parsed));
    const auto& sk = std::get<SkPayload>(std::get<Message>(parsed).payloads.back().body);
    CHECK(sk.first_inner == PayloadType::kIdi);
    auto opened = open_message(suite, ek, ak, *sealed);
    REQUIRE(std::holds_alternative<std::vector<Payload>>(opened));
    CHECK(std::get<std::vector<Payload>>(opened) == auth_payloads());

    auto caught = [&](Bytes b) {
      auto r = open_message(suite, ek, ak, b);
      return std::holds_alternative<SkFailure>(r) && std::get<SkFailure>(r).integrity;
    };
    Bytes header_changed = *sealed;
    header_changed[23] ^= std::byte{1};  // message ID
    CHECK(caught(header_changed));
    Bytes cipher_changed = *sealed;
    cipher_changed[sealed->size() - 30] ^= std::byte{0x80};
    CHECK(caught(cipher_changed));
    Bytes icv_changed = *sealed;
    icv_changed.back() ^= std::byte{1};
    CHECK(caught(icv_changed));
    Bytes other_key = ek;
    other_key[0] ^= std::byte{1};
    auto wrong = open_message(suite, other_key, ak, *sealed);
    if (suite.aead()) CHECK(std::get<SkFailure>(wrong).integrity);  // CBC: the HMAC key is unchanged
    Bytes short_one(sealed->begin(), sealed->end() - 1);
    CHECK(std::holds_alternative<SkFailure>(open_message(suite, ek, ak, short_one)));
  }
  CHECK_FALSE(check_suite({20, 192, 0}).ok());
  CHECK_FALSE(check_suite({12, 128, 0}).ok());
  CHECK_FALSE(check_suite({20, 128, 12}).ok());
}
