// The crypto ceiling: ipsec-mb's AES-GCM alone, in bursts, on mbufs holding the same sizes the
// pipeline carries, encrypting (or decrypting and checking) as many bytes as ESP would (the
// packet, padded, plus its 2-byte trailer), with one key per SA, nothing around it.
#pragma once

#include <memory>
#include <vector>

#include "bench/harness/self_mode.hpp"
#include "crypto/aes_gcm.hpp"

namespace rampart::bench {

class CryptoCeiling {
 public:
  CryptoCeiling(const RunConfig& config, rte_mempool* pool);
  ~CryptoCeiling();
  // seal: outbound's ceiling; open: inbound's.
  Measurement run(bool seal, const SizeSpec& size, const Slice& slice);

 private:
  static constexpr unsigned kChunk = 1024;
  RunConfig config_;
  crypto::MbManager mb_;
  std::vector<crypto::GcmKey> keys_;
  rte_mbuf* mbufs_[kChunk];
};

}  // namespace rampart::bench
