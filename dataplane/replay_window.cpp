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

ReplayWindow::Verdict ReplayWindow::check(uint64_t seq) const noexcept {
  if (size_ == kOff) [[unlikely]]
    return Verdict::kNew;
  if (seq == 0) [[unlikely]]
    return Verdict::kTooOld;  // never sent: sequence numbers start at 1 (RFC 4303 section 3.3.3)
  if (seq > top_) return Verdict::kNew;
  if (top_ - seq >= size_) return Verdict::kTooOld;
  uint64_t bucket = buckets_[(seq / kBucketBits) & bucket_mask_];
  return (bucket >> (seq % kBucketBits)) & 1 ? Verdict::kReplay : Verdict::kNew;
}

ReplayWindow::Verdict ReplayWindow::check_and_update(uint64_t seq) noexcept {
  if (size_ == kOff) [[unlikely]] {
    if (seq > top_) top_ = seq;
    return Verdict::kNew;
  }
  Verdict verdict = check(seq);
  if (verdict != Verdict::kNew) return verdict;
  if (seq > top_) {
    // Clear the buckets the window slides into; at most all of them, however far it jumps.
    uint64_t top_index = top_ / kBucketBits;
    uint64_t new_index = seq / kBucketBits;
    uint64_t to_clear = new_index - top_index;
    if (to_clear > uint64_t{bucket_mask_} + 1) to_clear = uint64_t{bucket_mask_} + 1;
    for (uint64_t i = 1; i <= to_clear; ++i) buckets_[(top_index + i) & bucket_mask_] = 0;
    top_ = seq;
  }
  buckets_[(seq / kBucketBits) & bucket_mask_] |= uint64_t{1} << (seq % kBucketBits);
  return Verdict::kNew;
}

}  // namespace rampart::dp
