#include <catch2/catch.hpp>

#include <array>

#include "console/counter_format.hpp"

using namespace rampart;

TEST_CASE("counters render as an aligned table and as JSON", "[console][counters]") {
  std::array<CounterValue, 3> values{{
      {"rx_packets", "packets received", 12},
      {"replay", "sequence number seen before", 0},
      {"icv_failed", "integrity check failed", 3},
  }};
  std::string table = console::format_counters_table(values);
  CHECK(table.find("rx_packets") == 0);
  CHECK(table.find("replay") == std::string::npos);  // zero rows are hidden by default
  CHECK(table.find("integrity check failed") != std::string::npos);
  CHECK(console::format_counters_table(values, true).find("replay") != std::string::npos);
  CHECK(console::format_counters_json(values) == R"({"rx_packets": 12, "replay": 0, "icv_failed": 3})");
}

TEST_CASE("JSON strings are escaped", "[console][json]") {
  CHECK(console::json_escape("a\"b\\c\n\x01") == "a\\\"b\\\\c\\n\\u0001");
}
