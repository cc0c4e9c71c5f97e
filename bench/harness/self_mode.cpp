#include "bench/harness/self_mode.hpp"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <cstdlib>
#include <cstring>

#include "dataplane/esp_outbound.hpp"

namespace rampart::bench {

namespace {

constexpr uint32_t ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return RTE_IPV4(a, b, c, d); }
constexpr uint32_t kSiteB = ip4(198, 18, 0, 0);  // RFC 2544's range: flows' destinations
constexpr unsigned kPortsPerAddress = 1u << 14;   // flow i: address kSiteB + i / 2^14, port 1024 + i % 2^14
const rte_ether_addr kPeerMac{{0x02, 0, 0, 0, 0, 0x02}};
const rte_ether_addr kHostMac{{0x02, 0, 0, 0, 0, 0x10}};

std::array<uint8_t, 16> v6(uint16_t group3, uint32_t low) {
  std::array<uint8_t, 16> a{0x20, 0x01, 0x0d, 0xb8, static_cast<uint8_t>(group3 >> 8), static_cast<uint8_t>(group3)};
  a[12] = static_cast<uint8_t>(low >> 24);
  a[13] = static_cast<uint8_t>(low >> 16);
  a[14] = static_cast<uint8_t>(low >> 8);
  a[15] = static_cast<uint8_t>(low);
  return a;
}
std::array<uint8_t, 16> v4(uint32_t host_order) {
  return {static_cast<uint8_t>(host_order >> 24), static_cast<uint8_t>(host_order >> 16),
          static_cast<uint8_t>(host_order >> 8), static_cast<uint8_t>(host_order)};
}

uint16_t flow_port(unsigned sa) { return static_cast<uint16_t>(1024 + sa % kPortsPerAddress); }

}  // namespace

Flows::Flows(const RunConfig& c) : config(c) {}

void Flows::inner_packet(uint8_t* p, uint16_t length, unsigned flow, bool towards_site_b) const {
  unsigned sa = flow % config.sas;
  unsigned ip_header = config.family == dp::IpFamily::kIpv4 ? 20 : 40;
  if (config.family == dp::IpFamily::kIpv4) {
    uint32_t host = ip4(192, 0, 2, 10), site = kSiteB + sa / kPortsPerAddress;
    write_ipv4_udp(p, length, towards_site_b ? host : site, towards_site_b ? site : host);
  } else {
    auto host = v6(1, 0x10), site = v6(2, sa / kPortsPerAddress);
    write_ipv6_udp(p, length, towards_site_b ? host.data() : site.data(), towards_site_b ? site.data() : host.data());
  }
  uint16_t port = flow_port(sa);
  uint8_t* ports = p + ip_header + (towards_site_b ? 2 : 0);  // the site B side's port
  ports[0] = static_cast<uint8_t>(port >> 8);
  ports[1] = static_cast<uint8_t>(port);
}

// SA `index` of a direction as seen here (at_peer false) or, for the far gateway's outbound SA
// that our inbound SA `index` opens, as the peer holds it (at_peer true).
dp::SaParams Flows::sa(unsigned index, dp::SaDirection direction, bool at_peer) const {
  dp::SaParams p;
  bool ours_out = direction == dp::SaDirection::kOutbound && !at_peer;
  p.name = (direction == dp::SaDirection::kOutbound && !at_peer ? "o" : "i") + std::to_string(index);
  p.spi = (ours_out ? 0x10000u : 0x400000u) + index;
  p.direction = direction;
  p.mode = config.mode;
  p.family = config.family;
  bool from_us = !at_peer;  // the SA's packets travel gateway -> peer
  if (direction == dp::SaDirection::kInbound) from_us = false;
  auto us = config.family == dp::IpFamily::kIpv4 ? v4(ip4(198, 51, 100, 1)) : v6(0xff, 1);
  auto peer = config.family == dp::IpFamily::kIpv4 ? v4(ip4(198, 51, 100, 2)) : v6(0xff, 2);
  p.tunnel_source = from_us ? us : peer;
  p.tunnel_destination = from_us ? peer : us;
  p.key_length = config.key_length;
  uint32_t seed = p.spi;
  for (unsigned k = 0; k < config.key_length; ++k) p.key[k] = std::byte{static_cast<uint8_t>(seed * 7 + k)};
  p.salt = {std::byte{0xca}, std::byte{0xfe}, std::byte(static_cast<uint8_t>(seed >> 8)), std::byte(static_cast<uint8_t>(seed))};
  p.replay_window = 4096;
  return p;
}

dp::PolicySpec Flows::policy(unsigned index, dp::SaDirection direction) const {
  dp::PolicySpec p;
  p.name = std::string(direction == dp::SaDirection::kOutbound ? "o" : "i") + std::to_string(index);
  p.direction = direction;
  p.family = config.family;
  p.action = config.clear ? dp::PolicyAction::kBypass : dp::PolicyAction::kProtect;
  if (!config.clear) p.sa = p.name;
  bool one = config.sas == 1;  // one SA: the whole site behind one policy
  bool out = direction == dp::SaDirection::kOutbound;
  if (config.family == dp::IpFamily::kIpv4) {
    dp::Ipv4Prefix site = one ? dp::Ipv4Prefix{kSiteB, 15} : dp::Ipv4Prefix{kSiteB + index / kPortsPerAddress, 32};
    dp::Ipv4Prefix host{ip4(192, 0, 2, 0), 24};
    p.source = out ? host : site;
    p.destination = out ? site : host;
  } else {
    dp::Ipv6Prefix site{v6(2, index / kPortsPerAddress), static_cast<uint8_t>(one ? 64 : 128)};
    dp::Ipv6Prefix host{v6(1, 0), 64};
    p.source6 = out ? host : site;
    p.destination6 = out ? site : host;
  }
  if (!one) {
    p.any_protocol = false;
    p.protocol = IPPROTO_UDP;
    uint16_t port = flow_port(index);
    if (out)
      p.destination_port_low = p.destination_port_high = port;
    else
      p.source_port_low = p.source_port_high = port;
  }
  return p;
}

PipelineRig::PipelineRig(const RunConfig& config, rte_mempool* pool) : config_(config), flows_(config_), pool_(pool) {
  static unsigned rigs = 0;
  std::string tag = "rb" + std::to_string(rigs++);
  in_ = dp::create_ring_port_pair(tag + "_in", SOCKET_ID_ANY).value();
  out_ = dp::create_ring_port_pair(tag + "_out", SOCKET_ID_ANY).value();
  if (!dp::start_port(in_.b, pool_, 1) || !dp::start_port(out_.b, pool_, 1)) std::abort();
  dp::GatewaySpec spec;
  spec.worker_lcores = {1};
  spec.mbufs = 8191;
  spec.burst = config.burst;
  spec.max_sas = 2 * config.sas + 16;
  // A jumbo MTU on the public side: no size up to 1518 is fragmented, so every row, ours and
  // the baselines', carries one ESP packet per packet (fragmentation is a test's subject, not
  // this bench's).
  spec.ports = {dp::ipv4_port("inside", in_.a_name, dp::PortRole::kProtected, {ip4(192, 0, 2, 1), 24}),
                dp::ipv4_port("outside", out_.a_name, dp::PortRole::kPublic, {ip4(198, 51, 100, 1), 24}, 9000)};
  dp::NeighbourSpec peer, host;
  std::memcpy(peer.mac.data(), kPeerMac.addr_bytes, 6);
  std::memcpy(host.mac.data(), kHostMac.addr_bytes, 6);
  if (config.family == dp::IpFamily::kIpv4) {
    spec.routes = {dp::ipv4_route({kSiteB, 15}, ip4(198, 51, 100, 2), 1)};
    peer.address = ip4(198, 51, 100, 2);
    host.address = ip4(192, 0, 2, 10);
  } else {
    spec.ports[0].has_address6 = spec.ports[1].has_address6 = true;
    spec.ports[0].address6 = {v6(1, 1), 64};
    spec.ports[1].address6 = {v6(0xff, 1), 64};
    dp::RouteSpec route;
    route.family = dp::IpFamily::kIpv6;
    route.destination6 = {v6(2, 0), 64};
    route.gateway6 = v6(0xff, 2);
    route.port = 1;
    spec.routes = {route};
    peer.family = host.family = dp::IpFamily::kIpv6;
    peer.address6 = v6(0xff, 2);
    host.address6 = v6(1, 0x10);
  }
  spec.neighbours = {peer, host};
  for (unsigned i = 0; i < config.sas; ++i) {
    if (!config.clear) {
      spec.sas.push_back(flows_.sa(i, dp::SaDirection::kOutbound, false));
      spec.sas.push_back(flows_.sa(i, dp::SaDirection::kInbound, false));
    }
    spec.policies.push_back(flows_.policy(i, dp::SaDirection::kOutbound));
    spec.policies.push_back(flows_.policy(i, dp::SaDirection::kInbound));
  }
  auto gw = dp::Gateway::create(spec);
  if (!gw) {
    std::fprintf(stderr, "rampart-bench: %s\n", gw.message().c_str());
    std::exit(1);
  }
  gw_ = std::move(*gw);
  worker_ = std::make_unique<dp::Worker>(gw_->attach_worker(0), crypto::MbManager::create().value());
  mb_ = std::make_unique<crypto::MbManager>(crypto::MbManager::create().value());
  if (config.mode == dp::SaMode::kTunnel && !config.clear)
    for (unsigned i = 0; i < config.sas; ++i)
      peer_.push_back(std::move(dp::create_sa(*mb_, flows_.sa(i, dp::SaDirection::kOutbound, true)).value()));
  rte_eth_macaddr_get(in_.a, &inside_mac_);
  rte_eth_macaddr_get(out_.a, &outside_mac_);
}

PipelineRig::~PipelineRig() {
  drain(in_.b);
  drain(out_.b);
  gw_->shutdown();
  dp::close_ring_port_pair(in_);
  dp::close_ring_port_pair(out_);
  worker_.reset();  // it detaches from the gateway
  gw_.reset();
}

Measurement PipelineRig::run(Direction direction, const SizeSpec& size, const Slice& slice) {
  Measurement m;
  bool outbound = direction == Direction::kOutbound;
  uint64_t budget = static_cast<uint64_t>(slice.seconds * static_cast<double>(rte_get_tsc_hz()));
  uint64_t dropped_before = dropped();
  uint16_t ether_type = config_.family == dp::IpFamily::kIpv4 ? RTE_ETHER_TYPE_IPV4 : RTE_ETHER_TYPE_IPV6;
  CounterTable peer_drops(dp::kDropReasonDefs, 1);
  dp::EspContext peer{mb_.get(), &peer_drops.lane(0), nullptr};
  uint64_t flow = slice.first_flow;
  const unsigned burst = config_.burst;
  while (m.cycles < budget) {
    rte_mbuf* pkts[dp::kMaxBurst];
    if (rte_pktmbuf_alloc_bulk(pool_, pkts, burst) != 0) std::abort();
    for (unsigned i = 0; i < burst; ++i, ++flow) {
      uint16_t length = size.lengths[flow % size.lengths.size()];
      m.ip_bytes += length;
      auto* inner = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(pkts[i], length));
      flows_.inner_packet(inner, length, static_cast<unsigned>(flow), outbound);
      if (!outbound && !config_.clear) {  // the peer seals it (untimed): our inbound pipeline opens it
        dp::Burst one;
        one.pkts[0] = pkts[i];
        one.sa[0] = peer_[flow % config_.sas].get();
        one.count = 1;
        if (dp::esp_outbound_burst(peer, one) != 1) std::abort();
      }
      auto* eth = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(pkts[i], 14));
      std::memcpy(eth, (outbound ? inside_mac_ : outside_mac_).addr_bytes, 6);
      std::memcpy(eth + 6, (outbound ? kHostMac : kPeerMac).addr_bytes, 6);
      eth[12] = static_cast<uint8_t>(ether_type >> 8);
      eth[13] = static_cast<uint8_t>(ether_type);
    }
    uint16_t from = outbound ? in_.b : out_.b;
    if (rte_eth_tx_burst(from, 0, pkts, static_cast<uint16_t>(burst)) != burst) std::abort();
    m.sent += burst;
    uint64_t t0 = rte_rdtsc_precise();
    worker_->poll_once();
    m.cycles += rte_rdtsc_precise() - t0;
    m.packets += drain(outbound ? out_.b : in_.b);
  }
  m.dropped = dropped() - dropped_before;
  return m;
}

uint64_t PipelineRig::drain(uint16_t port) {
  rte_mbuf* m[64];
  uint64_t total = 0;
  uint16_t n;
  while ((n = rte_eth_rx_burst(port, 0, m, 64)) > 0) {
    rte_pktmbuf_free_bulk(m, n);
    total += n;
  }
  return total;
}

uint64_t PipelineRig::dropped() const {
  uint64_t n = 0;
  for (const auto& c : gw_->counters())
    if (c.name.rfind("drop_", 0) == 0) n += c.value;
  return n;
}

}  // namespace rampart::bench
