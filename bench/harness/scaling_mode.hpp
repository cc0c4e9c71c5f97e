// rampart-bench self --workers: the gateway with W workers, each on its own thread, polling its
// own queue of each ring port. Flows are spread over the queues by a hash of the flow, as RSS
// would, independently of which worker owns their SA, so about (W - 1) / W of the packets are
// handed to their SA's owner. Measured in rounds: this thread fills every queue (untimed: fresh
// frames, and for inbound ESP sealed by the far gateway's SAs), then wakes the workers, which
// sleep between rounds; the round's time runs from the first worker awake to the last packet
// out (so a late waker's delay counts against the rig). The
// workers' busy cycles and hand-offs come from the gateway's own counters.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "bench/harness/self_mode.hpp"

namespace rampart::bench {

struct ScalingMeasurement {
  uint64_t packets = 0, sent = 0, dropped = 0, ip_bytes = 0;
  uint64_t wall_cycles = 0;  // TSC, release to last packet out, summed over rounds
  uint64_t busy_cycles = 0;  // all workers' passes that moved packets
  uint64_t handed = 0;       // packets handed between workers
};

class ScalingRig {
 public:
  // queue_of_flow: nullptr spreads flows by hash; otherwise every packet goes to that queue.
  ScalingRig(const RunConfig& config, unsigned workers, rte_mempool* pool, int only_queue = -1);
  ~ScalingRig();
  ScalingRig(const ScalingRig&) = delete;
  ScalingRig& operator=(const ScalingRig&) = delete;

  ScalingMeasurement run(Direction direction, const SizeSpec& size, double seconds);

 private:
  struct alignas(64) WorkerSlot {
    std::atomic<uint64_t> out{0};       // packets its sink took (only it writes)
    std::atomic<uint64_t> last_tsc{0};  // when it last took one
    std::atomic<uint64_t> woke_tsc{0};  // when it woke for the round
    std::atomic<uint64_t> done_round{0};
  };
  void worker_loop(unsigned w);
  uint16_t queue_of(uint64_t flow) const noexcept;
  uint64_t counter(std::string_view name) const;

  RunConfig config_;
  Flows flows_;
  unsigned workers_;
  int only_queue_;
  rte_mempool* pool_;
  dp::PortPair in_{}, out_{};
  rte_ether_addr inside_mac_{}, outside_mac_{};
  std::unique_ptr<dp::Gateway> gw_;
  std::unique_ptr<crypto::MbManager> mb_;
  std::vector<std::unique_ptr<dp::SaRuntime>> peer_;
  std::vector<std::unique_ptr<dp::Worker>> worker_list_;
  std::unique_ptr<WorkerSlot[]> slots_;
  std::vector<std::thread> threads_;
  alignas(64) std::atomic<uint64_t> round_{0};   // this thread: the round workers may run
  std::atomic<uint64_t> target_{0};              // packets out that end the round
  std::atomic<bool> quit_{false};
  Direction direction_ = Direction::kOutbound;
};

}  // namespace rampart::bench
