#include "common/wire.hpp"

#include <cstring>

namespace rampart {

namespace {

template <typename T>
T load_be(const std::byte* p) noexcept {
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v = static_cast<T>((v << 8) | static_cast<uint8_t>(p[i]));
  return v;
}

template <typename T>
void store_be(std::byte* p, T v) noexcept {
  for (size_t i = 0; i < sizeof(T); ++i)
    p[sizeof(T) - 1 - i] = static_cast<std::byte>(static_cast<uint8_t>(v >> (8 * i)));
}

}  // namespace

const std::byte* WireReader::take(size_t n) noexcept {
  if (failed_ || n > data_.size() - pos_) [[unlikely]] {
    failed_ = true;
    return nullptr;
  }
  const std::byte* p = data_.data() + pos_;
  pos_ += n;
  return p;
}

std::optional<uint8_t> WireReader::u8() noexcept {
  const std::byte* p = take(1);
  if (!p) return std::nullopt;
  return static_cast<uint8_t>(*p);
}

std::optional<uint16_t> WireReader::be16() noexcept {
  const std::byte* p = take(2);
  if (!p) return std::nullopt;
  return load_be<uint16_t>(p);
}

std::optional<uint32_t> WireReader::be32() noexcept {
  const std::byte* p = take(4);
  if (!p) return std::nullopt;
  return load_be<uint32_t>(p);
}

std::optional<uint64_t> WireReader::be64() noexcept {
  const std::byte* p = take(8);
  if (!p) return std::nullopt;
  return load_be<uint64_t>(p);
}

std::optional<std::span<const std::byte>> WireReader::bytes(size_t n) noexcept {
  const std::byte* p = take(n);
  if (!p) return std::nullopt;
  return std::span<const std::byte>(p, n);
}

std::optional<WireReader> WireReader::sub(size_t n) noexcept {
  auto view = bytes(n);
  if (!view) return std::nullopt;
  return WireReader(*view);
}

bool WireReader::skip(size_t n) noexcept { return take(n) != nullptr; }

std::byte* WireWriter::take(size_t n) noexcept {
  if (failed_ || n > out_.size() - pos_) [[unlikely]] {
    failed_ = true;
    return nullptr;
  }
  std::byte* p = out_.data() + pos_;
  pos_ += n;
  return p;
}

bool WireWriter::u8(uint8_t v) noexcept {
  std::byte* p = take(1);
  if (!p) return false;
  *p = static_cast<std::byte>(v);
  return true;
}

bool WireWriter::be16(uint16_t v) noexcept {
  std::byte* p = take(2);
  if (!p) return false;
  store_be(p, v);
  return true;
}

bool WireWriter::be32(uint32_t v) noexcept {
  std::byte* p = take(4);
  if (!p) return false;
  store_be(p, v);
  return true;
}

bool WireWriter::be64(uint64_t v) noexcept {
  std::byte* p = take(8);
  if (!p) return false;
  store_be(p, v);
  return true;
}

bool WireWriter::bytes(std::span<const std::byte> v) noexcept {
  std::byte* p = take(v.size());
  if (!p) return false;
  if (!v.empty()) std::memcpy(p, v.data(), v.size());
  return true;
}

std::optional<std::span<std::byte>> WireWriter::reserve(size_t n) noexcept {
  std::byte* p = take(n);
  if (!p) return std::nullopt;
  return std::span<std::byte>(p, n);
}

}  // namespace rampart
