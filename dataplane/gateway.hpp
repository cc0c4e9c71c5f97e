// A running gateway: ports, pools, tables, SAs, and the worker loops, built from a GatewaySpec.
// Threads: the main lcore is the control core (ARP, neighbour resolution, IKE hand-off, live
// changes of SAs, policies and routes); each worker lcore runs Worker::run, polling its own rx
// queue on every port. Everything here that is not const is the control core's alone.
#pragma once

#include <rte_ether.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/counters.hpp"
#include "common/result.hpp"
#include "crypto/mb_manager.hpp"
#include "dataplane/gateway_spec.hpp"
#include "dataplane/ip_reassembly.hpp"
#include "dataplane/packet_trace.hpp"
#include "dataplane/routes.hpp"
#include "dataplane/sa.hpp"
#include "dataplane/sad.hpp"
#include "dataplane/spd.hpp"
#include "dataplane/tables.hpp"
#include "dataplane/update_channel.hpp"

struct rte_mempool;
struct rte_ring;

namespace rampart::dp {

// What the gateway counts besides drops, per worker lane.
enum class PathCounter : size_t {
  kRx, kTx, kEspOut, kEspIn, kBypass, kEchoReplies, kToControl, kReassembled, kBusyCycles, kIdleCycles, kBusyPolls,
  kGenerated, kMergedFragments, kCount
};
// Every packet is accounted for: rx_packets + generated_packets = tx_packets + merged_fragments
// + the drop reasons (consumed ones included) + what is held (fragments, unresolved next hops,
// the rings between cores), which shutdown counts as drop_shutdown.
inline constexpr std::array<CounterDef, static_cast<size_t>(PathCounter::kCount)> kPathCounterDefs{{
    {"rx_packets", "packets received on all ports"},
    {"tx_packets", "packets sent on all ports"},
    {"esp_out_packets", "packets protected with ESP"},
    {"esp_in_packets", "ESP packets decrypted and accepted"},
    {"bypass_packets", "packets forwarded in the clear by a bypass policy"},
    {"echo_replies", "ICMP echo requests to the gateway answered"},
    {"to_control_packets", "packets handed to the control core (ARP, ND, IKE)"},
    {"reassembled_packets", "packets addressed to the gateway put back together from fragments"},
    {"busy_cycles", "TSC cycles workers spent on passes that moved packets"},
    {"idle_cycles", "TSC cycles workers spent on passes that found nothing"},
    {"busy_polls", "worker passes that moved packets"},
    {"generated_packets", "packets the gateway made: IKE, ARP and ND requests, ICMP errors, fragments beyond the first"},
    {"merged_fragments", "fragments that became part of a reassembled packet, beyond its first"},
}};

struct Port {
  PortSpec spec;
  uint16_t id = 0;
  rte_ether_addr mac{};
};

// A packet a worker could not send because its next hop's MAC is unknown: the control core holds
// it (RFC 1122 2.3.2.2 asks for at least one per address) while it resolves, then sends it.
struct HeldPacket {
  rte_mbuf* mbuf;     // at its IP header; the control core routes it again to find the next hop
  uint64_t deadline;  // TSC
};

// What the console may see of an SA: counters the worker publishes atomically, the state the
// control core sets, and how it was installed. Read while workers run.
struct SaSnapshot {
  const SaParams* params;  // valid until the next change of SAs
  bool expired;
  bool lingering;          // replaced by a rekey; still opens packets in flight until it is removed
  uint64_t packets;
  uint64_t bytes;
  uint64_t drops;
};

// The owner of the policies the config file and the console's edits make (Gateway::set_policies).
inline const std::string kConfigPolicies = "config";

// IKE's ports (RFC 7296 2.23): 500, and 4500 once NAT traversal moves it there.
inline constexpr uint16_t kIkePort = 500;
inline constexpr uint16_t kIkeNatTPort = 4500;

// An IKE datagram as the control core hands it to IKE, or as IKE asks it sent: the
// message without its UDP header, nor the non-ESP marker on 4500, which send_ike adds (to all but
// a NAT keepalive, the one byte 0xFF).
struct IkeDatagram {
  IpFamily family = IpFamily::kIpv4;
  std::array<uint8_t, 16> source{}, destination{};  // network order; IPv4 in the first 4 bytes
  uint16_t source_port = 500, destination_port = 500;
  std::vector<std::byte> payload;
};

struct WorkerSnapshot {
  unsigned lcore;
  uint64_t busy_cycles, idle_cycles, busy_polls, rx_packets;
};

struct NeighbourSnapshot {
  IpFamily family;
  std::array<uint8_t, 16> address;  // network order; IPv4 in the first 4 bytes
  rte_ether_addr mac;
};

struct PortSnapshot {
  const PortSpec* spec;
  rte_ether_addr mac;
  uint64_t rx_packets, tx_packets, rx_missed;
};

class Gateway {
 public:
  // Ports are probed from the devices EAL was started with, in the spec's order.
  static Result<std::unique_ptr<Gateway>> create(const GatewaySpec& spec);
  ~Gateway();

  // Launches the workers on their lcores and runs the control core on this thread until
  // stop() is called (from a signal handler, say). Returns after every worker has stopped.
  Result<void> run(const std::function<void()>& on_control_pass = {});
  void stop() noexcept { stop_.store(true, std::memory_order_relaxed); }
  // One pass of the control core (ARP, held packets, IKE hand-off). run() loops on it; tests step
  // it by hand between Worker::poll_once calls.
  void control_poll();

  // Every counter, path counters first, summed over workers and the control core.
  std::vector<CounterValue> counters() const;
  std::vector<SaSnapshot> sa_snapshot() const;
  std::vector<PortSnapshot> port_snapshot() const;
  std::vector<WorkerSnapshot> worker_snapshot() const;
  std::vector<NeighbourSnapshot> neighbour_snapshot() const;  // control core only
  const std::vector<RouteSpec>& routes() const noexcept { return routes_spec_; }  // connected, then configured
  // Every owner's policies as built into the SPDs (the file's first), and one owner's.
  const std::vector<PolicySpec>& policies() const noexcept { return policies_; }
  const std::vector<PolicySpec>& policies(const std::string& owner) const;
  const GatewaySpec& spec() const noexcept { return spec_; }  // as created: ports, lcores, pool

  // Live changes, on the control core while workers run. Each either takes effect whole or
  // leaves everything as it was and says why.
  // Installs an SA. An SA of the same name is replaced, make-before-break: outbound traffic moves
  // to the new SA at once; a replaced inbound SA keeps opening packets in flight for
  // spec().rekey_linger_ms, then goes. Install the inbound half of a rekey first.
  Result<void> install_sa(const SaParams& params);
  Result<void> remove_sa(const std::string& name);
  // Replaces the policies of one owner (both directions), and only those: the file and the
  // console edit kConfigPolicies, IKE one owner per connection, so no edit of one touches
  // another's. The new SPDs, built from every owner's policies, are built aside and swapped in.
  Result<void> set_policies(const std::string& owner, const std::vector<PolicySpec>& policies);
  // Replaces the configured routes (connected prefixes stay).
  Result<void> set_routes(const std::vector<RouteSpec>& routes);
  // IKE datagrams the workers handed over since the last call (at most 256 wait; more are dropped
  // and counted), and a datagram to send: routed and resolved like any packet of the control core.
  std::vector<IkeDatagram> take_ike() { return std::exchange(ike_inbox_, {}); }
  // Soft lifetimes (bytes and packets from the workers, seconds from the control core), sequence
  // numbers near their end, and hard stops since the last call: what IKE rekeys on (at most
  // 1024 wait; more are logged only).
  std::vector<SaEvent> take_sa_events() { return std::exchange(sa_events_, {}); }
  // Names of SA slots whose protect policies met traffic with no SA installed (kAcquire), since
  // the last call; a name may repeat.
  std::vector<std::string> take_acquires() { return std::exchange(acquires_, {}); }
  void send_ike(const IkeDatagram& datagram);

  // Follows the next `packets` packets any worker receives (console "trace N"); what they met
  // collects in trace_log() as the control core polls. Arming again starts a new log.
  void arm_trace(int32_t packets);
  const std::vector<TraceRecord>& trace_log() const noexcept { return trace_log_; }

  // How many replaced objects wait for the workers' grace period (0 once they have moved on).
  size_t pending_reclaims() const noexcept { return updates_->pending(); }
  // Every worker has taken the changes made so far: packets it receives from now on see them.
  bool updates_delivered() const noexcept { return updates_->delivered(); }
  // Stops the ports and gives back every mbuf the gateway holds; returns how many are still out
  // (0 unless something leaked).
  unsigned shutdown();

 private:
  friend class Worker;
  Gateway() = default;

  // An SA slot is what a protect policy points at: a name that outlives the SAs it names, so a
  // rekey changes one slot's SA without touching the SPD. Workers keep their own copy of each
  // slot's outbound SA, updated over their rings.
  struct Slot {
    std::string name;
    SaRuntime* outbound = nullptr;
    unsigned users = 0;  // installed SAs and policies that name it
  };
  struct InstalledSa {
    std::unique_ptr<SaRuntime> runtime;
    uint64_t installed_tsc = 0;
    uint64_t linger_until = 0;  // TSC; non-zero: replaced inbound SA, removed then
    uint8_t time_state = 0;     // 0, 1 soft time reported, 2 hard time reached
  };
  uint32_t acquire_slot(const std::string& name);
  void release_slot(uint32_t slot);
  uint16_t egress_mtu_for(const SaParams& p, const RouteTable& routes) const;  // of the port to the peer
  uint16_t max_inner_for(const SaParams& p, const RouteTable& routes) const;
  void publish(std::shared_ptr<const Spd> out, std::shared_ptr<const Spd> in,
                       std::shared_ptr<const RouteTable> routes);
  void bind_slot(uint32_t slot, SaRuntime* sa);
  // Takes an SA out of service (the SAD for inbound, unless its entry already names another SA;
  // its slot for outbound) and frees it after the grace period.
  void retire_sa(InstalledSa sa, bool in_sad = true);
  void expire_lingering(uint64_t now);
  InstalledSa take_sa(size_t index);
  void consume(rte_mbuf* m, DropReason why) noexcept;
  void handle_arp(rte_mbuf* m);
  void handle_nd(rte_mbuf* m);
  void send_arp_request(uint16_t port, uint32_t target);
  void send_neighbour_solicitation(uint16_t port, const uint8_t* target);
  // Sends a held packet if its next hop is known now; else asks (rate-limited) and returns false.
  bool try_release(HeldPacket& h, uint64_t now);
  void release_held();
  void poll_lifetimes();
  void release();

  GatewaySpec spec_;
  std::atomic<bool> stop_{false};
  rte_mempool* pool_ = nullptr;
  rte_mempool* large_pool_ = nullptr;  // reassembled packets longer than a pool_ mbuf
  std::vector<Port> ports_;
  std::unique_ptr<crypto::MbManager> control_mb_;
  std::unique_ptr<UpdateChannel> updates_;
  std::unique_ptr<Sad> sad_;          // shared with the workers (lock-free readers)
  const Tables* tables_ = nullptr;    // the generation last published
  uint64_t generation_ = 0;           // names each SPD and route table uniquely
  std::string tag_;                   // "_N" for the process's Nth gateway: its DPDK objects' names
  std::map<std::string, std::vector<PolicySpec>> owned_policies_;  // by owner
  std::vector<PolicySpec> policies_;  // every owner's, as built into tables_
  std::vector<RouteSpec> connected_;  // from the ports' addresses
  std::vector<RouteSpec> routes_spec_;  // connected and configured, as built into tables_
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_slots_;
  std::unordered_map<std::string, uint32_t> slot_of_;
  std::vector<InstalledSa> sas_;      // current, then lingering, in no particular order
  std::unordered_map<std::string, size_t> sa_by_name_;  // current SAs: name -> sas_ index
  uint64_t next_linger_end_ = UINT64_MAX;  // TSC: the earliest a lingering SA is due
  std::unique_ptr<NeighbourTable> neighbours_;
  rte_ring* to_control_ = nullptr;    // mbufs from workers: ARP, IKE
  rte_ring* unresolved_ = nullptr;    // mbufs from workers waiting for a neighbour (next hop in hash.usr)
  rte_ring* control_tx_ = nullptr;    // mbufs the control core wants sent; worker 0 sends them
  std::unique_ptr<CounterTable> drops_;  // one lane per worker, then the control core's
  std::unique_ptr<CounterTable> paths_;  // the same lanes
  CounterTable::Lane& control_drops() noexcept { return drops_->lane(drops_->lane_count() - 1); }
  CounterTable::Lane& control_paths() noexcept { return paths_->lane(paths_->lane_count() - 1); }
  // The control core's packet out (an answer, a held packet, one it made) to worker 0's queue.
  void to_worker(rte_mbuf* m) noexcept;
  std::vector<rte_ring*> events_;        // per worker: SaEvents (lifetimes, sequence overflow)
  std::vector<rte_ring*> traces_;        // per worker: TraceRecords
  std::vector<Reassembler> reassemblers_;  // per worker: fragments addressed to us
  std::atomic<int32_t> trace_budget_{0};  // packets still to capture; workers take one each
  std::vector<TraceRecord> trace_log_;   // control core only
  std::vector<IkeDatagram> ike_inbox_;   // control core only
  std::vector<SaEvent> sa_events_;       // control core only
  std::vector<std::string> acquires_;    // control core only
  void receive_ike(rte_mbuf* m);
  uint64_t next_time_check_ = 0;         // TSC: time lifetimes are checked ten times a second
  std::vector<HeldPacket> held_;         // control core only
  std::unordered_map<std::string, uint64_t> last_asked_;  // control core only: ARP/ND rate limit by address
  bool ports_started_ = false;
};

}  // namespace rampart::dp
