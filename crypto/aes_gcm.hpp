// AES-GCM (128, 192 and 256) over bursts of buffers, laid out as ESP uses it (RFC 4106):
// nonce = 4-byte salt from the key material || 8-byte explicit IV from the packet,
// AAD = SPI || sequence (8 bytes) or SPI || ESN high || sequence (12 bytes), ICV 16 bytes.
// The crypto module knows no rte_mbuf: the data plane fills AeadOps with pointers into mbufs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/result.hpp"
#include "crypto/ipsec_mb.hpp"
#include "crypto/mb_manager.hpp"

namespace rampart::crypto {

inline constexpr size_t kGcmSaltLen = 4;
inline constexpr size_t kGcmIvLen = 8;    // the explicit IV carried in each ESP packet
inline constexpr size_t kGcmNonceLen = kGcmSaltLen + kGcmIvLen;
inline constexpr size_t kGcmIcvLen = 16;

// The expanded key schedule and hash-key powers of one SA direction. Built once on the control
// core; read-only afterwards, so any number of workers may use it at once.
struct alignas(64) GcmKey {
  gcm_key_data schedule;
  uint8_t salt[kGcmSaltLen];
  uint8_t key_len;  // 16, 24 or 32
};

// key is 16, 24 or 32 bytes of AES key; salt the 4 bytes that follow it in ESP keying material.
Result<void> gcm_key_init(const MbManager& mgr, std::span<const std::byte> key,
                          std::span<const std::byte> salt, GcmKey& out);

struct AeadOp {
  const GcmKey* key;
  const uint8_t* src;
  uint8_t* dst;          // may equal src: ESP encrypts and decrypts in place
  uint32_t len;          // bytes to encrypt or decrypt
  const uint8_t* iv;     // kGcmIvLen bytes
  const uint8_t* aad;
  uint32_t aad_len;      // 8 or 12 for ESP; any length is accepted
  uint8_t* icv;          // seal: written (kGcmIcvLen); open: the received ICV, compared
};

// Encrypts every op and writes its ICV.
void gcm_seal_burst(const MbManager& mgr, std::span<const AeadOp> ops) noexcept;

// Decrypts every op and checks its ICV in constant time; ok[i] says whether op i verified.
// A failed op's dst holds unauthenticated plaintext the caller must drop. Returns the number
// that verified.
size_t gcm_open_burst(const MbManager& mgr, std::span<const AeadOp> ops, bool* ok) noexcept;

}  // namespace rampart::crypto
