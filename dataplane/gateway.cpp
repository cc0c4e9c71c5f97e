#include "dataplane/gateway.hpp"

#include <rte_arp.h>
#include <rte_ip.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <rte_udp.h>

#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <unordered_map>

#include "common/log.hpp"
#include "dataplane/ethernet.hpp"
#include "dataplane/port.hpp"
#include "dataplane/worker.hpp"

namespace rampart::dp {

namespace {

constexpr unsigned kControlRingSize = 1024;
constexpr uint32_t kReassemblyPackets = 1024;  // packets in reassembly at once, per worker
constexpr unsigned kLargeMbufs = 31;
constexpr uint16_t kLargeMbufRoom = UINT16_MAX;  // the most an mbuf holds: IP packets of up to 65,393 bytes

bool in_prefix(uint32_t address, const Ipv4Prefix& prefix) {
  uint32_t mask = prefix.length == 0 ? 0 : ~uint32_t{0} << (32 - prefix.length);
  return (address & mask) == (prefix.address & mask);
}

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

}  // namespace

Result<std::unique_ptr<Gateway>> Gateway::create(const GatewaySpec& spec) {
  std::unique_ptr<Gateway> gw(new Gateway);
  gw->spec_ = spec;
  static std::atomic<unsigned> gateways{0};  // DPDK names are process-wide; a bench runs several
  gw->tag_ = "_" + std::to_string(gateways.fetch_add(1));
  auto workers = static_cast<uint16_t>(spec.worker_lcores.size());
  if (workers == 0) return make_error(Errc::kInvalidArgument, "no worker lcores");
  // Workers share each outbound SA: two would reuse its sequence numbers, and so its GCM nonces.
  if (workers > 1)
    return make_error(Errc::kUnsupported, "one worker lcore only: workers would share each outbound SA's sequence numbers");
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

  auto mb = crypto::MbManager::create();
  if (!mb) return mb.error();
  gw->control_mb_ = std::make_unique<crypto::MbManager>(std::move(*mb));
  auto channel = UpdateChannel::create(workers);
  if (!channel) return channel.error();
  gw->updates_ = std::move(*channel);
  if (spec.max_sas == 0) return make_error(Errc::kInvalidArgument, "max_sas must be at least 1");
  // Room for every SA and, during rekeys, the inbound SAs they replace.
  auto sad = Sad::create("rampart_sad" + gw->tag_, spec.max_sas * 2);
  if (!sad) return sad.error();
  gw->sad_ = std::move(*sad);

  for (uint16_t i = 0; i < spec.ports.size(); ++i) {  // connected prefixes, host bits cleared
    Ipv4Prefix connected = spec.ports[i].address;
    connected.address &= connected.length == 0 ? 0 : ~uint32_t{0} << (32 - connected.length);
    gw->connected_.push_back(ipv4_route(connected, 0, i));
    if (spec.ports[i].has_address6) {
      RouteSpec r;
      r.family = IpFamily::kIpv6;
      r.destination6 = spec.ports[i].address6;
      for (unsigned bit = r.destination6.length; bit < 128; ++bit)
        r.destination6.address[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
      r.port = i;
      gw->connected_.push_back(r);
    }
  }
  // Sized once, so that no install pauses the control core to grow them.
  gw->sas_.reserve(spec.max_sas);
  gw->sa_by_name_.reserve(spec.max_sas);
  gw->slot_of_.reserve(spec.max_sas);
  gw->slots_.reserve(spec.max_sas);
  // Routes first: an SA's path MTU comes from the route to its peer.
  if (auto r = gw->set_routes(spec.routes); !r) return r.error();
  for (const SaParams& p : spec.sas)
    if (auto r = gw->install_sa(p); !r) return make_error(r.code(), "SA " + p.name + ": " + r.message());
  if (auto r = gw->set_policies(kConfigPolicies, spec.policies); !r) return r.error();
  auto neighbours = NeighbourTable::create("rampart_neighbours" + gw->tag_, 1024);
  if (!neighbours) return neighbours.error();
  gw->neighbours_ = std::move(*neighbours);
  for (const NeighbourSpec& n : spec.neighbours) {
    rte_ether_addr mac;
    std::memcpy(mac.addr_bytes, n.mac.data(), RTE_ETHER_ADDR_LEN);
    if (n.family == IpFamily::kIpv4)
      gw->neighbours_->learn(n.address, mac);
    else
      gw->neighbours_->learn6(n.address6.data(), mac);
  }

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
  gw->drops_ = std::make_unique<CounterTable>(kDropReasonDefs, workers + 1);
  gw->paths_ = std::make_unique<CounterTable>(kPathCounterDefs, workers + 1);
  return gw;
}

Gateway::~Gateway() {
  release();
  // No worker runs now: what waits for a grace period goes (it may use the SAD), then the rest.
  updates_.reset();
  delete tables_;
  rte_mempool_free(pool_);
  rte_mempool_free(large_pool_);
}

Result<void> Gateway::run(const std::function<void()>& on_control_pass) {
  for (unsigned lcore : spec_.worker_lcores)
    if (!rte_lcore_is_enabled(lcore) || lcore == rte_get_main_lcore())
      return make_error(Errc::kInvalidArgument, "worker lcore " + std::to_string(lcore) + " is not an enabled worker lcore");
  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned w = 0; w < spec_.worker_lcores.size(); ++w) {
    auto mb = crypto::MbManager::create();  // each worker its own ipsec-mb manager
    if (!mb) return mb.error();
    workers.push_back(std::make_unique<Worker>(*this, w, std::move(*mb)));
  }
  for (unsigned w = 0; w < workers.size(); ++w)
    if (rte_eal_remote_launch(worker_main, workers[w].get(), spec_.worker_lcores[w]) != 0)
      return make_error(Errc::kInternal, "cannot launch worker on lcore " + std::to_string(spec_.worker_lcores[w]));
  LOG_INFO("gateway", "%zu worker(s) running, %zu port(s), %zu SA(s), %zu policies", workers.size(), ports_.size(),
           sas_.size(), policies_.size());
  while (!stop_.load(std::memory_order_relaxed)) {
    control_poll();
    if (on_control_pass) on_control_pass();
    usleep(200);  // the control core may sleep; workers never do
  }
  rte_eal_mp_wait_lcore();
  return {};
}

namespace {
const char* event_text(SaEventKind kind) {
  switch (kind) {
    case SaEventKind::kSoftLifetime: return "soft lifetime reached: rekey now";
    case SaEventKind::kHardLifetime: return "hard lifetime reached: the SA has stopped";
    case SaEventKind::kSeqOverflow: return "sequence numbers used up: the SA has stopped";
    case SaEventKind::kSeqNearOverflow: return "15/16 of the sequence numbers used: rekey now";
    case SaEventKind::kAcquire: return "traffic for a policy whose SA is not installed";
  }
  return "?";
}
}  // namespace

// Workers report byte and packet lifetimes and sequence overflow; seconds are counted here, and
// an SA past its hard time is stopped (workers see its state at their next run of it).
void Gateway::poll_lifetimes() {
  constexpr size_t kMaxEvents = 1024;
  SaEvent event;
  for (rte_ring* ring : events_)
    while (rte_ring_dequeue_elem(ring, &event, sizeof event) == 0) {
      if (event.kind == SaEventKind::kAcquire) {
        if (event.spi < slots_.size() && slots_[event.spi].users != 0 && acquires_.size() < kMaxEvents)
          acquires_.push_back(slots_[event.spi].name);
        continue;
      }
      LOG_WARN("gateway", "SA 0x%08x %s: %s", event.spi,
               event.direction == SaDirection::kOutbound ? "outbound" : "inbound", event_text(event.kind));
      if (sa_events_.size() < kMaxEvents) sa_events_.push_back(event);
    }
  uint64_t now = rte_get_tsc_cycles();
  if (now < next_time_check_) return;
  next_time_check_ = now + rte_get_tsc_hz() / 10;
  for (InstalledSa& installed : sas_) {
    SaRuntime& sa = *installed.runtime;
    const SaLifetime& life = sa.params.lifetime;
    if (life.soft_seconds == 0 && life.hard_seconds == 0) continue;
    uint64_t seconds = (now - installed.installed_tsc) / rte_get_tsc_hz();
    const char* direction = sa.direction == SaDirection::kOutbound ? "outbound" : "inbound";
    if (life.soft_seconds && seconds >= life.soft_seconds && installed.time_state < 1) {
      installed.time_state = 1;
      LOG_WARN("gateway", "SA 0x%08x %s: soft time lifetime (%llu s) reached: rekey now", sa.params.spi, direction,
               static_cast<unsigned long long>(life.soft_seconds));
      if (sa_events_.size() < kMaxEvents) sa_events_.push_back({sa.params.spi, sa.direction, SaEventKind::kSoftLifetime});
    }
    if (life.hard_seconds && seconds >= life.hard_seconds && installed.time_state < 2) {
      installed.time_state = 2;
      sa.state.store(SaState::kExpired, std::memory_order_relaxed);
      LOG_WARN("gateway", "SA 0x%08x %s: hard time lifetime (%llu s) reached: the SA has stopped", sa.params.spi,
               direction, static_cast<unsigned long long>(life.hard_seconds));
      if (sa_events_.size() < kMaxEvents) sa_events_.push_back({sa.params.spi, sa.direction, SaEventKind::kHardLifetime});
    }
  }
}

void Gateway::arm_trace(int32_t packets) {
  trace_log_.clear();
  trace_budget_.store(packets, std::memory_order_relaxed);
}

void Gateway::control_poll() {
  constexpr size_t kMaxTraceLog = 10000;
  TraceRecord record;
  for (rte_ring* ring : traces_)
    while (rte_ring_dequeue_elem(ring, &record, sizeof record) == 0)
      if (trace_log_.size() < kMaxTraceLog) trace_log_.push_back(record);
  poll_lifetimes();
  expire_lingering(rte_get_tsc_cycles());
  updates_->reclaim();
  rte_mbuf* pkts[kMaxBurst];
  unsigned n = rte_ring_dequeue_burst(to_control_, reinterpret_cast<void**>(pkts), kMaxBurst, nullptr);
  for (unsigned i = 0; i < n; ++i) {
    auto* eth = rte_pktmbuf_mtod(pkts[i], rte_ether_hdr*);
    uint16_t type = rte_be_to_cpu_16(eth->ether_type);
    if (type == RTE_ETHER_TYPE_ARP)
      handle_arp(pkts[i]);
    else if (type == RTE_ETHER_TYPE_IPV6 && reinterpret_cast<rte_ipv6_hdr*>(eth + 1)->proto == IPPROTO_ICMPV6)
      handle_nd(pkts[i]);
    else
      receive_ike(pkts[i]);
  }
  // Packets waiting for a neighbour: send the ones whose next hop is now known, ask again (at
  // most ten times a second per address) for the others, and give up after a second.
  constexpr size_t kMaxHeld = 256;
  uint64_t now = rte_get_tsc_cycles();
  rte_mbuf* waiting[kMaxBurst];
  n = rte_ring_dequeue_burst(unresolved_, reinterpret_cast<void**>(waiting), kMaxBurst, nullptr);
  for (unsigned i = 0; i < n; ++i) {
    if (held_.size() >= kMaxHeld) {
      control_drops().add(DropReason::kNoNeighbour);
      rte_pktmbuf_free(waiting[i]);
      continue;
    }
    held_.push_back({waiting[i], now + rte_get_tsc_hz()});
  }
  size_t kept = 0;
  for (HeldPacket& h : held_) {
    if (try_release(h, now)) continue;
    if (now > h.deadline) {
      control_drops().add(DropReason::kNoNeighbour);
      rte_pktmbuf_free(h.mbuf);
      continue;
    }
    held_[kept++] = h;
  }
  held_.resize(kept);
}

// Workers send the control core UDP 500 and 4500 to our addresses: IKE on 500, and on 4500 after
// its four-byte non-ESP marker (NAT-T); IPv4, or IPv6 with UDP right after the fixed header.
void Gateway::receive_ike(rte_mbuf* m) {
  constexpr size_t kMaxInbox = 256;
  uint32_t length = rte_pktmbuf_data_len(m);
  const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
  const auto* l3 = reinterpret_cast<const uint8_t*>(eth + 1);
  auto refuse = [&](DropReason why) {
    control_drops().add(why);
    rte_pktmbuf_free(m);
  };
  IkeDatagram d;
  size_t l3_length = length - sizeof(rte_ether_hdr), header_length, ip_length;
  if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) && length >= sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + 8) {
    const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(l3);
    header_length = (ip->version_ihl & 0x0f) * 4u;
    ip_length = rte_be_to_cpu_16(ip->total_length);
    d.family = IpFamily::kIpv4;
    std::memcpy(d.source.data(), &ip->src_addr, 4);
    std::memcpy(d.destination.data(), &ip->dst_addr, 4);
  } else if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6) &&
             length >= sizeof(rte_ether_hdr) + sizeof(rte_ipv6_hdr) + 8) {
    const auto* ip = reinterpret_cast<const rte_ipv6_hdr*>(l3);
    if (ip->proto != IPPROTO_UDP) return refuse(DropReason::kUnsupported);  // extension headers before UDP
    header_length = sizeof(rte_ipv6_hdr);
    ip_length = sizeof(rte_ipv6_hdr) + rte_be_to_cpu_16(ip->payload_len);
    d.family = IpFamily::kIpv6;
    std::memcpy(d.source.data(), ip->src_addr, 16);
    std::memcpy(d.destination.data(), ip->dst_addr, 16);
  } else {
    return refuse(DropReason::kUnsupported);
  }
  if (ip_length > l3_length || ip_length < header_length + 8) return refuse(DropReason::kBadLength);
  const auto* udp = reinterpret_cast<const rte_udp_hdr*>(l3 + header_length);
  const auto* payload = reinterpret_cast<const std::byte*>(udp + 1);
  size_t payload_length = ip_length - header_length - 8;
  uint16_t port = rte_be_to_cpu_16(udp->dst_port);
  // On 4500 IKE follows a four-byte non-ESP marker (RFC 3948 2.2).
  bool marked = port == kIkeNatTPort && payload_length >= 4 &&
                std::all_of(payload, payload + 4, [](std::byte b) { return b == std::byte{0}; });
  if (ike_inbox_.size() >= kMaxInbox) return refuse(DropReason::kControlBusy);
  if (port != kIkePort && !marked) return refuse(DropReason::kNotForUs);
  if (marked) {
    payload += 4;
    payload_length -= 4;
  }
  d.source_port = rte_be_to_cpu_16(udp->src_port);
  d.destination_port = port;
  d.payload.assign(payload, payload + payload_length);
  ike_inbox_.push_back(std::move(d));
  control_drops().add(DropReason::kIkeDatagram);
  rte_pktmbuf_free(m);
}

void Gateway::to_worker(rte_mbuf* m) noexcept {
  if (rte_ring_enqueue(control_tx_, m) == 0) return;
  control_drops().add(DropReason::kControlBusy);
  rte_pktmbuf_free(m);
}

// An IKE datagram from this gateway: IP and UDP headers in front (IPv6 with its mandatory UDP
// checksum), then out like a held packet (routed, its next hop resolved if need be, sent through
// worker 0).
void Gateway::send_ike(const IkeDatagram& d) {
  bool v6 = d.family == IpFamily::kIpv6;
  size_t ip_header = v6 ? sizeof(rte_ipv6_hdr) : sizeof(rte_ipv4_hdr);
  // The non-ESP marker on 4500, except before a NAT keepalive (one 0xFF byte, RFC 3948 2.3).
  bool keepalive = d.payload.size() == 1 && d.payload[0] == std::byte{0xff};
  size_t marker = d.source_port == kIkeNatTPort && !keepalive ? 4 : 0;
  size_t length = ip_header + sizeof(rte_udp_hdr) + marker + d.payload.size();
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (m == nullptr) return;
  auto* front = reinterpret_cast<uint8_t*>(length <= UINT16_MAX ? rte_pktmbuf_append(m, static_cast<uint16_t>(length)) : nullptr);
  if (front == nullptr) {
    rte_pktmbuf_free(m);
    return;
  }
  auto* udp = reinterpret_cast<rte_udp_hdr*>(front + ip_header);
  udp->src_port = rte_cpu_to_be_16(d.source_port);
  udp->dst_port = rte_cpu_to_be_16(d.destination_port);
  udp->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(length - ip_header));
  udp->dgram_cksum = 0;
  auto* body = reinterpret_cast<uint8_t*>(udp + 1);
  std::memset(body, 0, marker);
  std::memcpy(body + marker, d.payload.data(), d.payload.size());
  if (v6) {
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(front);
    std::memset(ip, 0, sizeof *ip);
    ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
    ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(length - ip_header));
    ip->proto = IPPROTO_UDP;
    ip->hop_limits = 64;
    std::memcpy(ip->src_addr, d.source.data(), 16);
    std::memcpy(ip->dst_addr, d.destination.data(), 16);
    udp->dgram_cksum = rte_ipv6_udptcp_cksum(ip, udp);  // RFC 8200 8.1: never zero over IPv6
  } else {
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(front);
    std::memset(ip, 0, sizeof *ip);
    ip->version_ihl = 0x45;
    ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(length));
    ip->time_to_live = 64;
    ip->next_proto_id = IPPROTO_UDP;
    std::memcpy(&ip->src_addr, d.source.data(), 4);
    std::memcpy(&ip->dst_addr, d.destination.data(), 4);
    ip->hdr_checksum = rte_ipv4_cksum(ip);  // and no UDP checksum (RFC 768 allows it over IPv4)
  }
  control_paths().add(PathCounter::kGenerated);
  uint64_t now = rte_get_tsc_cycles();
  HeldPacket h{m, now + rte_get_tsc_hz()};
  if (!try_release(h, now)) held_.push_back(h);
}

bool Gateway::try_release(HeldPacket& h, uint64_t now) {
  const auto* p = rte_pktmbuf_mtod(h.mbuf, const uint8_t*);
  bool v6 = (p[0] >> 4) == 6;
  rte_ether_addr mac;
  uint16_t port;
  bool known;
  std::string key;
  uint32_t next4 = 0;
  const uint8_t* next6 = nullptr;
  if (v6) {
    const auto* ip = reinterpret_cast<const rte_ipv6_hdr*>(p);
    const NextHop6* hop = tables_->routes->lookup6(ip->dst_addr);
    if (hop == nullptr) {  // the routes changed while it waited
      control_drops().add(DropReason::kNoRoute);
      rte_pktmbuf_free(h.mbuf);
      return true;
    }
    port = hop->port;
    next6 = hop->on_link ? ip->dst_addr : hop->gateway.data();
    known = neighbours_->lookup6(next6, mac);
    key.assign(reinterpret_cast<const char*>(next6), 16);
  } else {
    const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(p);
    uint32_t destination = rte_be_to_cpu_32(ip->dst_addr);
    const NextHop* hop = tables_->routes->lookup(destination);
    if (hop == nullptr) {
      control_drops().add(DropReason::kNoRoute);
      rte_pktmbuf_free(h.mbuf);
      return true;
    }
    port = hop->port;
    next4 = hop->gateway ? hop->gateway : destination;
    known = neighbours_->lookup(next4, mac);
    key.assign(reinterpret_cast<const char*>(&next4), 4);
  }
  if (known) {
    if (!prepend_ethernet(h.mbuf, mac, ports_[port].mac, v6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4)) {
      control_drops().add(DropReason::kNoHeadroom);
      rte_pktmbuf_free(h.mbuf);
      return true;
    }
    h.mbuf->port = port;
    to_worker(h.mbuf);
    return true;
  }
  uint64_t& last = last_asked_[key];
  if (now - last >= rte_get_tsc_hz() / 10) {
    last = now;
    if (v6)
      send_neighbour_solicitation(port, next6);
    else
      send_arp_request(port, next4);
  }
  return false;
}

// RFC 826: learn the sender, answer requests for our own address.
// A message the control core takes in without an answer: counted, then freed.
void Gateway::consume(rte_mbuf* m, DropReason why) noexcept {
  control_drops().add(why);
  rte_pktmbuf_free(m);
}

void Gateway::handle_arp(rte_mbuf* m) {
  const Port& port = ports_[m->port];
  if (rte_pktmbuf_data_len(m) < sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr)) return consume(m, DropReason::kBadNeighbourMessage);
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
  if (arp->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) || arp->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
      arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != 4)
    return consume(m, DropReason::kBadNeighbourMessage);
  uint32_t sender = rte_be_to_cpu_32(arp->arp_data.arp_sip);
  uint32_t target = rte_be_to_cpu_32(arp->arp_data.arp_tip);
  if (in_prefix(sender, port.spec.address) && sender != port.spec.address.address)
    neighbours_->learn(sender, arp->arp_data.arp_sha);
  if (arp->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) && target == port.spec.address.address) {
    arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
    arp->arp_data.arp_tha = arp->arp_data.arp_sha;
    arp->arp_data.arp_tip = arp->arp_data.arp_sip;
    arp->arp_data.arp_sha = port.mac;
    arp->arp_data.arp_sip = rte_cpu_to_be_32(port.spec.address.address);
    eth->dst_addr = eth->src_addr;
    eth->src_addr = port.mac;
    to_worker(m);
    return;
  }
  consume(m, DropReason::kNeighbourMessage);
}

namespace {

constexpr uint8_t kNeighbourSolicitation = 135;
constexpr uint8_t kNeighbourAdvertisement = 136;
constexpr uint8_t kSourceLinkLayer = 1;  // ND option types, RFC 4861 4.6.1
constexpr uint8_t kTargetLinkLayer = 2;
constexpr unsigned kNdHeader = 24;      // type, code, checksum, flags/reserved, target address

// The link-layer address option of the given type in an ND message's options, or nullptr.
const uint8_t* nd_option(const uint8_t* options, unsigned length, uint8_t type) {
  for (unsigned at = 0; at + 8 <= length;) {
    unsigned size = options[at + 1] * 8u;
    if (size == 0 || at + size > length) return nullptr;  // RFC 4861 4.6: zero length is invalid
    if (options[at] == type && size >= 8) return options + at + 2;
    at += size;
  }
  return nullptr;
}

constexpr unsigned kNdMessageLength = sizeof(rte_ether_hdr) + sizeof(rte_ipv6_hdr) + kNdHeader + 8;

// An ND message with one link-layer address option (ours), from our address, in out
// (kNdMessageLength bytes): the solicitation and the advertisement differ only in these fields.
void write_nd_message(uint8_t* out, const Port& port, const rte_ether_addr& to_mac, const uint8_t* to_address,
                      uint8_t type, uint8_t flags, const uint8_t* target, uint8_t option) {
  std::memset(out, 0, kNdMessageLength);
  auto* eth = reinterpret_cast<rte_ether_hdr*>(out);
  auto* ip = reinterpret_cast<rte_ipv6_hdr*>(eth + 1);
  auto* nd = reinterpret_cast<uint8_t*>(ip + 1);
  eth->dst_addr = to_mac;
  eth->src_addr = port.mac;
  eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
  ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
  ip->payload_len = rte_cpu_to_be_16(kNdHeader + 8);
  ip->proto = IPPROTO_ICMPV6;
  ip->hop_limits = 255;  // RFC 4861: receivers check that no router forwarded it
  std::memcpy(ip->src_addr, port.spec.address6.address.data(), 16);
  std::memcpy(ip->dst_addr, to_address, 16);
  nd[0] = type;
  nd[4] = flags;
  std::memcpy(nd + 8, target, 16);
  nd[kNdHeader] = option;
  nd[kNdHeader + 1] = 1;  // length in 8-byte units
  std::memcpy(nd + kNdHeader + 2, port.mac.addr_bytes, RTE_ETHER_ADDR_LEN);
  uint16_t sum = rte_ipv6_udptcp_cksum(ip, nd);
  std::memcpy(nd + 2, &sum, 2);
}

}  // namespace

// RFC 4861: answer solicitations for our address, learn from solicitations and advertisements.
// Only messages that kept a hop limit of 255 (not forwarded by any router) count.
void Gateway::handle_nd(rte_mbuf* m) {
  const Port& port = ports_[m->port];
  uint32_t length = rte_pktmbuf_data_len(m);
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  auto* ip = reinterpret_cast<rte_ipv6_hdr*>(eth + 1);
  if (length < sizeof(rte_ether_hdr) + sizeof(rte_ipv6_hdr) + kNdHeader || ip->hop_limits != 255 ||
      rte_be_to_cpu_16(ip->payload_len) < kNdHeader ||
      rte_be_to_cpu_16(ip->payload_len) + sizeof(rte_ether_hdr) + sizeof(rte_ipv6_hdr) > length)
    return consume(m, DropReason::kBadNeighbourMessage);
  auto* nd = reinterpret_cast<uint8_t*>(ip + 1);
  unsigned nd_length = rte_be_to_cpu_16(ip->payload_len);
  const uint8_t* target = nd + 8;
  const uint8_t* options = nd + kNdHeader;
  unsigned options_length = nd_length - kNdHeader;
  static const uint8_t kUnspecified[16] = {};
  if (nd[0] == kNeighbourAdvertisement) {
    if (const uint8_t* mac = nd_option(options, options_length, kTargetLinkLayer))
      neighbours_->learn6(target, *reinterpret_cast<const rte_ether_addr*>(mac));
    return consume(m, DropReason::kNeighbourMessage);
  }
  if (nd[0] != kNeighbourSolicitation) return consume(m, DropReason::kBadNeighbourMessage);
  const uint8_t* source_mac = nd_option(options, options_length, kSourceLinkLayer);
  bool from_unspecified = std::memcmp(ip->src_addr, kUnspecified, 16) == 0;
  if (source_mac && !from_unspecified)
    neighbours_->learn6(ip->src_addr, *reinterpret_cast<const rte_ether_addr*>(source_mac));
  if (!port.spec.has_address6 || std::memcmp(target, port.spec.address6.address.data(), 16) != 0)
    return consume(m, DropReason::kNeighbourMessage);
  // The advertisement, in the same mbuf: to the solicitor (or all nodes, RFC 4861 7.2.4).
  uint16_t port_index = m->port;
  rte_pktmbuf_reset(m);  // which also forgets the port
  m->port = port_index;
  uint8_t solicitor[16];
  std::memcpy(solicitor, ip->src_addr, 16);
  rte_ether_addr solicitor_mac = eth->src_addr;
  auto* out = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, kNdMessageLength));
  if (out == nullptr) return consume(m, DropReason::kNoTailroom);
  static const uint8_t kAllNodes[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  write_nd_message(out, port, solicitor_mac, from_unspecified ? kAllNodes : solicitor, kNeighbourAdvertisement,
                   from_unspecified ? 0x20 : 0x60,  // Solicited (unless DAD) and Override
                   port.spec.address6.address.data(), kTargetLinkLayer);
  to_worker(m);
}

void Gateway::send_neighbour_solicitation(uint16_t port_index, const uint8_t* target) {
  const Port& port = ports_[port_index];
  if (!port.spec.has_address6) return;  // nothing to speak IPv6 from on this port
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (m == nullptr) return;
  auto* out = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, kNdMessageLength));
  if (out == nullptr) {
    rte_pktmbuf_free(m);
    return;
  }
  // To the target's solicited-node multicast group ff02::1:ffXX:XXXX (RFC 4291 2.7.1), whose
  // Ethernet address is 33:33 and the group's last four bytes (RFC 2464 7).
  const uint8_t group[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, target[13], target[14], target[15]};
  const rte_ether_addr group_mac{{0x33, 0x33, 0xff, target[13], target[14], target[15]}};
  write_nd_message(out, port, group_mac, group, kNeighbourSolicitation, 0, target, kSourceLinkLayer);
  m->port = port_index;
  control_paths().add(PathCounter::kGenerated);
  to_worker(m);
}

void Gateway::send_arp_request(uint16_t port_index, uint32_t target) {
  const Port& port = ports_[port_index];
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (m == nullptr) return;
  auto* eth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_append(m, sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr)));
  if (eth == nullptr) {
    rte_pktmbuf_free(m);
    return;
  }
  std::memset(eth->dst_addr.addr_bytes, 0xff, RTE_ETHER_ADDR_LEN);
  eth->src_addr = port.mac;
  eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
  auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
  arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
  arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
  arp->arp_hlen = RTE_ETHER_ADDR_LEN;
  arp->arp_plen = 4;
  arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
  arp->arp_data.arp_sha = port.mac;
  arp->arp_data.arp_sip = rte_cpu_to_be_32(port.spec.address.address);
  std::memset(arp->arp_data.arp_tha.addr_bytes, 0, RTE_ETHER_ADDR_LEN);
  arp->arp_data.arp_tip = rte_cpu_to_be_32(target);
  m->port = port_index;
  control_paths().add(PathCounter::kGenerated);
  to_worker(m);
}

std::vector<SaSnapshot> Gateway::sa_snapshot() const {
  std::vector<SaSnapshot> out;
  for (const InstalledSa& installed : sas_) {
    const SaRuntime& sa = *installed.runtime;
    uint64_t drops = 0;
    for (const auto& d : sa.drops) drops += d.get();
    out.push_back({&sa.params, sa.state.load(std::memory_order_relaxed) == SaState::kExpired,
                   installed.linger_until != 0, sa.packets.get(), sa.bytes.get(), drops});
  }
  return out;
}

std::vector<WorkerSnapshot> Gateway::worker_snapshot() const {
  std::vector<WorkerSnapshot> out;
  for (unsigned w = 0; w < spec_.worker_lcores.size(); ++w) {
    auto& lane = paths_->lane(w);
    out.push_back({spec_.worker_lcores[w], lane.get(static_cast<size_t>(PathCounter::kBusyCycles)),
                   lane.get(static_cast<size_t>(PathCounter::kIdleCycles)),
                   lane.get(static_cast<size_t>(PathCounter::kBusyPolls)), lane.get(static_cast<size_t>(PathCounter::kRx))});
  }
  return out;
}

std::vector<NeighbourSnapshot> Gateway::neighbour_snapshot() const {
  std::vector<NeighbourSnapshot> out;
  neighbours_->for_each([&](bool v6, const uint8_t* key, const rte_ether_addr& mac) {
    NeighbourSnapshot n{v6 ? IpFamily::kIpv6 : IpFamily::kIpv4, {}, mac};
    if (v6) {
      std::memcpy(n.address.data(), key, 16);
    } else {
      uint32_t host;
      std::memcpy(&host, key, 4);
      uint32_t network = rte_cpu_to_be_32(host);
      std::memcpy(n.address.data(), &network, 4);
    }
    out.push_back(n);
  });
  return out;
}

std::vector<PortSnapshot> Gateway::port_snapshot() const {
  std::vector<PortSnapshot> out;
  for (const Port& p : ports_) {
    rte_eth_stats stats{};
    rte_eth_stats_get(p.id, &stats);
    out.push_back({&p.spec, p.mac, stats.ipackets, stats.opackets, stats.imissed});
  }
  return out;
}

std::vector<CounterValue> Gateway::counters() const {
  auto all = paths_->snapshot();
  auto drops = drops_->snapshot();
  all.insert(all.end(), drops.begin(), drops.end());
  return all;
}

void Gateway::release_held() {
  for (HeldPacket& h : held_) rte_pktmbuf_free(h.mbuf);
  if (drops_) control_drops().add(DropReason::kShutdown, held_.size());
  held_.clear();
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
  release_held();
  for (rte_ring* ring : {to_control_, control_tx_, unresolved_}) {
    if (ring == nullptr) continue;
    void* m;
    while (rte_ring_dequeue(ring, &m) == 0) {
      rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
      control_drops().add(DropReason::kShutdown);
    }
    rte_ring_free(ring);
  }
  to_control_ = control_tx_ = unresolved_ = nullptr;
  for (rte_ring* ring : events_) rte_ring_free(ring);
  events_.clear();
  for (rte_ring* ring : traces_) rte_ring_free(ring);
  traces_.clear();
  for (Reassembler& r : reassemblers_)  // the workers keep their references
    if (uint32_t held = r.close(); held != 0 && drops_) control_drops().add(DropReason::kShutdown, held);
  // The ports are stopped, not closed: they belong to whoever created the devices (EAL closes
  // its --vdev and PCI devices in rte_eal_cleanup; tests close their ring pairs).
  ports_.clear();
}

}  // namespace rampart::dp
