#include <catch2/catch.hpp>

#include "config/net_types.hpp"

using namespace rampart::cfg;

TEST_CASE("prefixes parse for both families", "[config][net]") {
  auto v4 = parse_ip_prefix("192.0.2.0/24");
  REQUIRE(v4.has_value());
  CHECK(v4->address.family == Family::kIpv4);
  CHECK(v4->length == 24);
  CHECK(to_string(*v4) == "192.0.2.0/24");
  auto v6 = parse_ip_prefix("2001:db8::/32");
  REQUIRE(v6.has_value());
  CHECK(v6->address.family == Family::kIpv6);
  CHECK(to_string(*v6) == "2001:db8::/32");
  CHECK(parse_ip_prefix("203.0.113.7")->length == 32);
  CHECK(parse_ip_prefix("2001:db8::1")->length == 128);
}

TEST_CASE("malformed prefixes are refused", "[config][net]") {
  for (const char* bad : {"10.0.0/24", "192.0.2.0/33", "2001:db8::/129", "192.0.2.0/", "192.0.2.0/2x", "", "/24",
                          "192.0.2.0/-1", "host"})
    CHECK_FALSE(parse_ip_prefix(bad).has_value());
}

TEST_CASE("host bits past the prefix length are detected", "[config][net]") {
  CHECK(has_host_bits(*parse_ip_prefix("192.0.2.1/24")));
  CHECK_FALSE(has_host_bits(*parse_ip_prefix("192.0.2.0/24")));
  CHECK_FALSE(has_host_bits(*parse_ip_prefix("0.0.0.0/0")));
  CHECK(has_host_bits(*parse_ip_prefix("2001:db8::1/64")));
  CHECK_FALSE(has_host_bits(*parse_ip_prefix("2001:db8::1/128")));
}

TEST_CASE("port ranges", "[config][net]") {
  CHECK(parse_port_range("443") == PortRange{443, 443});
  CHECK(parse_port_range("1024-65535") == PortRange{1024, 65535});
  CHECK(parse_port_range("any")->any());
  for (const char* bad : {"65536", "80-", "-80", "90-80", "http", ""}) CHECK_FALSE(parse_port_range(bad).has_value());
}
