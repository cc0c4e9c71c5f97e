#include "config/net_types.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace rampart::cfg {

std::optional<IpAddress> parse_ip_address(std::string_view text) {
  if (text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  std::string s(text);  // inet_pton needs a terminated string
  IpAddress a;
  if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) {
    a.family = Family::kIpv4;
    return a;
  }
  if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
    a.family = Family::kIpv6;
    return a;
  }
  return std::nullopt;
}

std::optional<IpPrefix> parse_ip_prefix(std::string_view text) {
  auto slash = text.find('/');
  auto address = parse_ip_address(text.substr(0, slash));
  if (!address) return std::nullopt;
  unsigned max = address->family == Family::kIpv4 ? 32 : 128;
  unsigned length = max;
  if (slash != std::string_view::npos) {
    std::string_view digits = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
    if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() || length > max)
      return std::nullopt;
  }
  return IpPrefix{*address, static_cast<uint8_t>(length)};
}

std::optional<PortRange> parse_port_range(std::string_view text) {
  if (text == "any") return PortRange{};
  auto parse_port = [](std::string_view s) -> std::optional<uint16_t> {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || v > 65535) return std::nullopt;
    return static_cast<uint16_t>(v);
  };
  auto dash = text.find('-');
  auto low = parse_port(text.substr(0, dash));
  auto high = dash == std::string_view::npos ? low : parse_port(text.substr(dash + 1));
  if (!low || !high || *low > *high) return std::nullopt;
  return PortRange{*low, *high};
}

bool has_host_bits(const IpPrefix& prefix) noexcept {
  unsigned bits = prefix.address.family == Family::kIpv4 ? 32 : 128;
  for (unsigned bit = prefix.length; bit < bits; ++bit)
    if (prefix.address.bytes[bit / 8] & (0x80 >> (bit % 8))) return true;
  return false;
}

std::string to_string(const IpAddress& address) {
  char buf[INET6_ADDRSTRLEN];
  int af = address.family == Family::kIpv4 ? AF_INET : AF_INET6;
  if (inet_ntop(af, address.bytes.data(), buf, sizeof buf) == nullptr) return "?";
  return buf;
}

std::string to_string(const IpPrefix& prefix) {
  return to_string(prefix.address) + "/" + std::to_string(prefix.length);
}

}  // namespace rampart::cfg
