#include <catch2/catch.hpp>

#include <array>
#include <vector>

#include "common/wire.hpp"

using namespace rampart;

namespace {
std::vector<std::byte> bytes(std::initializer_list<int> v) {
  std::vector<std::byte> out;
  for (int b : v) out.push_back(static_cast<std::byte>(b));
  return out;
}
}  // namespace

TEST_CASE("WireReader reads big-endian fields in order", "[common][wire]") {
  auto data = bytes({0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f});
  WireReader r(data);
  CHECK(r.u8() == 0x01);
  CHECK(r.be16() == 0x0203);
  CHECK(r.be32() == 0x04050607u);
  CHECK(r.be64() == 0x08090a0b0c0d0e0full);
  CHECK(r.at_end());
  CHECK_FALSE(r.failed());
}

TEST_CASE("WireReader fails past the end and stays failed", "[common][wire]") {
  auto data = bytes({1, 2, 3});
  WireReader r(data);
  CHECK(r.be16() == 0x0102);
  CHECK_FALSE(r.be16().has_value());  // only one byte left
  CHECK(r.failed());
  CHECK_FALSE(r.u8().has_value());     // the byte that was there is not handed out any more
  CHECK(r.remaining() == 0);
  CHECK_FALSE(r.at_end());
}

TEST_CASE("WireReader sub-readers and skips stay inside their bounds", "[common][wire]") {
  auto data = bytes({0, 4, 0xaa, 0xbb, 0xcc, 0xdd, 0xee});
  WireReader r(data);
  auto len = r.be16();
  REQUIRE(len == 4);
  auto payload = r.sub(*len);
  REQUIRE(payload.has_value());
  CHECK(payload->remaining() == 4);
  CHECK(payload->skip(3));
  CHECK_FALSE(payload->be16().has_value());  // one byte left in the sub-reader, not three
  CHECK(r.u8() == 0xee);                      // the outer reader is unaffected
  CHECK_FALSE(r.sub(1).has_value());
  CHECK(r.failed());
}

TEST_CASE("WireReader rejects a length that would overflow the position", "[common][wire]") {
  auto data = bytes({1, 2, 3, 4});
  WireReader r(data);
  CHECK(r.skip(2));
  CHECK_FALSE(r.bytes(SIZE_MAX).has_value());
  CHECK(r.failed());
}

TEST_CASE("WireWriter writes big-endian fields and refuses to overrun", "[common][wire]") {
  std::array<std::byte, 8> out{};
  WireWriter w(out);
  CHECK(w.u8(0x11));
  CHECK(w.be16(0x2233));
  auto len = w.reserve(1);
  REQUIRE(len.has_value());
  CHECK(w.be32(0x44556677));
  CHECK(w.written() == 8);
  (*len)[0] = std::byte{0x99};
  CHECK(out[0] == std::byte{0x11});
  CHECK(out[2] == std::byte{0x33});
  CHECK(out[3] == std::byte{0x99});
  CHECK(out[7] == std::byte{0x77});
  CHECK_FALSE(w.u8(0));
  CHECK(w.failed());
  CHECK_FALSE(w.bytes({}));  // a failed writer writes nothing more, not even nothing
}

TEST_CASE("WireWriter output reads back through WireReader", "[common][wire]") {
  std::array<std::byte, 32> out{};
  WireWriter w(out);
  auto payload = bytes({9, 8, 7});
  REQUIRE(w.be64(0xfeedfacecafebeefull));
  REQUIRE(w.be16(static_cast<uint16_t>(payload.size())));
  REQUIRE(w.bytes(payload));
  WireReader r(w.view());
  CHECK(r.be64() == 0xfeedfacecafebeefull);
  auto n = r.be16();
  REQUIRE(n == 3);
  auto view = r.bytes(*n);
  REQUIRE(view.has_value());
  CHECK(std::vector<std::byte>(view->begin(), view->end()) == payload);
  CHECK(r.at_end());
}
