#include <catch2/catch.hpp>

#include "common/hex.hpp"

using namespace rampart;

TEST_CASE("hex parses keys as config files write them", "[common][hex]") {
  auto plain = parse_hex("00ff10Ab");
  REQUIRE(plain.has_value());
  CHECK(plain->size() == 4);
  CHECK((*plain)[1] == std::byte{0xff});
  CHECK((*plain)[3] == std::byte{0xab});
  CHECK(parse_hex("0x0102")->size() == 2);
  CHECK(parse_hex("01:02:03")->size() == 3);
  CHECK(parse_hex("")->empty());
  CHECK(to_hex(*plain) == "00ff10ab");
}

TEST_CASE("hex rejects what is not whole bytes of hex", "[common][hex]") {
  CHECK_FALSE(parse_hex("abc").has_value());
  CHECK_FALSE(parse_hex("zz").has_value());
  CHECK_FALSE(parse_hex("0:102").has_value());
}
