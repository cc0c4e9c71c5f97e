#include "crypto/aes_gcm.hpp"

#include <algorithm>
#include <cstring>

namespace rampart::crypto {

// Which ipsec-mb interface, measured on an AVX-512/VAES core (bench/gcm_api_bench, and
// rampart-bench's rows before and after; docs/architecture.md has the numbers):
// - sealing goes through the burst API (IMB_GET_NEXT_BURST / IMB_SUBMIT_BURST, one job per
//   buffer): 78-85 cycles for a 64-byte buffer where the direct GCM API takes 111-123, 10% less
//   at 512 bytes, level at 1420;
// - opening stays on the direct API: through jobs it was level at 64 bytes and 10% slower at 1420.
// (On an AVX2 core the direct API was ahead for sealing too, by 5-20%.)

namespace {

constexpr uint32_t kChunk = 32;  // jobs handed to ipsec-mb at once

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

// One AES-GCM encryption job: the whole buffer is encrypted and authenticated, the tag written to
// the op's icv. The nonce must live until the job completes.
inline void fill_seal_job(IMB_JOB* job, const AeadOp& op, const uint8_t* nonce) noexcept {
  job->cipher_mode = IMB_CIPHER_GCM;
  job->hash_alg = IMB_AUTH_AES_GMAC;
  job->chain_order = IMB_ORDER_CIPHER_HASH;
  job->cipher_direction = IMB_DIR_ENCRYPT;
  job->enc_keys = &op.key->schedule;
  job->dec_keys = &op.key->schedule;
  job->key_len_in_bytes = op.key->key_len;
  job->src = op.src;
  job->dst = op.dst;
  job->cipher_start_src_offset_in_bytes = 0;
  job->msg_len_to_cipher_in_bytes = op.len;
  job->hash_start_src_offset_in_bytes = 0;
  job->msg_len_to_hash_in_bytes = op.len;
  job->iv = nonce;
  job->iv_len_in_bytes = kGcmNonceLen;
  job->u.GCM.aad = op.aad;
  job->u.GCM.aad_len_in_bytes = op.aad_len;
  job->auth_tag_output = op.icv;
  job->auth_tag_output_len_in_bytes = kGcmIcvLen;
}

// Seals up to kChunk ops as bursts. GCM completes every job at submission on the code paths
// ipsec-mb has for it; the flushes are there for any that did not, so that all are done on return.
void seal_chunk(IMB_MGR* m, const AeadOp* ops, uint32_t n) noexcept {
  uint8_t nonce[kChunk][kGcmNonceLen];
  IMB_JOB* jobs[kChunk];
  for (uint32_t at = 0; at < n;) {
    uint32_t got = IMB_GET_NEXT_BURST(m, n - at, jobs);
    if (got == 0) {  // the manager still holds earlier jobs: finish them first
      (void)IMB_FLUSH_BURST(m, kChunk, jobs);
      continue;
    }
    for (uint32_t i = 0; i < got; ++i) {
      make_nonce(ops[at + i], nonce[at + i]);
      fill_seal_job(jobs[i], ops[at + i], nonce[at + i]);
    }
    uint32_t done = IMB_SUBMIT_BURST_NOCHECK(m, got, jobs);
    if (done < got) (void)IMB_FLUSH_BURST(m, got - done, jobs);
    at += got;
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
  for (size_t at = 0; at < ops.size(); at += kChunk)
    seal_chunk(mgr.get(), ops.data() + at, static_cast<uint32_t>(std::min<size_t>(kChunk, ops.size() - at)));
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
