#include "dataplane/replay_window.hpp"

#include <bit>

namespace rampart::dp {

ReplayWindow::ReplayWindow(uint32_t size, uint64_t top) : top_(top), size_(size) {
  // One bucket more than the window needs, so the bucket holding the oldest in-window number is
  // never the one being cleared for the newest (RFC 6479 section 2); at least two buckets.
  uint32_t buckets = std::bit_ceil(size / kBucketBits + 1);
  if (buckets < 2) buckets = 2;
  bucket_mask_ = buckets - 1;
  buckets_ = std::make_unique<uint64_t[]>(buckets);
}

uint64_t ReplayWindow::infer_esn(uint32_t seq_low) const noexcept { return infer_esn_at(top_, seq_low); }

uint64_t ReplayWindow::infer_esn_at(uint64_t top, uint32_t seq_low) const noexcept {
  const uint32_t top_low = static_cast<uint32_t>(top);
  const uint32_t top_high = static_cast<uint32_t>(top >> 32);
  const uint32_t bottom_low = top_low - size_ + 1;  // wraps below zero in case B, by design
  uint32_t high;
  if (top_low >= size_ - 1) {
    // Case A: the window lies within one 2^32 block. A number below it has wrapped into the next.
    high = seq_low >= bottom_low ? top_high : top_high + 1;
  } else {
    // Case B: the window straddles a block boundary. A number above its bottom (mod 2^32) is from
    // the previous block, unless there is none, in which case it is a jump ahead within block 0.
    high = (seq_low >= bottom_low && top_high > 0) ? top_high - 1 : top_high;
  }
  return (uint64_t{high} << 32) | seq_low;
}

}  // namespace rampart::dp
