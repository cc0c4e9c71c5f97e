// gcm-api-bench: which ipsec-mb interface should the packet path use for AES-GCM?
// Seals bursts of 32 buffers of each size through (a) the direct GCM API with the nonces built
// beforehand, (b) the same with each nonce built just before its call, (c) the job API
// (get_next_job / submit / flush), (d) the burst API (get_next_burst / submit_burst /
// flush_burst), and (e) crypto::gcm_seal_burst, with ESP's shapes: 12-byte nonce, 8-byte AAD,
// 16-byte ICV.
// Prints Mpps, Gbps and cycles per buffer for each; --json FILE writes the same rows.
#include <x86intrin.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "crypto/aes_gcm.hpp"
#include "crypto/mb_manager.hpp"

namespace {

using namespace rampart;
using crypto::AeadOp;

constexpr size_t kBurst = 32;
constexpr size_t kMaxLen = 1518;

struct Buffers {
  std::vector<std::array<uint8_t, kMaxLen + crypto::kGcmIcvLen>> data{kBurst};
  std::array<std::array<uint8_t, crypto::kGcmIvLen>, kBurst> iv{};
  std::array<std::array<uint8_t, crypto::kGcmNonceLen>, kBurst> nonce{};
  std::array<std::array<uint8_t, 8>, kBurst> aad{};
  std::array<AeadOp, kBurst> ops{};
};

void prepare(Buffers& b, const crypto::GcmKey& key, const std::array<uint32_t, kBurst>& lengths) {
  for (size_t i = 0; i < kBurst; ++i) {
    std::memset(b.data[i].data(), static_cast<int>(i), b.data[i].size());
    uint64_t iv = i;
    std::memcpy(b.iv[i].data(), &iv, 8);
    std::memcpy(b.nonce[i].data(), key.salt, 4);
    std::memcpy(b.nonce[i].data() + 4, b.iv[i].data(), 8);
    b.ops[i] = AeadOp{&key, b.data[i].data(), b.data[i].data(), lengths[i], b.iv[i].data(),
                      b.aad[i].data(), 8, b.data[i].data() + lengths[i]};
  }
}

void seal_direct(const crypto::MbManager& mgr, Buffers& b) {
  IMB_MGR* m = mgr.get();
  gcm_context_data ctx;
  for (size_t i = 0; i < kBurst; ++i) {
    const AeadOp& op = b.ops[i];
    IMB_AES128_GCM_ENC(m, &op.key->schedule, &ctx, op.dst, op.src, op.len, b.nonce[i].data(), op.aad, op.aad_len,
                       op.icv, crypto::kGcmIcvLen);
  }
}

// The same, but each nonce built (two stores) just before the call that reads it.
void seal_direct_fresh_nonce(const crypto::MbManager& mgr, Buffers& b) {
  IMB_MGR* m = mgr.get();
  gcm_context_data ctx;
  uint8_t nonce[crypto::kGcmNonceLen];
  for (size_t i = 0; i < kBurst; ++i) {
    const AeadOp& op = b.ops[i];
    std::memcpy(nonce, op.key->salt, crypto::kGcmSaltLen);
    std::memcpy(nonce + crypto::kGcmSaltLen, op.iv, crypto::kGcmIvLen);
    IMB_AES128_GCM_ENC(m, &op.key->schedule, &ctx, op.dst, op.src, op.len, nonce, op.aad, op.aad_len, op.icv,
                       crypto::kGcmIcvLen);
  }
}

void fill_job(IMB_JOB* job, const AeadOp& op, const uint8_t* nonce) {
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
  job->iv_len_in_bytes = crypto::kGcmNonceLen;
  job->u.GCM.aad = op.aad;
  job->u.GCM.aad_len_in_bytes = op.aad_len;
  job->auth_tag_output = op.icv;
  job->auth_tag_output_len_in_bytes = crypto::kGcmIcvLen;
}

void seal_jobs(const crypto::MbManager& mgr, Buffers& b) {
  IMB_MGR* m = mgr.get();
  for (size_t i = 0; i < kBurst; ++i) {
    fill_job(IMB_GET_NEXT_JOB(m), b.ops[i], b.nonce[i].data());
    (void)IMB_SUBMIT_JOB_NOCHECK(m);
  }
  while (IMB_FLUSH_JOB(m) != nullptr) {
  }
}

void seal_burst_api(const crypto::MbManager& mgr, Buffers& b) {
  IMB_MGR* m = mgr.get();
  IMB_JOB* jobs[kBurst];
  uint32_t got = IMB_GET_NEXT_BURST(m, kBurst, jobs);
  for (uint32_t i = 0; i < got; ++i) fill_job(jobs[i], b.ops[i], b.nonce[i].data());
  uint32_t done = IMB_SUBMIT_BURST_NOCHECK(m, got, jobs);
  if (done < got) (void)IMB_FLUSH_BURST(m, got - done, jobs);
}

// What the packet path calls: crypto::gcm_seal_burst (it builds the nonces itself).
void seal_ours(const crypto::MbManager& mgr, Buffers& b) { crypto::gcm_seal_burst(mgr, b.ops); }

struct Row {
  std::string api;
  std::string size;
  double mpps, gbps, cycles;
};

template <typename Seal>
Row measure(const char* api, const std::string& size, const crypto::MbManager& mgr, Buffers& b,
            const std::array<uint32_t, kBurst>& lengths, Seal seal) {
  uint64_t bytes_per_burst = 0;
  for (auto l : lengths) bytes_per_burst += l;
  for (int i = 0; i < 200; ++i) seal(mgr, b);  // warm caches and the frequency governor
  // Run for a fixed wall time rather than a fixed count, so small and large sizes cost alike.
  using clock = std::chrono::steady_clock;
  uint64_t bursts = 0;
  auto start = clock::now();
  uint64_t tsc0 = __rdtsc();
  auto deadline = start + std::chrono::milliseconds(400);
  while (clock::now() < deadline) {
    for (int i = 0; i < 64; ++i) seal(mgr, b);
    bursts += 64;
  }
  uint64_t tsc = __rdtsc() - tsc0;
  double secs = std::chrono::duration<double>(clock::now() - start).count();
  double packets = static_cast<double>(bursts * kBurst);
  return Row{api, size, packets / secs / 1e6, static_cast<double>(bursts * bytes_per_burst) * 8 / secs / 1e9,
             static_cast<double>(tsc) / packets};
}

// The three interfaces must produce the same bytes, or the comparison means nothing.
bool same_output(const crypto::MbManager& mgr, const crypto::GcmKey& key) {
  std::array<uint32_t, kBurst> lengths;
  lengths.fill(333);
  Buffers a, f, j, u, o;
  for (Buffers* b : {&a, &f, &j, &u, &o}) prepare(*b, key, lengths);
  seal_direct(mgr, a);
  seal_direct_fresh_nonce(mgr, f);
  seal_jobs(mgr, j);
  seal_burst_api(mgr, u);
  seal_ours(mgr, o);
  return a.data == f.data && a.data == j.data && a.data == u.data && a.data == o.data;
}

}  // namespace

int main(int argc, char** argv) {
  const char* json_path = nullptr;
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--json" && i + 1 < argc) json_path = argv[++i];

  auto mgr = crypto::MbManager::create();
  if (!mgr) {
    std::fprintf(stderr, "gcm-api-bench: %s\n", mgr.message().c_str());
    return 1;
  }
  static crypto::GcmKey key;
  const std::byte raw[16] = {std::byte{1}};
  const std::byte salt[4] = {std::byte{2}};
  if (!crypto::gcm_key_init(*mgr, raw, salt, key)) return 1;
  if (!same_output(*mgr, key)) {
    std::fprintf(stderr, "gcm-api-bench: the interfaces disagree on the output\n");
    return 1;
  }

  std::printf("ipsec-mb %s, %s code path, AES-128-GCM seal, bursts of %zu, one core\n",
              crypto::ipsec_mb_version(), mgr->arch_name(), kBurst);
  std::printf("%-18s %-6s %10s %10s %12s\n", "api", "size", "Mpps", "Gbps", "cycles/pkt");
  std::vector<Row> rows;
  struct Size {
    std::string name;
    std::array<uint32_t, kBurst> lengths;
  };
  std::vector<Size> sizes;
  for (uint32_t len : {64u, 512u, 1420u}) {
    Size s{std::to_string(len), {}};
    s.lengths.fill(len);
    sizes.push_back(s);
  }
  // IMIX 7:4:1 of 64/570/1518, spread through the burst as traffic would be.
  Size imix{"imix", {}};
  for (size_t i = 0; i < kBurst; ++i) imix.lengths[i] = (i % 12 < 7) ? 64 : (i % 12 < 11) ? 570 : 1518;
  sizes.push_back(imix);

  static Buffers buffers;
  for (const auto& size : sizes) {
    prepare(buffers, key, size.lengths);
    rows.push_back(measure("direct", size.name, *mgr, buffers, size.lengths, seal_direct));
    rows.push_back(measure("direct-fresh-nonce", size.name, *mgr, buffers, size.lengths, seal_direct_fresh_nonce));
    rows.push_back(measure("job", size.name, *mgr, buffers, size.lengths, seal_jobs));
    rows.push_back(measure("burst", size.name, *mgr, buffers, size.lengths, seal_burst_api));
    rows.push_back(measure("ours", size.name, *mgr, buffers, size.lengths, seal_ours));
    for (size_t i = rows.size() - 5; i < rows.size(); ++i)
      std::printf("%-18s %-6s %10.2f %10.2f %12.1f\n", rows[i].api.c_str(), rows[i].size.c_str(),
                  rows[i].mpps, rows[i].gbps, rows[i].cycles);
  }
  if (json_path) {
    FILE* f = std::fopen(json_path, "w");
    if (!f) return 1;
    std::fprintf(f, "{\"ipsec_mb\": \"%s\", \"arch\": \"%s\", \"burst\": %zu, \"rows\": [",
                 crypto::ipsec_mb_version(), mgr->arch_name(), kBurst);
    for (size_t i = 0; i < rows.size(); ++i)
      std::fprintf(f, "%s{\"api\": \"%s\", \"size\": \"%s\", \"mpps\": %.3f, \"gbps\": %.3f, \"cycles\": %.1f}",
                   i ? ", " : "", rows[i].api.c_str(), rows[i].size.c_str(), rows[i].mpps, rows[i].gbps,
                   rows[i].cycles);
    std::fprintf(f, "]}\n");
    std::fclose(f);
  }
  return 0;
}
