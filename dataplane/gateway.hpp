// A running gateway, built from a GatewaySpec: it owns the ports, pools and rings, and the rooms
// the control core runs: the SA store (SAs, slots, policies, routes, lifetimes), the neighbour
// service (ARP, ND, held packets), local delivery (datagrams of the control core's services)
// and the snapshots the console reads. Threads: the main lcore is the control core, which runs
// every room; each worker lcore runs Worker::run on a WorkerContext the gateway gives it, polling
// its own rx queue on every port. Everything here that is not const is the control core's alone.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/cache.hpp"
#include "common/counters.hpp"
#include "common/result.hpp"
#include "dataplane/gateway_spec.hpp"
#include "dataplane/handoff.hpp"
#include "dataplane/ip_reassembly.hpp"
#include "dataplane/local_delivery.hpp"
#include "dataplane/neighbour_service.hpp"
#include "dataplane/packet_trace.hpp"
#include "dataplane/path_counter.hpp"
#include "dataplane/port.hpp"
#include "dataplane/sa_store.hpp"
#include "dataplane/snapshots.hpp"
#include "dataplane/update_channel.hpp"
#include "dataplane/worker_context.hpp"

struct rte_mempool;
struct rte_ring;

namespace rampart::dp {

class Gateway {
 public:
  // Ports are probed from the devices EAL was started with, in the spec's order.
  static Result<std::unique_ptr<Gateway>> create(const GatewaySpec& spec);
  ~Gateway();

  // Launches the workers on their lcores and runs the control core on this thread until
  // stop() is called (from a signal handler, say). Returns after every worker has stopped.
  Result<void> run(const std::function<void()>& on_control_pass = {});
  void stop() noexcept { stop_.store(true, std::memory_order_relaxed); }
  // One pass of the control core (every room's work). run() loops on it; tests step it by hand
  // between Worker::poll_once calls.
  void control_poll();
  // What worker `index` works with, its update ring attached (on the control core, before the
  // worker runs; Worker's destructor detaches it). run() does this for every worker; tests
  // that step a worker by hand do it themselves.
  WorkerContext attach_worker(unsigned index);

  // Every counter, path counters first, summed over workers and the control core.
  std::vector<CounterValue> counters() const;
  std::vector<SaSnapshot> sa_snapshot() const { return dp::sa_snapshot(*sas_); }
  std::vector<PortSnapshot> port_snapshot() const { return dp::port_snapshot(ports_); }
  std::vector<WorkerSnapshot> worker_snapshot() const { return dp::worker_snapshot(spec_.worker_lcores, *paths_, sas_->owned()); }
  std::vector<NeighbourSnapshot> neighbour_snapshot() const { return dp::neighbour_snapshot(neighbours_->table()); }
  const std::vector<RouteSpec>& routes() const noexcept { return sas_->routes(); }  // connected, then configured
  // Every owner's policies as built into the SPDs (the file's first), and one owner's.
  const std::vector<PolicySpec>& policies() const noexcept { return sas_->policies(); }
  const std::vector<PolicySpec>& policies(const std::string& owner) const { return sas_->policies(owner); }
  const GatewaySpec& spec() const noexcept { return spec_; }  // as created: ports, lcores, pool

  // Live changes, on the control core while workers run (SaStore says what each does). Each
  // either takes effect whole or leaves everything as it was and says why.
  Result<void> install_sa(const SaParams& params) { return sas_->install_sa(params); }
  Result<void> remove_sa(const std::string& name) { return sas_->remove_sa(name); }
  Result<void> set_policies(const std::string& owner, const std::vector<PolicySpec>& policies) {
    return sas_->set_policies(owner, policies);
  }
  Result<void> set_routes(const std::vector<RouteSpec>& routes);
  std::vector<SaEvent> take_sa_events() { return sas_->take_sa_events(); }
  std::vector<std::string> take_missing_sas() { return sas_->take_missing_sas(); }

  // Local delivery: UDP ports the control core's services listen on, the datagrams that came
  // for one service's ports since it last asked (at most 256 wait, all services together; more
  // are dropped and counted), and a datagram to send.
  Result<void> listen_udp(uint16_t port) { return local_->listen_udp(port); }
  std::vector<LocalDatagram> take_datagrams(std::span<const uint16_t> ports) { return local_->take(ports); }
  void send_datagram(const LocalDatagram& datagram) { local_->send(datagram); }

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
  Gateway() = default;
  ControlOutput control_output() noexcept;
  void release();

  // Each on a line of its own: the stop flag the control core writes and every worker reads on
  // every pass, and the trace budget workers take from (only while tracing) and the console arms.
  alignas(kCacheLine) std::atomic<bool> stop_{false};
  alignas(kCacheLine) std::atomic<int32_t> trace_budget_{0};  // packets still to capture; workers take one each
  alignas(kCacheLine) GatewaySpec spec_;
  std::string tag_;  // "_N" for the process's Nth gateway: its DPDK objects' names
  rte_mempool* pool_ = nullptr;
  rte_mempool* large_pool_ = nullptr;  // reassembled packets longer than a pool_ mbuf
  std::vector<Port> ports_;
  bool ports_started_ = false;
  std::unique_ptr<CounterTable> drops_;  // one lane per worker, then the control core's
  std::unique_ptr<CounterTable> paths_;  // the same lanes
  rte_ring* to_control_ = nullptr;   // mbufs from workers: ARP, ND, datagrams for local services
  rte_ring* unresolved_ = nullptr;   // mbufs from workers waiting for a neighbour
  rte_ring* control_tx_ = nullptr;   // mbufs the control core wants sent; worker 0 sends them
  std::vector<rte_ring*> events_;    // per worker: SaEvents (lifetimes, sequence overflow, acquires)
  std::vector<rte_ring*> traces_;    // per worker: TraceRecords
  std::vector<Reassembler> reassemblers_;  // per worker: fragments addressed to us
  std::unique_ptr<HandoffRings> handoffs_;  // between workers: packets to their SA's owner
  std::unique_ptr<UpdateChannel> updates_;
  std::unique_ptr<SaStore> sas_;
  std::unique_ptr<NeighbourService> neighbours_;
  std::unique_ptr<LocalDelivery> local_;
  std::vector<TraceRecord> trace_log_;
};

}  // namespace rampart::dp
