// Big-endian field types for wire headers. A field holds the bytes as they are on the wire and
// cannot be read as a number without converting, so a missed ntohl is a compile error, not a bug.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace rampart {

template <typename T>
constexpr T byteswap_if_little(T v) noexcept {
  if constexpr (std::endian::native == std::endian::big || sizeof(T) == 1) {
    return v;
  } else if constexpr (sizeof(T) == 2) {
    return static_cast<T>(__builtin_bswap16(v));
  } else if constexpr (sizeof(T) == 4) {
    return static_cast<T>(__builtin_bswap32(v));
  } else {
    static_assert(sizeof(T) == 8);
    return static_cast<T>(__builtin_bswap64(v));
  }
}

// A big-endian unsigned integer of N bits, alignment 1 so it can sit anywhere in a header.
template <typename T>
class BigEndian {
 public:
  constexpr BigEndian() noexcept = default;
  static constexpr BigEndian from_host(T host) noexcept {
    BigEndian b;
    b.set(host);
    return b;
  }
  // At run time one load or store and a byte swap: GCC at -O2 leaves the byte loops below as
  // loops (eight shifts and stores for a sequence number), which the packet path felt.
  constexpr T get() const noexcept {
    if (!std::is_constant_evaluated()) return byteswap_if_little(raw());
    T raw = 0;
    for (unsigned i = 0; i < sizeof(T); ++i) raw = static_cast<T>((raw << 8) | bytes_[i]);
    return raw;
  }
  constexpr void set(T host) noexcept {
    if (!std::is_constant_evaluated()) {
      T network_order = byteswap_if_little(host);
      std::memcpy(bytes_, &network_order, sizeof(T));
      return;
    }
    for (unsigned i = 0; i < sizeof(T); ++i)
      bytes_[sizeof(T) - 1 - i] = static_cast<uint8_t>(host >> (8 * i));
  }
  // A value already in network order, e.g. a checksum summed over memory as it lies.
  static BigEndian from_raw(T network_order) noexcept {
    BigEndian b;
    std::memcpy(b.bytes_, &network_order, sizeof(T));
    return b;
  }
  // The raw network-order value, for hashing or comparing without conversion.
  T raw() const noexcept {
    T v;
    std::memcpy(&v, bytes_, sizeof(T));
    return v;
  }
  friend constexpr bool operator==(const BigEndian&, const BigEndian&) noexcept = default;

 private:
  uint8_t bytes_[sizeof(T)] = {};
};

using Be16 = BigEndian<uint16_t>;
using Be32 = BigEndian<uint32_t>;
using Be64 = BigEndian<uint64_t>;

static_assert(sizeof(Be16) == 2 && alignof(Be16) == 1);
static_assert(sizeof(Be32) == 4 && alignof(Be32) == 1);
static_assert(sizeof(Be64) == 8 && alignof(Be64) == 1);

}  // namespace rampart
