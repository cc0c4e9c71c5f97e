// The Encrypted payload (RFC 7296 3.14) on OpenSSL 3: AES-GCM with a 16-byte ICV (RFC 5282:
// 8-byte IV, 4-byte salt from the keying material, the IKE header and SK payload header as
// associated data) and AES-CBC with HMAC-SHA2 (RFC 4868: 16-byte IV, the whole message up to the
// ICV authenticated). seal_message builds a protected message; open_message checks and decrypts
// one, then parses what was inside.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <variant>
#include <vector>

#include "common/result.hpp"
#include "ike/message.hpp"

namespace rampart::ike {

using ByteView = std::span<const std::byte>;

// IANA transform IDs: encryption 12 (AES-CBC), 20 (AES-GCM-16); integrity 12/13/14
// (HMAC-SHA2-256-128/384-192/512-256), 0 with GCM.
struct SkSuite {
  uint16_t encryption = 20;
  uint16_t key_bits = 128;
  uint16_t integrity = 0;
  bool aead() const noexcept { return encryption == 20; }
};

Result<void> check_suite(const SkSuite& suite);
size_t encryption_key_length(const SkSuite& suite) noexcept;  // SK_e* bytes (an AEAD's salt included)
size_t integrity_key_length(const SkSuite& suite) noexcept;   // SK_a* bytes (0 for an AEAD)

// Random bytes for IVs; tests pass a fixed source.
using IvSource = std::function<void(std::span<std::byte>)>;
IvSource random_iv_source();

// header's next payload, length and flags are the caller's except what this fills in: the
// length, and the first payload (SK).
Result<Bytes> seal_message(const SkSuite& suite, ByteView encryption_key, ByteView integrity_key, Header header,
                           const std::vector<Payload>& inner, const IvSource& iv);

struct SkFailure {
  bool integrity;  // true: the ICV did not verify (drop silently, RFC 7296 2.21.1); false: malformed
  std::string what;
};
// datagram: the whole message as received, its last payload an SK payload.
std::variant<std::vector<Payload>, SkFailure> open_message(const SkSuite& suite, ByteView encryption_key,
                                                           ByteView integrity_key, ByteView datagram);

}  // namespace rampart::ike
