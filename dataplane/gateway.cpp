#include "dataplane/gateway.hpp"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <unistd.h>

#include "common/log.hpp"
#include "dataplane/tsan.hpp"
#include "dataplane/worker.hpp"

namespace rampart::dp {

namespace {

constexpr unsigned kControlRingSize = 1024;
constexpr uint32_t kReassemblyPackets = 1024;  // packets in reassembly at once, per worker
constexpr unsigned kLargeMbufs = 31;
constexpr uint16_t kLargeMbufRoom = UINT16_MAX;  // the most an mbuf holds: IP packets of up to 65,393 bytes
constexpr size_t kMaxTraceLog = 10000;

Result<void> configure_port(uint16_t id, rte_mempool* pool, uint16_t queues, uint16_t mtu) {
  rte_eth_dev_info info{};
  if (rte_eth_dev_info_get(id, &info) != 0) return make_error(Errc::kIo, "cannot read device info");
  rte_eth_conf conf{};
  if (queues > 1) {
    // Spread flows over the workers by their addresses (and ports, where the NIC can).
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP | RTE_ETH_RSS_TCP) & info.flow_type_rss_offloads;
  }
  if (queues > info.max_rx_queues || queues > info.max_tx_queues)
    return make_error(Errc::kUnsupported, "device has " + std::to_string(info.max_rx_queues) + " rx queues, " +
                                              std::to_string(queues) + " workers need one each");
  int rc = rte_eth_dev_configure(id, queues, queues, &conf);
  if (rc < 0) return make_error(Errc::kIo, std::string("configure: ") + rte_strerror(-rc));
  uint16_t current = 0;
  if (rte_eth_dev_set_mtu(id, mtu) != 0 && rte_eth_dev_get_mtu(id, &current) == 0 && current < mtu)
    LOG_WARN("gateway", "port %u: cannot set MTU %u; the device keeps %u", id, mtu, current);
  int socket = rte_eth_dev_socket_id(id);
  for (uint16_t q = 0; q < queues; ++q) {
    if ((rc = rte_eth_rx_queue_setup(id, q, kRxDescriptors, socket, nullptr, pool)) < 0)
      return make_error(Errc::kIo, std::string("rx queue: ") + rte_strerror(-rc));
    if ((rc = rte_eth_tx_queue_setup(id, q, kTxDescriptors, socket, nullptr)) < 0)
      return make_error(Errc::kIo, std::string("tx queue: ") + rte_strerror(-rc));
  }
  if ((rc = rte_eth_dev_start(id)) < 0) return make_error(Errc::kIo, std::string("start: ") + rte_strerror(-rc));
  rte_eth_promiscuous_enable(id);
  return {};
}

int worker_main(void* arg) {
  static_cast<Worker*>(arg)->run();
  return 0;
}

// The prefixes of the ports' own addresses, host bits cleared: routes that are always there.
std::vector<RouteSpec> connected_routes(const std::vector<PortSpec>& ports) {
  std::vector<RouteSpec> connected;
  for (uint16_t i = 0; i < ports.size(); ++i) {
    Ipv4Prefix prefix = ports[i].address;
    prefix.address &= prefix.length == 0 ? 0 : ~uint32_t{0} << (32 - prefix.length);
    connected.push_back(ipv4_route(prefix, 0, i));
    if (ports[i].has_address6) {
      RouteSpec r;
      r.family = IpFamily::kIpv6;
      r.destination6 = ports[i].address6;
      for (unsigned bit = r.destination6.length; bit < 128; ++bit)
        r.destination6.address[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
      r.port = i;
      connected.push_back(r);
    }
  }
  return connected;
}

}  // namespace

Result<std::unique_ptr<Gateway>> Gateway::create(const GatewaySpec& spec) {
  std::unique_ptr<Gateway> gw(new Gateway);
  gw->spec_ = spec;
  if (gw->spec_.clock == nullptr) gw->spec_.clock = [] () noexcept { return rte_get_tsc_cycles(); };
  static std::atomic<unsigned> gateways{0};  // DPDK names are process-wide; a bench runs several
  gw->tag_ = "_" + std::to_string(gateways.fetch_add(1));
  auto workers = static_cast<uint16_t>(spec.worker_lcores.size());
  if (workers == 0) return make_error(Errc::kInvalidArgument, "no worker lcores");
  if (workers > kMaxWorkers) return make_error(Errc::kInvalidArgument, "more than " + std::to_string(kMaxWorkers) + " workers");
  if (spec.ports.size() > kMaxPorts) return make_error(Errc::kInvalidArgument, "too many ports");
  if (spec.burst > kMaxBurst) return make_error(Errc::kInvalidArgument, "burst above " + std::to_string(kMaxBurst));
  auto pool = create_packet_pool("rampart_pool" + gw->tag_, spec.mbufs, static_cast<int>(rte_socket_id()));
  if (!pool) return pool.error();
  gw->pool_ = *pool;

  for (const PortSpec& p : spec.ports) {
    std::string name = p.device.substr(0, p.device.find(','));
    Port port{p, 0, {}};
    if (rte_eth_dev_get_port_by_name(name.c_str(), &port.id) != 0)
      return make_error(Errc::kNotFound, "interface " + p.name + ": device \"" + p.device +
                                             "\" did not come up as a DPDK port (EAL's messages above say why)");
    if (auto r = configure_port(port.id, gw->pool_, workers, p.mtu); !r)
      return make_error(r.code(), "interface " + p.name + " (" + name + "): " + r.message());
    rte_eth_macaddr_get(port.id, &port.mac);
    gw->ports_.push_back(port);
  }
  gw->ports_started_ = true;
  gw->drops_ = std::make_unique<CounterTable>(kDropReasonDefs, workers + 1);
  gw->paths_ = std::make_unique<CounterTable>(kPathCounterDefs, workers + 1);

  gw->to_control_ = rte_ring_create(("rampart_to_control" + gw->tag_).c_str(), kControlRingSize, SOCKET_ID_ANY, RING_F_SC_DEQ);
  gw->unresolved_ = rte_ring_create(("rampart_unresolved" + gw->tag_).c_str(), kControlRingSize, SOCKET_ID_ANY, RING_F_SC_DEQ);
  gw->control_tx_ = rte_ring_create(("rampart_control_tx" + gw->tag_).c_str(), kControlRingSize, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (!gw->to_control_ || !gw->unresolved_ || !gw->control_tx_) return make_error(Errc::kNoMemory, "cannot create rings");
  for (uint16_t w = 0; w < workers; ++w) {
    std::string name = "rampart_events" + gw->tag_ + "_" + std::to_string(w);
    rte_ring* ring = rte_ring_create_elem(name.c_str(), sizeof(SaEvent), kControlRingSize, SOCKET_ID_ANY,
                                          RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (ring == nullptr) return make_error(Errc::kNoMemory, "cannot create event ring " + name);
    gw->events_.push_back(ring);
    name = "rampart_trace" + gw->tag_ + "_" + std::to_string(w);
    ring = rte_ring_create_elem(name.c_str(), sizeof(TraceRecord), kControlRingSize, SOCKET_ID_ANY,
                                RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (ring == nullptr) return make_error(Errc::kNoMemory, "cannot create trace ring " + name);
    gw->traces_.push_back(ring);
  }
  // Reassembled packets too long for a regular mbuf (IKE messages with certificate chains, jumbo
  // ESP) are gathered into one of these: a few, as big as an IPv4 packet can be.
  gw->large_pool_ = rte_pktmbuf_pool_create(("rampart_large" + gw->tag_).c_str(), kLargeMbufs, 0, 0,
                                            kLargeMbufRoom, static_cast<int>(rte_socket_id()));
  if (gw->large_pool_ == nullptr) return make_error(Errc::kNoMemory, "cannot create the pool for reassembled packets");
  gw->reassemblers_.reserve(workers);
  for (uint16_t w = 0; w < workers; ++w) {
    auto reassembler = Reassembler::create(kReassemblyPackets, spec.reassembly_timeout_ms, gw->large_pool_,
                                           static_cast<int>(rte_socket_id()));
    if (!reassembler) return reassembler.error();
    gw->reassemblers_.push_back(std::move(*reassembler));
  }

  auto handoffs = HandoffRings::create(workers, gw->tag_);
  if (!handoffs) return handoffs.error();
  gw->handoffs_ = std::move(*handoffs);
  auto channel = UpdateChannel::create(workers);
  if (!channel) return channel.error();
  gw->updates_ = std::move(*channel);
  auto store = SaStore::create(gw->spec_, gw->tag_, connected_routes(spec.ports), *gw->updates_);
  if (!store) return store.error();
  gw->sas_ = std::move(*store);
  auto neighbours = NeighbourService::create("rampart_neighbours" + gw->tag_, gw->ports_, spec.neighbours, gw->pool_,
                                             gw->control_output());
  if (!neighbours) return neighbours.error();
  gw->neighbours_ = std::move(*neighbours);
  gw->neighbours_->use_routes(gw->sas_->tables()->routes);
  gw->local_ = std::make_unique<LocalDelivery>(*gw->updates_, *gw->neighbours_, gw->pool_, gw->control_output(),
                                               gw->spec_.clock);
  // The store has its routes already: an SA's path MTU comes from the route to its peer.
  for (const SaParams& p : spec.sas)
    if (auto r = gw->install_sa(p); !r) return make_error(r.code(), "SA " + p.name + ": " + r.message());
  if (auto r = gw->set_policies(kConfigPolicies, spec.policies); !r) return r.error();
  return gw;
}

Gateway::~Gateway() {
  release();
  // No worker runs now: what waits for a grace period goes first (it may use the SAD), then the
  // rooms, then the rings and the pools their packets came from.
  updates_.reset();
  local_.reset();
  neighbours_.reset();
  sas_.reset();
  release();  // whatever a room sent on its way out
  for (rte_ring* ring : {to_control_, control_tx_, unresolved_}) rte_ring_free(ring);
  for (rte_ring* ring : events_) rte_ring_free(ring);
  for (rte_ring* ring : traces_) rte_ring_free(ring);
  handoffs_.reset();
  rte_mempool_free(pool_);
  rte_mempool_free(large_pool_);
}

ControlOutput Gateway::control_output() noexcept {
  unsigned control = drops_->lane_count() - 1;
  return {control_tx_, &drops_->lane(control), &paths_->lane(control)};
}

WorkerContext Gateway::attach_worker(unsigned index) {
  updates_->attach(index);  // empties its ring: the current state is copied here instead
  WorkerContext c;
  c.index = index;
  c.burst = static_cast<uint16_t>(spec_.burst);
  c.ports = ports_.data();
  c.port_count = static_cast<uint16_t>(ports_.size());
  c.pool = pool_;
  c.stop = &stop_;
  c.clock = spec_.clock;
  c.sad = &sas_->sad();
  c.neighbours = &neighbours_->table();
  c.to_control = to_control_;
  c.unresolved = unresolved_;
  c.events = events_[index];
  c.traces = traces_[index];
  c.control_tx = index == 0 ? control_tx_ : nullptr;
  c.trace_budget = &trace_budget_;
  c.handoff_to = handoffs_->outgoing(index);
  c.handoff_from = handoffs_->incoming(index);
  c.reassembler = &reassemblers_[index];
  c.drops = &drops_->lane(index);
  c.paths = &paths_->lane(index);
  c.updates = updates_.get();
  c.tables = sas_->tables();
  c.local_ports = local_->ports();
  c.slots.assign(spec_.max_sas, nullptr);
  sas_->copy_slots(c.slots.data());
  return c;
}

Result<void> Gateway::run(const std::function<void()>& on_control_pass) {
  for (unsigned lcore : spec_.worker_lcores)
    if (!rte_lcore_is_enabled(lcore) || lcore == rte_get_main_lcore())
      return make_error(Errc::kInvalidArgument, "worker lcore " + std::to_string(lcore) + " is not an enabled worker lcore");
  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned w = 0; w < spec_.worker_lcores.size(); ++w) {
    auto mb = crypto::MbManager::create();  // each worker its own ipsec-mb manager
    if (!mb) return mb.error();
    workers.push_back(std::make_unique<Worker>(attach_worker(w), std::move(*mb)));
  }
  for (unsigned w = 0; w < workers.size(); ++w)
    if (rte_eal_remote_launch(worker_main, workers[w].get(), spec_.worker_lcores[w]) != 0)
      return make_error(Errc::kInternal, "cannot launch worker on lcore " + std::to_string(spec_.worker_lcores[w]));
  LOG_INFO("gateway", "%zu worker(s) running, %zu port(s), %zu SA(s), %zu policies", workers.size(), ports_.size(),
           sas_->size(), policies().size());
  while (!stop_.load(std::memory_order_relaxed)) {
    control_poll();
    if (on_control_pass) on_control_pass();
    usleep(200);  // the control core may sleep; workers never do
  }
  rte_eal_mp_wait_lcore();
  return {};
}

Result<void> Gateway::set_routes(const std::vector<RouteSpec>& routes) {
  if (auto r = sas_->set_routes(routes); !r) return r;
  neighbours_->use_routes(sas_->tables()->routes);
  return {};
}

void Gateway::arm_trace(int32_t packets) {
  trace_log_.clear();
  trace_budget_.store(packets, std::memory_order_relaxed);
}

void Gateway::control_poll() {
  TraceRecord record;
  for (rte_ring* ring : traces_)
    while (rte_ring_dequeue_elem(ring, &record, sizeof record) == 0)
      if (trace_log_.size() < kMaxTraceLog) trace_log_.push_back(record);
  uint64_t now = spec_.clock();
  sas_->poll(events_, now);
  updates_->reclaim();
  rte_mbuf* pkts[kMaxBurst];
  unsigned n = rte_ring_dequeue_burst(to_control_, reinterpret_cast<void**>(pkts), kMaxBurst, nullptr);
  tsan_acquire_packets(pkts, n);
  for (unsigned i = 0; i < n; ++i) {
    auto* eth = rte_pktmbuf_mtod(pkts[i], rte_ether_hdr*);
    uint16_t type = rte_be_to_cpu_16(eth->ether_type);
    if (type == RTE_ETHER_TYPE_ARP ||
        (type == RTE_ETHER_TYPE_IPV6 && reinterpret_cast<rte_ipv6_hdr*>(eth + 1)->proto == IPPROTO_ICMPV6))
      neighbours_->receive(pkts[i]);
    else
      local_->receive(pkts[i]);
  }
  n = rte_ring_dequeue_burst(unresolved_, reinterpret_cast<void**>(pkts), kMaxBurst, nullptr);
  tsan_acquire_packets(pkts, n);
  for (unsigned i = 0; i < n; ++i) neighbours_->hold(pkts[i], now);
  neighbours_->poll(now);
}

std::vector<CounterValue> Gateway::counters() const {
  auto all = paths_->snapshot();
  auto drops = drops_->snapshot();
  all.insert(all.end(), drops.begin(), drops.end());
  return all;
}

unsigned Gateway::shutdown() {
  release();
  return (pool_ ? rte_mempool_in_use_count(pool_) : 0) + (large_pool_ ? rte_mempool_in_use_count(large_pool_) : 0);
}

void Gateway::release() {
  if (ports_started_) {
    for (const Port& p : ports_) rte_eth_dev_stop(p.id);
    ports_started_ = false;
  }
  if (!drops_) return;  // create() failed before there was anything to hold
  CounterTable::Lane& control_drops = drops_->lane(drops_->lane_count() - 1);
  if (neighbours_) control_drops.add(DropReason::kShutdown, neighbours_->release());
  // Emptied, not freed: the rooms keep their way out until the gateway goes.
  for (rte_ring* ring : {to_control_, control_tx_, unresolved_}) {
    if (ring == nullptr) continue;
    void* m;
    while (rte_ring_dequeue(ring, &m) == 0) {
      rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
      control_drops.add(DropReason::kShutdown);
    }
  }
  if (handoffs_) control_drops.add(DropReason::kShutdown, handoffs_->drain());
  for (Reassembler& r : reassemblers_)  // the workers keep their pointers
    if (uint32_t held = r.close(); held != 0) control_drops.add(DropReason::kShutdown, held);
  // The ports are stopped, not closed: they belong to whoever created the devices (EAL closes
  // its --vdev and PCI devices in rte_eal_cleanup; tests close their ring pairs). The vector
  // stays: the neighbour service and snapshots hold it until the gateway goes.
}

}  // namespace rampart::dp
