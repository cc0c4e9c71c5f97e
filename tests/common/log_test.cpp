#include <catch2/catch.hpp>

#include "common/log.hpp"

using namespace rampart;

TEST_CASE("log levels parse by name and filter", "[common][log]") {
  CHECK(parse_log_level("debug") == LogLevel::kDebug);
  CHECK(parse_log_level("warning") == LogLevel::kWarning);
  CHECK_FALSE(parse_log_level("loud").has_value());

  LogLevel before = log_level();
  set_log_level(LogLevel::kError);
  int evaluated = 0;
  // A filtered line must not evaluate its arguments: no cost when the level is off.
  LOG_DEBUG("test", "%d", ++evaluated);
  CHECK(evaluated == 0);
  set_log_level(before);
}
