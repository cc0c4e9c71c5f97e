#include <catch2/catch.hpp>

#include <array>
#include <thread>
#include <vector>

#include "common/counters.hpp"

using namespace rampart;

namespace {
enum class Drop : size_t { kRunt, kBadSpi, kReplay, kCount };
constexpr std::array<CounterDef, 3> kDropDefs{{
    {"runt", "shorter than the headers it claims"},
    {"bad_spi", "no SA for this SPI"},
    {"replay", "sequence number already seen"},
}};
}  // namespace

TEST_CASE("counters are declared once and summed over lanes", "[common][counters]") {
  CounterTable table(kDropDefs, 4);
  REQUIRE(table.size() == 3);
  table.lane(0).add(Drop::kRunt);
  table.lane(1).add(Drop::kRunt, 5);
  table.lane(3).add(Drop::kReplay, 2);
  CHECK(table.sum(Drop::kRunt) == 6);
  CHECK(table.sum(Drop::kBadSpi) == 0);
  CHECK(table.sum(Drop::kReplay) == 2);

  auto snap = table.snapshot();
  REQUIRE(snap.size() == 3);
  CHECK(snap[0].name == "runt");
  CHECK(snap[0].help == "shorter than the headers it claims");
  CHECK(snap[0].value == 6);
  CHECK(snap[2].value == 2);

  table.reset();
  CHECK(table.sum(Drop::kRunt) == 0);
}

TEST_CASE("each lane sits on its own cache lines", "[common][counters]") {
  CounterTable table(kDropDefs, 3);
  // Writers on different lcores must never share a line, or every add would bounce it.
  for (unsigned l = 0; l < 3; ++l) {
    auto start = reinterpret_cast<uintptr_t>(table.lane(l).storage());
    CHECK(start % kCacheLine == 0);
    if (l > 0) CHECK(start - reinterpret_cast<uintptr_t>(table.lane(l - 1).storage()) >= kCacheLine);
  }
}

TEST_CASE("lanes written by separate threads add up exactly", "[common][counters]") {
  constexpr unsigned kThreads = 4;
  constexpr uint64_t kPerThread = 200000;
  CounterTable table(kDropDefs, kThreads);
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < kThreads; ++t)
    threads.emplace_back([&table, t] {
      auto& lane = table.lane(t);
      for (uint64_t i = 0; i < kPerThread; ++i) lane.add(Drop::kBadSpi);
    });
  for (auto& th : threads) th.join();
  CHECK(table.sum(Drop::kBadSpi) == kThreads * kPerThread);
}
