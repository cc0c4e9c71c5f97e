// Rampart's ESP stages alone (esp_outbound_burst, esp_inbound_burst) on the packets the pipeline
// carries, in bursts, with the SAs the pipeline uses: the like-for-like peer of the rte_ipsec
// rows (ESP work only, no rx, tx, SPD or routing). Packets are made ready untimed.
#pragma once

#include <memory>
#include <vector>

#include "bench/harness/self_mode.hpp"
#include "common/counters.hpp"

namespace rampart::bench {

class EspStageRig {
 public:
  EspStageRig(const RunConfig& config, rte_mempool* pool);
  Measurement run(Direction direction, const SizeSpec& size, const Slice& slice);

 private:
  RunConfig config_;
  Flows flows_;
  rte_mempool* pool_;
  crypto::MbManager mb_;
  CounterTable drops_;
  std::vector<std::unique_ptr<dp::SaRuntime>> out_, in_, peer_;
};

}  // namespace rampart::bench
