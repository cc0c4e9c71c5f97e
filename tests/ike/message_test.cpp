// The IKEv2 codec against a message scapy's IKEv2 layer built (an independent implementation),
// round trips of every payload kind, and each way RFC 7296 says a message can be malformed.
#include <catch2/catch.hpp>

#include <random>

#include "common/hex.hpp"
#include "ike/message.hpp"

using namespace rampart;
using namespace rampart::ike;

namespace {

Bytes hex(const char* text) { return parse_hex(text).value(); }

// IKE_SA_INIT request from scapy.contrib.ikev2 (next-payload fields set by hand; scapy leaves
// them 0 otherwise): SA (ENCR 20, PRF 5, DH 19), KE (group 19, 64
// bytes 00..3f), Nonce (32 bytes 64..83), Notify NAT_DETECTION_SOURCE_IP (16388, 20 bytes 00..13).
const char* kScapyInit =
    "010203040506070800000000000000002120220800000000000000c8"
    "2200002400000020010100030300000801000014030000080200000500000008040000132800004800130000"
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c"
    "2d2e2f303132333435363738393a3b3c3d3e3f290000246465666768696a6b6c6d6e6f707172737475767778797a"
    "7b7c7d7e7f808182830000001c00004004000102030405060708090a0b0c0d0e0f10111213";

Message parsed(const Bytes& datagram) {
  auto r = parse_message(datagram);
  if (auto* e = std::get_if<ParseError>(&r)) FAIL("refused: " << e->what);
  return std::get<Message>(r);
}

ParseError refused(const Bytes& datagram) {
  auto r = parse_message(datagram);
  REQUIRE(std::holds_alternative<ParseError>(r));
  return std::get<ParseError>(r);
}

Bytes range(uint8_t from, size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = std::byte(static_cast<uint8_t>(from + i));
  return b;
}

Message every_payload() {
  Message m;
  m.header = {0x1122334455667788ull, 0x99aabbccddeeff00ull, PayloadType::kNone, 0x20, ExchangeType::kIkeAuth,
              kFlagInitiator, 1, 0};
  SaPayload sa{{Proposal{1, 3, range(0xa0, 4),
                         {{TransformType::kEncryption, 20, 256}, {TransformType::kEsn, 0, 0}}}}};
  TrafficSelector v4{7, 0, 0, 65535, range(192, 4), range(193, 4)};
  TrafficSelector v6{8, 17, 500, 500, range(0x20, 16), range(0x30, 16)};
  m.payloads = {
      {PayloadType::kIdi, false, IdPayload{2, range('a', 12)}},
      {PayloadType::kCert, false, CertPayload{4, range(1, 40)}},
      {PayloadType::kCertReq, false, CertPayload{4, range(2, 20)}},
      {PayloadType::kAuth, false, AuthPayload{2, range(3, 32)}},
      {PayloadType::kSa, false, sa},
      {PayloadType::kTsi, false, TsPayload{{v4, v6}}},
      {PayloadType::kTsr, false, TsPayload{{v4}}},
      {PayloadType::kNotify, false, NotifyPayload{3, range(0xb0, 4), 16393, {}}},
      {PayloadType::kDelete, false, DeletePayload{3, 4, {range(1, 4), range(5, 4)}}},
      {PayloadType::kVendorId, false, RawPayload{range(0x40, 16)}},
      {PayloadType::kCp, false, RawPayload{range(0x50, 8)}},
      {PayloadType::kNonce, false, RawPayload{range(0x60, 16)}},
  };
  return m;
}

}  // namespace

TEST_CASE("a message scapy built parses field by field and serialises to the same bytes", "[ike][codec]") {
  Bytes datagram = hex(kScapyInit);
  Message m = parsed(datagram);
  CHECK(m.header.initiator_spi == 0x0102030405060708ull);
  CHECK(m.header.responder_spi == 0);
  CHECK(m.header.exchange == ExchangeType::kIkeSaInit);
  CHECK(m.header.flags == kFlagInitiator);
  CHECK(m.header.length == 200);
  REQUIRE(m.payloads.size() == 4);
  const auto& sa = std::get<SaPayload>(m.payloads[0].body);
  REQUIRE(sa.proposals.size() == 1);
  CHECK(sa.proposals[0].protocol == 1);
  REQUIRE(sa.proposals[0].transforms.size() == 3);
  CHECK(sa.proposals[0].transforms[0].type == TransformType::kEncryption);
  CHECK(sa.proposals[0].transforms[0].id == 20);
  CHECK(sa.proposals[0].transforms[2].type == TransformType::kDhGroup);
  CHECK(sa.proposals[0].transforms[2].id == 19);
  const auto& ke = std::get<KePayload>(m.payloads[1].body);
  CHECK(ke.group == 19);
  CHECK(ke.data == range(0, 64));
  CHECK(m.payloads[2].type == PayloadType::kNonce);
  CHECK(std::get<RawPayload>(m.payloads[2].body).data == range(100, 32));
  const auto& nat = std::get<NotifyPayload>(m.payloads[3].body);
  CHECK(nat.type == 16388);
  CHECK(nat.data == range(0, 20));
  CHECK(serialize_message(m) == datagram);
}

TEST_CASE("every payload kind survives a round trip", "[ike][codec]") {
  Message m = every_payload();
  Bytes wire = serialize_message(m);
  Message back = parsed(wire);
  m.header.length = static_cast<uint32_t>(wire.size());
  m.header.next_payload = PayloadType::kIdi;
  CHECK(back == m);
  CHECK(serialize_message(back) == wire);
}

TEST_CASE("an SK payload ends the chain and keeps its body for decryption", "[ike][codec]") {
  Message m;
  m.header.exchange = ExchangeType::kIkeAuth;
  m.payloads = {{PayloadType::kSk, true, SkPayload{PayloadType::kIdi, range(0, 48)}}};
  Bytes wire = serialize_message(m);
  Message back = parsed(wire);
  REQUIRE(back.payloads.size() == 1);
  const auto& sk = std::get<SkPayload>(back.payloads[0].body);
  CHECK(sk.first_inner == PayloadType::kIdi);
  CHECK(sk.body == range(0, 48));
  CHECK(back.payloads[0].critical);
  // What it decrypts to parses from its first inner type.
  Bytes inner = serialize_payloads(every_payload().payloads);
  auto chain = parse_payloads(PayloadType::kIdi, inner);
  REQUIRE(std::holds_alternative<std::vector<Payload>>(chain));
  CHECK(std::get<std::vector<Payload>>(chain).size() == every_payload().payloads.size());
}

TEST_CASE("malformed messages are refused with the answer RFC 7296 gives", "[ike][codec]") {
  Bytes good = hex(kScapyInit);
  SECTION("shorter than the header: dropped") {
    CHECK(refused(Bytes(good.begin(), good.begin() + 27)).notify == Notify::kNone);
  }
  SECTION("length field disagrees with the datagram: dropped") {
    Bytes b = good;
    b.pop_back();
    CHECK(refused(b).notify == Notify::kNone);
  }
  SECTION("a later major version: INVALID_MAJOR_VERSION") {
    Bytes b = good;
    b[17] = std::byte{0x30};
    CHECK(refused(b).notify == Notify::kInvalidMajorVersion);
  }
  SECTION("a payload length past the end: INVALID_SYNTAX") {
    Bytes b = good;
    b[28 + 3] = std::byte{0xff};
    CHECK(refused(b).notify == Notify::kInvalidSyntax);
  }
  SECTION("a payload length below 4: INVALID_SYNTAX") {
    Bytes b = good;
    b[28 + 2] = std::byte{0};
    b[28 + 3] = std::byte{3};
    CHECK(refused(b).notify == Notify::kInvalidSyntax);
  }
  SECTION("a nonce of 15 bytes: INVALID_SYNTAX") {
    Message m = parsed(good);
    std::get<RawPayload>(m.payloads[2].body).data.resize(15);
    CHECK(refused(serialize_message(m)).notify == Notify::kInvalidSyntax);
  }
  SECTION("transform 'last' flags that contradict the count: INVALID_SYNTAX") {
    Bytes b = good;
    b[28 + 12] = std::byte{0};  // the first of three transforms claims to be the last
    CHECK(refused(b).notify == Notify::kInvalidSyntax);
  }
  SECTION("an unknown payload: skipped, or UNSUPPORTED_CRITICAL_PAYLOAD when critical") {
    Message m = parsed(good);
    Bytes wire = serialize_message(m);
    // Insert an unknown payload (type 200) after the header, pointing on to the SA payload.
    Bytes unknown = {std::byte{33}, std::byte{0}, std::byte{0}, std::byte{8}, std::byte{1}, std::byte{2},
                     std::byte{3}, std::byte{4}};
    Bytes b(wire.begin(), wire.begin() + kHeaderLength);
    b.insert(b.end(), unknown.begin(), unknown.end());
    b.insert(b.end(), wire.begin() + kHeaderLength, wire.end());
    b[16] = std::byte{200};
    uint32_t length = static_cast<uint32_t>(b.size());
    b[24] = std::byte(length >> 24);
    b[25] = std::byte(length >> 16);
    b[26] = std::byte(length >> 8);
    b[27] = std::byte(length);
    CHECK(parsed(b).payloads.size() == 4);
    b[kHeaderLength + 1] = std::byte{0x80};
    ParseError e = refused(b);
    CHECK(e.notify == Notify::kUnsupportedCriticalPayload);
    CHECK(e.payload == 200);
  }
  SECTION("bytes after an SK payload: INVALID_SYNTAX") {
    Message m;
    m.payloads = {{PayloadType::kSk, true, SkPayload{PayloadType::kNone, range(0, 32)}}};
    Bytes b = serialize_message(m);
    b.insert(b.end(), 4, std::byte{0});
    b[27] = std::byte(b.size());
    CHECK(refused(b).notify == Notify::kInvalidSyntax);
  }
}

TEST_CASE("every truncation and 20,000 random corruptions are refused or parsed, never more", "[ike][codec][fuzz]") {
  Bytes good = serialize_message(every_payload());
  for (size_t n = 0; n < good.size(); ++n) {
    Bytes cut(good.begin(), good.begin() + static_cast<long>(n));
    CHECK(std::holds_alternative<ParseError>(parse_message(cut)));
  }
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    Bytes b = good;
    for (int k = 0; k < 1 + i % 4; ++k) b[rng() % b.size()] = std::byte(static_cast<uint8_t>(rng()));
    auto r = parse_message(b);
    if (auto* m = std::get_if<Message>(&r)) CHECK(parse_message(serialize_message(*m)).index() == 0);
  }
}

TEST_CASE("which payloads each exchange may carry (RFC 7296 1.2-1.4)", "[ike][message]") {
  auto list = [](std::initializer_list<PayloadType> types) {
    std::vector<Payload> out;
    for (PayloadType t : types) out.push_back({t, false, RawPayload{}});
    return out;
  };
  using P = PayloadType;
  CHECK_FALSE(check_payloads(ExchangeType::kIkeSaInit, list({P::kSa, P::kKe, P::kNonce, P::kNotify, P::kCertReq})));
  CHECK(check_payloads(ExchangeType::kIkeSaInit, list({P::kSa, P::kKe, P::kNonce, P::kAuth})));
  CHECK(check_payloads(ExchangeType::kIkeAuth, list({P::kIdi, P::kAuth})));  // in the clear
  CHECK_FALSE(check_payloads(ExchangeType::kIkeAuth, list({P::kSk})));
  CHECK_FALSE(check_inner_payloads(ExchangeType::kIkeAuth, list({P::kIdi, P::kCert, P::kAuth, P::kSa, P::kTsi, P::kTsr})));
  CHECK(check_inner_payloads(ExchangeType::kInformational, list({P::kDelete, P::kKe})));
  CHECK(check_inner_payloads(ExchangeType::kCreateChildSa, list({P::kSa, P::kNonce, P::kAuth})));
  CHECK_FALSE(check_inner_payloads(ExchangeType::kCreateChildSa, list({P::kNotify, P::kSa, P::kNonce, P::kKe, P::kTsi, P::kTsr})));
}
