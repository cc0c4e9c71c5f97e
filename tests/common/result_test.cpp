#include <catch2/catch.hpp>

#include "common/result.hpp"

using namespace rampart;

namespace {
Result<int> parse_positive(int v) {
  if (v <= 0) return make_error(Errc::kInvalidArgument, "not positive: " + std::to_string(v));
  return v;
}
}  // namespace

TEST_CASE("Result carries a value or a code with a message", "[common][result]") {
  auto good = parse_positive(7);
  REQUIRE(good.ok());
  CHECK(*good == 7);

  auto bad = parse_positive(-1);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.code() == Errc::kInvalidArgument);
  CHECK(bad.message() == "not positive: -1");
  CHECK(std::string(errc_name(bad.code())) == "invalid argument");
}

TEST_CASE("Result<void> is ok by default and carries an error otherwise", "[common][result]") {
  Result<void> ok;
  CHECK(ok.ok());
  Result<void> failed = make_error(Errc::kIo, "disk on fire");
  CHECK_FALSE(failed.ok());
  CHECK(failed.code() == Errc::kIo);
  CHECK(failed.message() == "disk on fire");
}

TEST_CASE("Result moves its value out", "[common][result]") {
  Result<std::string> r = std::string(100, 'x');
  std::string taken = std::move(r).value();
  CHECK(taken.size() == 100);
}
