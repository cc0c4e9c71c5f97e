// Anti-replay window edges (RFC 4303 section 3.4.3, RFC 6479) and ESN inference (RFC 4303
// appendix A).
#include <catch2/catch.hpp>

#include "dataplane/replay_window.hpp"

using rampart::dp::ReplayWindow;
using V = ReplayWindow::Verdict;

TEST_CASE("window sizes: powers of two from 32 to 2^24", "[dp][replay]") {
  CHECK(ReplayWindow::valid_size(32));
  CHECK(ReplayWindow::valid_size(4096));
  CHECK(ReplayWindow::valid_size(1u << 20));
  CHECK(ReplayWindow::valid_size(1u << 24));
  CHECK_FALSE(ReplayWindow::valid_size(16));
  CHECK_FALSE(ReplayWindow::valid_size(100));
  CHECK_FALSE(ReplayWindow::valid_size(1u << 25));
}

TEST_CASE("duplicates, just inside and just outside the window", "[dp][replay]") {
  auto size = GENERATE(32u, 64u, 128u, 4096u, 1u << 20);
  ReplayWindow w(size);
  CHECK(w.check_and_update(0) == V::kTooOld);  // sequence numbers start at 1
  CHECK(w.check_and_update(1) == V::kNew);
  CHECK(w.check_and_update(1) == V::kReplay);

  uint64_t top = 10ull * size + 7;
  CHECK(w.check_and_update(top) == V::kNew);
  CHECK(w.top() == top);
  uint64_t oldest = top - size + 1;  // the last number the window still covers
  CHECK(w.check(oldest) == V::kNew);
  CHECK(w.check(oldest - 1) == V::kTooOld);
  CHECK(w.check_and_update(oldest) == V::kNew);
  CHECK(w.check_and_update(oldest) == V::kReplay);
  CHECK(w.check_and_update(oldest - 1) == V::kTooOld);
  CHECK(w.check_and_update(top) == V::kReplay);
  CHECK(w.check_and_update(top - 1) == V::kNew);

  // Moving the top by one drops the oldest number out and keeps the rest.
  CHECK(w.check_and_update(top + 1) == V::kNew);
  CHECK(w.check(oldest) == V::kTooOld);
  CHECK(w.check(top - 1) == V::kReplay);
  CHECK(w.check(top - 2) == V::kNew);
}

TEST_CASE("every number in the window is remembered while the window slides", "[dp][replay]") {
  auto size = GENERATE(32u, 64u, 256u, 1024u);
  ReplayWindow w(size);
  // Accept 1..5*size in order, then check the last `size` are replays and older ones too old.
  uint64_t last = 5ull * size;
  for (uint64_t s = 1; s <= last; ++s) REQUIRE(w.check_and_update(s) == V::kNew);
  for (uint64_t s = last - size + 1; s <= last; ++s) REQUIRE(w.check(s) == V::kReplay);
  for (uint64_t s = 1; s <= last - size; ++s) REQUIRE(w.check(s) == V::kTooOld);
}

TEST_CASE("out-of-order arrival inside the window is accepted exactly once", "[dp][replay]") {
  ReplayWindow w(64);
  for (uint64_t s : {10, 5, 8, 64, 3, 60, 1, 2}) CHECK(w.check_and_update(s) == V::kNew);
  for (uint64_t s : {10, 5, 8, 64, 3, 60, 1, 2}) CHECK(w.check_and_update(s) == V::kReplay);
  CHECK(w.check_and_update(4) == V::kNew);
}

TEST_CASE("a jump far beyond the window clears it", "[dp][replay]") {
  ReplayWindow w(128);
  for (uint64_t s = 1; s <= 200; ++s) w.check_and_update(s);
  CHECK(w.check_and_update(1'000'000) == V::kNew);
  // Numbers whose bits once sat in the same buckets must not look seen.
  for (uint64_t s = 1'000'000 - 127; s < 1'000'000; ++s) REQUIRE(w.check(s) == V::kNew);
}

TEST_CASE("ESN: the high half is inferred as RFC 4303 appendix A says", "[dp][replay][esn]") {
  ReplayWindow w(64);
  // Case B with no previous block: a low number far ahead stays in block 0.
  CHECK(w.infer_esn(5) == 5);
  CHECK(w.infer_esn(0xfffffff0u) == 0xfffffff0u);

  // Case A, window inside one block: below the window means the next block.
  REQUIRE(w.check_and_update(0xffffff00u) == V::kNew);
  CHECK(w.infer_esn(0xffffff00u - 10) == 0xffffff00u - 10);
  CHECK(w.infer_esn(0xffffffffu) == 0xffffffffu);
  CHECK(w.infer_esn(3) == 0x1'00000003ull);

  // Across the 2^32 boundary: the top moves into block 1.
  REQUIRE(w.check_and_update(0xffffffffu) == V::kNew);
  REQUIRE(w.check_and_update(w.infer_esn(2)) == V::kNew);
  CHECK(w.top() == 0x1'00000002ull);
  // Case B: the window straddles the boundary; numbers near 2^32 are from block 0.
  CHECK(w.infer_esn(0xfffffff0u) == 0xfffffff0ull);
  CHECK(w.check(w.infer_esn(0xffffffffu)) == V::kReplay);
  CHECK(w.check(w.infer_esn(0xfffffffeu)) == V::kNew);
  CHECK(w.infer_esn(7) == 0x1'00000007ull);
  CHECK(w.check_and_update(w.infer_esn(1)) == V::kNew);  // 2^32 + 1
  CHECK(w.check_and_update(w.infer_esn(1)) == V::kReplay);
}

TEST_CASE("size 0: anti-replay off, every number new, the highest kept", "[dp][replay]") {
  ReplayWindow w(ReplayWindow::kOff);
  CHECK(w.off());
  CHECK_FALSE(ReplayWindow::valid_size(ReplayWindow::kOff));  // not a window size: the SA says off
  for (uint64_t seq : {5ull, 5ull, 1ull, 100000ull, 3ull}) {
    CHECK(w.check(seq) == V::kNew);
    CHECK(w.check_and_update(seq) == V::kNew);
  }
  CHECK(w.top() == 100000);
}
