// Result<T>: the control plane's error channel, a value or an error code with a message.
// The data plane never uses it: a packet that fails gets a DropReason and a counter instead.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace rampart {

enum class Errc {
  kInvalidArgument,  // a caller passed something malformed
  kParse,            // input text or bytes did not parse
  kNotFound,
  kExists,
  kNoMemory,
  kIo,
  kCrypto,           // a cryptographic operation failed (e.g. ICV mismatch)
  kUnsupported,
  kInternal,
  kBusy,             // try again: a worker or a queue cannot take it now
};

const char* errc_name(Errc code) noexcept;

struct Error {
  Errc code;
  std::string message;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design, like std::expected
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

  const Error& error() const& { return std::get<1>(v_); }
  Errc code() const { return error().code; }
  const std::string& message() const { return error().message; }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  const Error& error() const { return error_; }
  Errc code() const { return error_.code; }
  const std::string& message() const { return error_.message; }

 private:
  Error error_{Errc::kInternal, {}};
  bool ok_ = true;
};

inline Error make_error(Errc code, std::string message) { return Error{code, std::move(message)}; }

}  // namespace rampart
