// rampart-bench's self mode: Rampart's real worker pipeline (rx burst, parse, SPD or SAD, ESP,
// inbound policy check, route, tx burst) in this process, one worker stepped on this thread,
// between a generator and a sink on ring ports. Only Worker::poll_once is timed; the generator
// (fresh frames, freshly sealed ESP for inbound so the replay window sees new numbers) and the
// sink (drain and free) run between passes, untimed. The public port's MTU is 9000, so nothing
// up to 1518 bytes is fragmented.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "bench/harness/traffic.hpp"
#include "crypto/mb_manager.hpp"
#include "dataplane/gateway.hpp"
#include "dataplane/port.hpp"
#include "dataplane/sa.hpp"
#include "dataplane/worker.hpp"

struct rte_mempool;

namespace rampart::bench {

struct RunConfig {
  unsigned sas = 1;
  unsigned burst = 32;
  uint8_t key_length = 16;  // AES-GCM-128 or -256
  dp::SaMode mode = dp::SaMode::kTunnel;
  dp::IpFamily family = dp::IpFamily::kIpv4;
  double seconds = 0.5;     // timed seconds per row
  bool clear = false;       // BYPASS policies and no SAs: the pipeline carries the packets in the clear
  bool spread = false;      // --workers: outbound SAs sealed by every worker (SaParams::spread)
};

struct Measurement {
  uint64_t packets = 0;   // out of the system under test
  uint64_t ip_bytes = 0;  // IP bytes of what went in (inner packets)
  uint64_t cycles = 0;    // timed TSC cycles
  uint64_t sent = 0;      // into the system under test
  uint64_t dropped = 0;   // counted drops

  Measurement& operator+=(const Measurement& o) noexcept {
    packets += o.packets;
    ip_bytes += o.ip_bytes;
    cycles += o.cycles;
    sent += o.sent;
    dropped += o.dropped;
    return *this;
  }
};

// One short stretch of a row. The systems of a row take turns in slices, so that whatever else
// the machine does (a VM's neighbours) falls on all of them alike and their ratios hold still;
// first_flow carries the flow sequence on from the last slice, so every SA still gets its turn.
struct Slice {
  double seconds = 0;
  uint64_t first_flow = 0;
};

// Addresses and SA parameters shared by every system measured, so all do the same work.
struct Flows {
  explicit Flows(const RunConfig& config);
  const RunConfig& config;
  // Flow i belongs to SA i % sas: its inner destination and destination port.
  void inner_packet(uint8_t* p, uint16_t length, unsigned flow, bool towards_site_b) const;
  dp::SaParams sa(unsigned index, dp::SaDirection direction, bool at_peer) const;
  dp::PolicySpec policy(unsigned index, dp::SaDirection direction) const;
};

class PipelineRig {
 public:
  PipelineRig(const RunConfig& config, rte_mempool* generator_pool);
  ~PipelineRig();
  PipelineRig(const PipelineRig&) = delete;
  PipelineRig& operator=(const PipelineRig&) = delete;

  Measurement run(Direction direction, const SizeSpec& size, const Slice& slice);

 private:
  uint64_t drain(uint16_t port);
  uint64_t dropped() const;

  RunConfig config_;
  Flows flows_;
  rte_mempool* pool_;
  dp::PortPair in_{}, out_{};
  rte_ether_addr inside_mac_{}, outside_mac_{};
  std::unique_ptr<dp::Gateway> gw_;
  std::unique_ptr<dp::Worker> worker_;
  std::unique_ptr<crypto::MbManager> mb_;
  std::vector<std::unique_ptr<dp::SaRuntime>> peer_;  // the far gateway's outbound SAs
};

}  // namespace rampart::bench
