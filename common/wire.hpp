// Bounds-checked readers and writers over byte spans, for every parser of untrusted input
// (IKE messages, config blobs, test vectors). A read past the end fails and the reader stays
// failed: every later read fails too, so a parser can check once at the end of a group of reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace rampart {

class WireReader {
 public:
  explicit WireReader(std::span<const std::byte> data) noexcept : data_(data) {}

  [[nodiscard]] std::optional<uint8_t> u8() noexcept;
  [[nodiscard]] std::optional<uint16_t> be16() noexcept;
  [[nodiscard]] std::optional<uint32_t> be32() noexcept;
  [[nodiscard]] std::optional<uint64_t> be64() noexcept;
  // A view of the next n bytes; the view borrows the reader's buffer.
  [[nodiscard]] std::optional<std::span<const std::byte>> bytes(size_t n) noexcept;
  // A reader over the next n bytes, e.g. one payload whose length a header gave.
  [[nodiscard]] std::optional<WireReader> sub(size_t n) noexcept;
  [[nodiscard]] bool skip(size_t n) noexcept;

  size_t remaining() const noexcept { return failed_ ? 0 : data_.size() - pos_; }
  size_t position() const noexcept { return pos_; }
  bool failed() const noexcept { return failed_; }
  bool at_end() const noexcept { return !failed_ && pos_ == data_.size(); }

 private:
  // Returns the next n bytes and advances, or fails the reader for good.
  const std::byte* take(size_t n) noexcept;

  std::span<const std::byte> data_;
  size_t pos_ = 0;
  bool failed_ = false;
};

class WireWriter {
 public:
  explicit WireWriter(std::span<std::byte> out) noexcept : out_(out) {}

  [[nodiscard]] bool u8(uint8_t v) noexcept;
  [[nodiscard]] bool be16(uint16_t v) noexcept;
  [[nodiscard]] bool be32(uint32_t v) noexcept;
  [[nodiscard]] bool be64(uint64_t v) noexcept;
  [[nodiscard]] bool bytes(std::span<const std::byte> v) noexcept;
  // Reserves n bytes to be filled later (a length field written after its payload).
  [[nodiscard]] std::optional<std::span<std::byte>> reserve(size_t n) noexcept;

  size_t written() const noexcept { return pos_; }
  size_t remaining() const noexcept { return failed_ ? 0 : out_.size() - pos_; }
  bool failed() const noexcept { return failed_; }
  std::span<const std::byte> view() const noexcept { return out_.first(pos_); }

 private:
  std::byte* take(size_t n) noexcept;

  std::span<std::byte> out_;
  size_t pos_ = 0;
  bool failed_ = false;
};

// Convenience for tests and tools: view a trivially copyable object or string as bytes.
inline std::span<const std::byte> as_bytes_of(const void* p, size_t n) noexcept {
  return {static_cast<const std::byte*>(p), n};
}

}  // namespace rampart
