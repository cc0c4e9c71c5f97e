// Addresses, prefixes and port ranges as the config (and later the SPD) holds them.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rampart::cfg {

enum class Family : uint8_t { kIpv4, kIpv6 };

struct IpAddress {
  Family family = Family::kIpv4;
  std::array<uint8_t, 16> bytes{};  // network order; IPv4 uses the first 4
  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

struct IpPrefix {
  IpAddress address;
  uint8_t length = 0;
  friend bool operator==(const IpPrefix&, const IpPrefix&) = default;
};

struct PortRange {
  uint16_t low = 0;
  uint16_t high = 65535;
  bool any() const noexcept { return low == 0 && high == 65535; }
  friend bool operator==(const PortRange&, const PortRange&) = default;
};

std::optional<IpAddress> parse_ip_address(std::string_view text);
// "192.0.2.0/24" or "2001:db8::/32"; a bare address is a host prefix (/32 or /128).
std::optional<IpPrefix> parse_ip_prefix(std::string_view text);
// "443" or "1024-65535"; "any" for the whole range.
std::optional<PortRange> parse_port_range(std::string_view text);
// True if any bit past the prefix length is set (192.0.2.1/24).
bool has_host_bits(const IpPrefix& prefix) noexcept;

std::string to_string(const IpAddress& address);
std::string to_string(const IpPrefix& prefix);

}  // namespace rampart::cfg
