// IKEv2 Diffie-Hellman (RFC 7296 2.14 and 3.4) on OpenSSL 3: MODP groups 14 and 15 (RFC 3526),
// NIST curves 19, 20 and 21 (RFC 5903: the public value is x | y, the shared secret x), and
// Curve25519, group 31 (RFC 8031). Peer values are checked before use (length, range, on the
// curve, and no all-zero X25519 result), as RFC 7296 2.12 and RFC 8031 ask.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "common/result.hpp"

struct evp_pkey_st;

namespace rampart::ike {

using Bytes = std::vector<std::byte>;

enum class DhGroup : uint16_t { kModp2048 = 14, kModp3072 = 15, kEcp256 = 19, kEcp384 = 20, kEcp521 = 21, kCurve25519 = 31 };

bool dh_group_supported(uint16_t id) noexcept;
size_t public_value_length(DhGroup group) noexcept;  // the KE payload's key exchange data

class KeyExchange {
 public:
  // A fresh key pair of the group.
  static Result<KeyExchange> generate(DhGroup group);
  // Curve25519 from a given private key (RFC 7748 known-answer tests).
  static Result<KeyExchange> from_x25519_private(std::span<const std::byte> private_key);
  // A key pair this thread shares between the IKE SAs it answers for up to max_age_ms, as RFC
  // 7296 2.12 allows to save a key generation per setup (half a responder's work with X25519).
  // Forward secrecy then covers the window, not each IKE SA.
  static Result<std::shared_ptr<const KeyExchange>> reused(DhGroup group, uint64_t now_ms, uint64_t max_age_ms);

  DhGroup group() const noexcept { return group_; }
  const Bytes& public_value() const noexcept { return public_; }
  // g^ir from the peer's KE data, in the form RFC 7296 2.14 feeds to SKEYSEED.
  Result<Bytes> shared_secret(std::span<const std::byte> peer_public) const;

 private:
  struct Free {
    void operator()(evp_pkey_st* key) const noexcept;
  };
  KeyExchange(DhGroup group, evp_pkey_st* key, Bytes public_value);
  DhGroup group_;
  std::unique_ptr<evp_pkey_st, Free> key_;
  Bytes public_;
};

}  // namespace rampart::ike
