// Anti-replay window for inbound SAs (RFC 4303 section 3.4.3), kept as a ring of 64-bit buckets
// so that sliding the window clears whole buckets instead of shifting bits (RFC 6479). Any
// power-of-two size from 32 to 2^24 packets; 64-bit ESN inference per RFC 4303 appendix A.
// Size 0 is anti-replay off (RFC 4303 3.4.3 lets a receiver go without it): every number is
// new, and only the highest is kept. ESN needs the window (RFC 4303 2.2.1), so not with 0.
// Owned by the SA's one worker: no atomics.
#pragma once

#include <cstdint>
#include <memory>

namespace rampart::dp {

class ReplayWindow {
 public:
  static constexpr uint32_t kMinSize = 32;
  static constexpr uint32_t kMaxSize = 1u << 24;
  static constexpr uint32_t kOff = 0;

  enum class Verdict : uint8_t { kNew, kReplay, kTooOld };

  // size must be a power of two in [kMinSize, kMaxSize] (valid_size()), or kOff. top is the highest
  // number already seen, for an SA that takes over from another (or a known-answer test).
  explicit ReplayWindow(uint32_t size, uint64_t top = 0);
  static bool valid_size(uint32_t size) noexcept {
    return size >= kMinSize && size <= kMaxSize && (size & (size - 1)) == 0;
  }

  // The full sequence number a received low half stands for, given what the window has seen
  // (RFC 4303 appendix A2.2). Only meaningful for SAs with ESN.
  uint64_t infer_esn(uint32_t seq_low) const noexcept;

  // Whether seq could be accepted; does not change the window. Called before decryption to drop
  // replays cheaply; the authoritative call is check_and_update, after the ICV verified.
  Verdict check(uint64_t seq) const noexcept;
  // Accepts seq into the window, or says why not. Only for packets whose ICV verified, so a
  // forged packet can never move the window.
  Verdict check_and_update(uint64_t seq) noexcept;

  uint64_t top() const noexcept { return top_; }
  bool off() const noexcept { return size_ == kOff; }
  uint32_t size() const noexcept { return size_; }

  // ESN across a burst (RFC 4303 appendix A asks for each packet's high bits against the window
  // as the packets before it left it). The inbound stage queues a burst's packets before any is
  // verified, so it keeps, per pass over the burst, the highest number it queued (ahead()); a
  // packet whose high bits would differ against that and against top() waits for the next pass,
  // when the packets before it have verified (or not) and moved the window (or not), and so does
  // every later packet of the SA in this pass, to keep their order. A forged jump costs a pass,
  // never a genuine packet.
  void begin_pass(uint32_t pass) noexcept {
    if (pass_ == pass) return;
    pass_ = pass;
    ahead_ = top_;
    waiting_ = false;
  }
  uint64_t ahead() const noexcept { return ahead_; }
  void queued(uint64_t seq) noexcept {
    if (seq > ahead_) ahead_ = seq;
  }
  bool waiting() const noexcept { return waiting_; }
  void wait() noexcept { waiting_ = true; }
  // infer_esn as if `top` were the highest number seen.
  uint64_t infer_esn_at(uint64_t top, uint32_t seq_low) const noexcept;

 private:
  static constexpr unsigned kBucketBits = 64;

  uint64_t top_ = 0;  // the highest sequence number accepted; 0 before the first
  uint64_t ahead_ = 0;
  uint32_t pass_ = 0;
  bool waiting_ = false;
  uint32_t size_;
  uint32_t bucket_mask_;
  std::unique_ptr<uint64_t[]> buckets_;
};

// Inline: called for every inbound packet, twice.
inline ReplayWindow::Verdict ReplayWindow::check(uint64_t seq) const noexcept {
  if (size_ == kOff) [[unlikely]]
    return Verdict::kNew;
  if (seq == 0) [[unlikely]]
    return Verdict::kTooOld;  // never sent: sequence numbers start at 1 (RFC 4303 section 3.3.3)
  if (seq > top_) return Verdict::kNew;
  if (top_ - seq >= size_) return Verdict::kTooOld;
  uint64_t bucket = buckets_[(seq / kBucketBits) & bucket_mask_];
  return (bucket >> (seq % kBucketBits)) & 1 ? Verdict::kReplay : Verdict::kNew;
}

inline ReplayWindow::Verdict ReplayWindow::check_and_update(uint64_t seq) noexcept {
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
