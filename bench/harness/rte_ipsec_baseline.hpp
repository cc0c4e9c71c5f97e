// The peer baseline: DPDK's own rte_ipsec library (librte-ipsec) doing the same ESP work on the
// same packets, on its synchronous cpu-crypto path with the crypto_aesni_gcm driver (ipsec-mb
// underneath, as ours), one rte_ipsec SA and session per SA, packets handed over in runs of the
// same SA as they come (as our worker does). Only rte_ipsec_pkt_cpu_prepare and
// rte_ipsec_pkt_process are timed: no rx, tx, SPD or routing, which the pipeline rows include.
// Notes: rte_ipsec leaves the outer IPv4 checksum at 0; it takes the salt in memory order.
#pragma once

#include <memory>
#include <vector>

#include "bench/harness/self_mode.hpp"

struct rte_ipsec_sa;
struct rte_ipsec_session;

namespace rampart::bench {

class RteIpsecBaseline {
 public:
  RteIpsecBaseline(const RunConfig& config, rte_mempool* pool);
  ~RteIpsecBaseline();
  RteIpsecBaseline(const RteIpsecBaseline&) = delete;
  RteIpsecBaseline& operator=(const RteIpsecBaseline&) = delete;

  Measurement run(Direction direction, const SizeSpec& size, const Slice& slice);

 private:
  struct Side;  // the SAs and sessions of one direction
  std::unique_ptr<Side> make_side(Direction direction);

  RunConfig config_;
  Flows flows_;
  rte_mempool* pool_;
  std::unique_ptr<Side> outbound_, inbound_;
  std::unique_ptr<crypto::MbManager> mb_;
  std::vector<std::unique_ptr<dp::SaRuntime>> peer_;  // seals what the inbound side opens (untimed)
};

}  // namespace rampart::bench
