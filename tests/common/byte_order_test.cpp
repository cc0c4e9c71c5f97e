#include <catch2/catch.hpp>

#include <cstring>
#include <type_traits>

#include "common/byte_order.hpp"

using namespace rampart;

TEST_CASE("big-endian fields hold wire order and convert on get/set", "[common][byte_order]") {
  Be32 spi = Be32::from_host(0x01020304);
  uint8_t raw[4];
  std::memcpy(raw, &spi, 4);
  CHECK(raw[0] == 0x01);
  CHECK(raw[3] == 0x04);
  CHECK(spi.get() == 0x01020304u);

  Be16 port;
  port.set(4500);
  std::memcpy(raw, &port, 2);
  CHECK(raw[0] == 0x11);
  CHECK(raw[1] == 0x94);

  Be64 seq = Be64::from_host(0x0102030405060708ull);
  CHECK(seq.get() == 0x0102030405060708ull);
  CHECK(Be64::from_host(5) == Be64::from_host(5));
}

TEST_CASE("big-endian fields cannot be read as numbers by accident", "[common][byte_order]") {
  STATIC_REQUIRE_FALSE(std::is_convertible_v<Be32, uint32_t>);
  STATIC_REQUIRE_FALSE(std::is_convertible_v<uint32_t, Be32>);
  STATIC_REQUIRE(std::is_trivially_copyable_v<Be32>);
}

TEST_CASE("a header of big-endian fields has no padding", "[common][byte_order]") {
  struct Header {
    Be32 spi;
    Be32 seq;
    Be16 len;
    uint8_t next;
  };
  STATIC_REQUIRE(sizeof(Header) == 11);
  const uint8_t wire[11] = {0, 0, 0x10, 0, 0, 0, 0, 9, 0, 40, 50};
  Header h;
  std::memcpy(&h, wire, sizeof h);
  CHECK(h.spi.get() == 0x1000);
  CHECK(h.seq.get() == 9);
  CHECK(h.len.get() == 40);
  CHECK(h.next == 50);
}
