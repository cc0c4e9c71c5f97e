// Hex text to bytes and back, for keys in config files, test vectors and the console.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rampart {

// Accepts an optional "0x" prefix and ':' or ' ' separators between byte pairs.
std::optional<std::vector<std::byte>> parse_hex(std::string_view text);
std::string to_hex(std::span<const std::byte> bytes);

}  // namespace rampart
