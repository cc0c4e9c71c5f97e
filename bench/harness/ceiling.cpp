#include "bench/harness/ceiling.hpp"

#include <rte_cycles.h>
#include <rte_mbuf.h>

#include <cstdlib>

namespace rampart::bench {

CryptoCeiling::CryptoCeiling(const RunConfig& config, rte_mempool* pool)
    : config_(config), mb_(crypto::MbManager::create().value()), keys_(config.sas) {
  Flows flows(config_);
  for (unsigned i = 0; i < config.sas; ++i) {
    dp::SaParams p = flows.sa(i, dp::SaDirection::kOutbound, false);
    if (!crypto::gcm_key_init(mb_, std::span(p.key.data(), p.key_length), p.salt, keys_[i])) std::abort();
  }
  if (rte_pktmbuf_alloc_bulk(pool, mbufs_, kChunk) != 0) std::abort();
}

CryptoCeiling::~CryptoCeiling() { rte_pktmbuf_free_bulk(mbufs_, kChunk); }

Measurement CryptoCeiling::run(bool seal, const SizeSpec& size, const Slice& slice) {
  Measurement m;
  uint64_t budget = static_cast<uint64_t>(slice.seconds * static_cast<double>(rte_get_tsc_hz()));
  bool ok[dp::kMaxBurst];
  uint8_t iv[dp::kMaxBurst][12] = {};
  uint8_t aad[dp::kMaxBurst][8] = {};
  const unsigned burst = config_.burst;
  uint64_t flow = slice.first_flow;
  while (m.cycles < budget) {
    for (unsigned at = 0; at + burst <= kChunk && m.cycles < budget; at += burst) {
      crypto::AeadOp ops[dp::kMaxBurst];
      for (unsigned i = 0; i < burst; ++i, ++flow) {
        uint16_t inner = size.lengths[flow % size.lengths.size()];
        uint32_t length = (inner + 2 + 3) / 4 * 4;  // ESP's payload: packet, pad, trailer
        uint8_t* data = rte_pktmbuf_mtod(mbufs_[at + i], uint8_t*);
        ops[i] = crypto::AeadOp{&keys_[flow % config_.sas], data, data, length, iv[i], aad[i], 8, data + length};
        m.ip_bytes += inner;
      }
      uint64_t t0 = rte_rdtsc_precise();
      if (seal)
        crypto::gcm_seal_burst(mb_, std::span(ops, burst));
      else
        crypto::gcm_open_burst(mb_, std::span(ops, burst), ok);  // the ICVs do not verify: same work
      m.cycles += rte_rdtsc_precise() - t0;
      m.packets += burst;
      m.sent += burst;
    }
  }
  return m;
}

}  // namespace rampart::bench
