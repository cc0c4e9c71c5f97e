// IKEv2's pseudorandom functions and key derivation (RFC 7296 sections 2.13, 2.14, 2.17, 2.18),
// on OpenSSL 3's HMAC: prf, prf+, SKEYSEED and the split into the IKE SA's keys, and the keying
// material of CHILD_SAs and of a rekeyed IKE SA.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/result.hpp"

namespace rampart::ike {

using Bytes = std::vector<std::byte>;
using ByteView = std::span<const std::byte>;

// IANA "Transform Type 2" identifiers.
enum class Prf : uint16_t { kHmacSha256 = 5, kHmacSha384 = 6, kHmacSha512 = 7 };

size_t prf_length(Prf prf) noexcept;  // output bytes (and the preferred key length, 2.13)

Result<Bytes> prf(Prf prf, ByteView key, ByteView data);
// prf+ (2.13): T1 | T2 | ... cut to length; at most 255 blocks.
Result<Bytes> prf_plus(Prf prf, ByteView key, ByteView seed, size_t length);

// SKEYSEED = prf(Ni | Nr, g^ir) (2.14).
Result<Bytes> skeyseed(Prf prf, ByteView ni, ByteView nr, ByteView shared_secret);
// For a rekeyed IKE SA (2.18): prf(SK_d (old), g^ir (new) | Ni | Nr).
Result<Bytes> rekey_skeyseed(Prf prf, ByteView old_sk_d, ByteView shared_secret, ByteView ni, ByteView nr);

struct IkeKeys {
  Bytes sk_d, sk_ai, sk_ar, sk_ei, sk_er, sk_pi, sk_pr;
};
// {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr).
// integrity_length is 0 for AEAD ciphers; encryption_length includes an AEAD's salt.
Result<IkeKeys> derive_ike_keys(Prf prf, ByteView skeyseed, ByteView ni, ByteView nr, uint64_t spi_i,
                                uint64_t spi_r, size_t integrity_length, size_t encryption_length);

// KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr) (2.17): the CHILD_SA's keys, initiator-to-
// responder first.
Result<Bytes> child_keymat(Prf prf, ByteView sk_d, ByteView shared_secret, ByteView ni, ByteView nr, size_t length);

}  // namespace rampart::ike
