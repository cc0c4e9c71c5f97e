// Cache-line helpers. 64 bytes on every x86-64 part we target; DPDK's RTE_CACHE_LINE_SIZE agrees,
// but common/ includes only the standard library.
#pragma once

#include <cstddef>

namespace rampart {

inline constexpr size_t kCacheLine = 64;

constexpr size_t round_up_to_cache_line(size_t n) noexcept {
  return (n + kCacheLine - 1) / kCacheLine * kCacheLine;
}

}  // namespace rampart
