// Following packets through the worker pipeline for the console's "trace N": a worker that finds
// the gateway's trace budget above zero captures each packet's headers as it arrives (taking one
// from the budget per packet), notes the SA it meets, and when the packet's fate is sealed (sent,
// dropped and why, handed to the control core, held for a neighbour) sends one TraceRecord to the
// control core on its own ring. With the budget at zero the cost is one relaxed load per pass.
#pragma once

#include <rte_mbuf.h>

#include <atomic>
#include <cstdint>

#include "dataplane/drop_reason.hpp"

struct rte_ring;

namespace rampart::dp {

// kOther: the packet went on as new packets the trace does not follow (fragments).
enum class TraceVerdict : uint8_t { kSent, kDropped, kToControl, kHeld, kHandedOff, kOther };

struct alignas(8) TraceRecord {
  uint64_t tsc;            // when it arrived
  uint16_t worker;
  uint16_t rx_port;        // GatewaySpec::ports index
  uint16_t tx_port;        // kSent: the port it was queued on
  uint16_t length;         // frame bytes as received
  TraceVerdict verdict;
  DropReason reason;       // kDropped
  uint8_t family;          // 4, 6, or 0 (not IP: ARP and the like)
  uint8_t protocol;        // IP protocol or IPv6 next header
  uint32_t spi;            // the SA it met (outbound or inbound), 0 if none
  uint16_t source_port, destination_port;  // host order, 0 without ports
  uint8_t source[16], destination[16];     // network order; IPv4 in the first 4 bytes
};
static_assert(sizeof(TraceRecord) % 4 == 0, "ring elements are multiples of 4 bytes");

class PacketTracer {
 public:
  PacketTracer(uint16_t worker, rte_ring* ring, std::atomic<int32_t>& budget)
      : worker_(worker), ring_(ring), budget_(&budget) {}

  // At the start of a pass: is anyone asking?
  void start_pass() noexcept { active_ = budget_->load(std::memory_order_relaxed) > 0; }
  bool active() const noexcept { return active_; }

  void capture(rte_mbuf* m, uint16_t rx_port) noexcept;
  void note_spi(const rte_mbuf* m, uint32_t spi) noexcept;
  void finish(const rte_mbuf* m, TraceVerdict verdict, DropReason reason = DropReason::kCount,
              uint16_t tx_port = 0) noexcept;
  // At the end of a pass: whatever is still open went a way the trace does not follow.
  void end_pass() noexcept {
    while (open_count_ != 0) finish(open_mbuf_[0], TraceVerdict::kOther);
  }

 private:
  static constexpr unsigned kMaxOpen = 128;  // packets captured and not yet finished
  TraceRecord* find(const rte_mbuf* m) noexcept;

  uint16_t worker_;
  rte_ring* ring_;
  std::atomic<int32_t>* budget_;
  bool active_ = false;
  unsigned open_count_ = 0;
  const rte_mbuf* open_mbuf_[kMaxOpen] = {};
  TraceRecord open_[kMaxOpen] = {};
};

}  // namespace rampart::dp
