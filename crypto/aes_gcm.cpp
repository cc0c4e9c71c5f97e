#include "crypto/aes_gcm.hpp"

#include <cstring>

namespace rampart::crypto {

// Which ipsec-mb interface: bench/gcm_api_bench measured the direct GCM API against the job and
// burst APIs on this code's burst shape (one call per buffer, 12-byte IV, 8/12-byte AAD) and
// the direct API was the fastest at every size (numbers in the commit and docs/architecture.md):
// GCM in ipsec-mb is single-buffer code even behind the job manager, so the queue only adds work.

namespace {

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
  uint8_t nonce[kGcmNonceLen];
  for (const AeadOp& op : ops) {
    make_nonce(op, nonce);
    if (op.key->key_len == 16)
      IMB_AES128_GCM_ENC(m, &op.key->schedule, &ctx, op.dst, op.src, op.len, nonce, op.aad,
                         op.aad_len, op.icv, kGcmIcvLen);
    else if (op.key->key_len == 24) [[unlikely]]
      IMB_AES192_GCM_ENC(m, &op.key->schedule, &ctx, op.dst, op.src, op.len, nonce, op.aad,
                         op.aad_len, op.icv, kGcmIcvLen);
    else
      IMB_AES256_GCM_ENC(m, &op.key->schedule, &ctx, op.dst, op.src, op.len, nonce, op.aad,
                         op.aad_len, op.icv, kGcmIcvLen);
  }
}

size_t gcm_open_burst(const MbManager& mgr, std::span<const AeadOp> ops, bool* ok) noexcept {
  IMB_MGR* m = mgr.get();
  gcm_context_data ctx;
  uint8_t nonce[kGcmNonceLen];
  uint8_t computed[kGcmIcvLen];
  size_t verified = 0;
  for (size_t i = 0; i < ops.size(); ++i) {
    const AeadOp& op = ops[i];
    make_nonce(op, nonce);
    if (op.key->key_len == 16)
      IMB_AES128_GCM_DEC(m, &op.key->schedule, &ctx, op.dst, op.src, op.len, nonce, op.aad,
                         op.aad_len, computed, kGcmIcvLen);
    else if (op.key->key_len == 24) [[unlikely]]
      IMB_AES192_GCM_DEC(m, &op.key->schedule, &ctx, op.dst, op.src, op.len, nonce, op.aad,
                         op.aad_len, computed, kGcmIcvLen);
    else
      IMB_AES256_GCM_DEC(m, &op.key->schedule, &ctx, op.dst, op.src, op.len, nonce, op.aad,
                         op.aad_len, computed, kGcmIcvLen);
    ok[i] = icv_equal(computed, op.icv);
    verified += ok[i];
  }
  return verified;
}

}  // namespace rampart::crypto
