#include "crypto/aes_gcm.hpp"

#include <algorithm>
#include <cstring>

namespace rampart::crypto {

// Which ipsec-mb interface: the direct GCM API (IMB_AES128_GCM_ENC and kin), one call per buffer,
// with the burst's nonces built first. bench/gcm_api_bench measures it against the job and burst
// APIs: on this AVX-512/VAES core 55 cycles for a 64-byte buffer against 75-79, and ahead at
// every size. Building each nonce (salt || IV, two stores) just before its call cost about as
// much again (111-123 cycles at 64 bytes): the call reads the nonce back as one wider load, which
// cannot be forwarded from two stores still in flight, and waits for them to reach the cache.

namespace {

constexpr uint32_t kChunk = 32;  // ops whose nonces are built ahead at once

inline void make_nonce(const AeadOp& op, uint8_t nonce[kGcmNonceLen]) noexcept {
  std::memcpy(nonce, op.key->salt, kGcmSaltLen);
  std::memcpy(nonce + kGcmSaltLen, op.iv, kGcmIvLen);
}

// Constant time: the time taken must not tell an attacker how many ICV bytes matched.
inline bool icv_equal(const uint8_t* a, const uint8_t* b) noexcept {
  uint8_t diff = 0;
  for (size_t i = 0; i < kGcmIcvLen; ++i) diff = static_cast<uint8_t>(diff | (a[i] ^ b[i]));
  return diff == 0;
}

// Calls f(op, nonce, index) for every op, the nonces of up to kChunk ops made before the first
// of them is used (see above).
template <typename F>
inline void with_nonces(std::span<const AeadOp> ops, F&& f) noexcept {
  uint8_t nonces[kChunk][kGcmNonceLen];
  for (size_t at = 0; at < ops.size(); at += kChunk) {
    size_t n = std::min<size_t>(kChunk, ops.size() - at);
    for (size_t i = 0; i < n; ++i) make_nonce(ops[at + i], nonces[i]);
    for (size_t i = 0; i < n; ++i) f(ops[at + i], nonces[i], at + i);
  }
}

}  // namespace

Result<void> gcm_key_init(const MbManager& mgr, std::span<const std::byte> key,
                          std::span<const std::byte> salt, GcmKey& out) {
  if (salt.size() != kGcmSaltLen)
    return make_error(Errc::kInvalidArgument, "AES-GCM salt must be 4 bytes");
  std::memset(&out, 0, sizeof out);
  switch (key.size()) {
    case 16: IMB_AES128_GCM_PRE(mgr.get(), key.data(), &out.schedule); break;
    case 24: IMB_AES192_GCM_PRE(mgr.get(), key.data(), &out.schedule); break;
    case 32: IMB_AES256_GCM_PRE(mgr.get(), key.data(), &out.schedule); break;
    default:
      return make_error(Errc::kInvalidArgument,
                        "AES-GCM key must be 16, 24 or 32 bytes, got " + std::to_string(key.size()));
  }
  std::memcpy(out.salt, salt.data(), kGcmSaltLen);
  out.key_len = static_cast<uint8_t>(key.size());
  return {};
}

void gcm_seal_burst(const MbManager& mgr, std::span<const AeadOp> ops) noexcept {
  IMB_MGR* m = mgr.get();
  gcm_context_data ctx;
  with_nonces(ops, [&](const AeadOp& op, const uint8_t* nonce, size_t) {
    if (op.key->key_len == 16)
      IMB_AES128_GCM_ENC(m, &op.key->schedule, &ctx, op.dst, op.src, op.len, nonce, op.aad, op.aad_len, op.icv, kGcmIcvLen);
    else if (op.key->key_len == 24) [[unlikely]]
      IMB_AES192_GCM_ENC(m, &op.key->schedule, &ctx, op.dst, op.src, op.len, nonce, op.aad, op.aad_len, op.icv, kGcmIcvLen);
    else
      IMB_AES256_GCM_ENC(m, &op.key->schedule, &ctx, op.dst, op.src, op.len, nonce, op.aad, op.aad_len, op.icv, kGcmIcvLen);
  });
}

size_t gcm_open_burst(const MbManager& mgr, std::span<const AeadOp> ops, bool* ok) noexcept {
  IMB_MGR* m = mgr.get();
  gcm_context_data ctx;
  uint8_t computed[kGcmIcvLen];
  size_t verified = 0;
  with_nonces(ops, [&](const AeadOp& op, const uint8_t* nonce, size_t index) {
    if (op.key->key_len == 16)
      IMB_AES128_GCM_DEC(m, &op.key->schedule, &ctx, op.dst, op.src, op.len, nonce, op.aad, op.aad_len, computed, kGcmIcvLen);
    else if (op.key->key_len == 24) [[unlikely]]
      IMB_AES192_GCM_DEC(m, &op.key->schedule, &ctx, op.dst, op.src, op.len, nonce, op.aad, op.aad_len, computed, kGcmIcvLen);
    else
      IMB_AES256_GCM_DEC(m, &op.key->schedule, &ctx, op.dst, op.src, op.len, nonce, op.aad, op.aad_len, computed, kGcmIcvLen);
    ok[index] = icv_equal(computed, op.icv);
    verified += ok[index];
  });
  return verified;
}

}  // namespace rampart::crypto
