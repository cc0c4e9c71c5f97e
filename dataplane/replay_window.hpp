// Anti-replay window for inbound SAs (RFC 4303 section 3.4.3), kept as a ring of 64-bit buckets
// so that sliding the window clears whole buckets instead of shifting bits (RFC 6479). Any
// power-of-two size from 32 to 2^24 packets; 64-bit ESN inference per RFC 4303 appendix A.
// Owned by the SA's one worker: no atomics.
#pragma once

#include <cstdint>
#include <memory>

namespace rampart::dp {

class ReplayWindow {
 public:
  static constexpr uint32_t kMinSize = 32;
  static constexpr uint32_t kMaxSize = 1u << 24;

  enum class Verdict : uint8_t { kNew, kReplay, kTooOld };

  // size must be a power of two in [kMinSize, kMaxSize]; see valid_size(). top is the highest
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
  uint32_t size() const noexcept { return size_; }

 private:
  static constexpr unsigned kBucketBits = 64;

  uint64_t top_ = 0;  // the highest sequence number accepted; 0 before the first
  uint32_t size_;
  uint32_t bucket_mask_;
  std::unique_ptr<uint64_t[]> buckets_;
};

}  // namespace rampart::dp
