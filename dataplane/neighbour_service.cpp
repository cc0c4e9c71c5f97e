#include "dataplane/neighbour_service.hpp"

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <cstring>

#include "dataplane/ethernet.hpp"

namespace rampart::dp {

namespace {

constexpr uint32_t kTableCapacity = 1024;
constexpr size_t kMaxHeld = 256;  // RFC 1122 2.3.2.2 asks for at least one per address

bool in_prefix(uint32_t address, const Ipv4Prefix& prefix) {
  uint32_t mask = prefix.length == 0 ? 0 : ~uint32_t{0} << (32 - prefix.length);
  return (address & mask) == (prefix.address & mask);
}

}  // namespace

Result<std::unique_ptr<NeighbourService>> NeighbourService::create(const std::string& name, const std::vector<Port>& ports,
                                                                   const std::vector<NeighbourSpec>& known,
                                                                   rte_mempool* pool, ControlOutput out) {
  std::unique_ptr<NeighbourService> service(new NeighbourService(ports, pool, out));
  auto table = NeighbourTable::create(name, kTableCapacity);
  if (!table) return table.error();
  service->table_ = std::move(*table);
  for (const NeighbourSpec& n : known) {
    rte_ether_addr mac;
    std::memcpy(mac.addr_bytes, n.mac.data(), RTE_ETHER_ADDR_LEN);
    if (n.family == IpFamily::kIpv4)
      service->table_->learn(n.address, mac);
    else
      service->table_->learn6(n.address6.data(), mac);
  }
  return service;
}

NeighbourService::~NeighbourService() { release(); }

void NeighbourService::receive(rte_mbuf* m) {
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP))
    receive_arp(m);
  else
    receive_nd(m);
}

void NeighbourService::hold(rte_mbuf* m, uint64_t now) {
  if (held_.size() >= kMaxHeld) return out_.drop(m, DropReason::kNoNeighbour);
  held_.push_back({m, now + rte_get_tsc_hz()});
}

// The control core's own packets are few and each matters (an IKE message, a reply): they wait
// beside the workers' however many those are.
void NeighbourService::send(rte_mbuf* m, uint64_t now) {
  HeldPacket h{m, now + rte_get_tsc_hz()};
  if (!try_release(h, now)) held_.push_back(h);
}

void NeighbourService::poll(uint64_t now) {
  size_t kept = 0;
  for (HeldPacket& h : held_) {
    if (try_release(h, now)) continue;
    if (now > h.deadline) {
      out_.drop(h.mbuf, DropReason::kNoNeighbour);
      continue;
    }
    held_[kept++] = h;
  }
  held_.resize(kept);
}

size_t NeighbourService::release() {
  size_t n = held_.size();
  for (HeldPacket& h : held_) rte_pktmbuf_free(h.mbuf);
  held_.clear();
  return n;
}

bool NeighbourService::try_release(HeldPacket& h, uint64_t now) {
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
    const NextHop6* hop = routes_->lookup6(ip->dst_addr);
    if (hop == nullptr) {  // the routes changed while it waited
      out_.drop(h.mbuf, DropReason::kNoRoute);
      return true;
    }
    port = hop->port;
    next6 = hop->on_link ? ip->dst_addr : hop->gateway.data();
    known = table_->lookup6(next6, mac);
    key.assign(reinterpret_cast<const char*>(next6), 16);
  } else {
    const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(p);
    uint32_t destination = rte_be_to_cpu_32(ip->dst_addr);
    const NextHop* hop = routes_->lookup(destination);
    if (hop == nullptr) {
      out_.drop(h.mbuf, DropReason::kNoRoute);
      return true;
    }
    port = hop->port;
    next4 = hop->gateway ? hop->gateway : destination;
    known = table_->lookup(next4, mac);
    key.assign(reinterpret_cast<const char*>(&next4), 4);
  }
  if (known) {
    if (!prepend_ethernet(h.mbuf, mac, ports_[port].mac, v6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4)) {
      out_.drop(h.mbuf, DropReason::kNoHeadroom);
      return true;
    }
    h.mbuf->port = port;
    out_.send(h.mbuf);
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
void NeighbourService::receive_arp(rte_mbuf* m) {
  const Port& port = ports_[m->port];
  if (rte_pktmbuf_data_len(m) < sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr)) return out_.drop(m, DropReason::kBadNeighbourMessage);
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
  if (arp->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) || arp->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
      arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != 4)
    return out_.drop(m, DropReason::kBadNeighbourMessage);
  uint32_t sender = rte_be_to_cpu_32(arp->arp_data.arp_sip);
  uint32_t target = rte_be_to_cpu_32(arp->arp_data.arp_tip);
  if (in_prefix(sender, port.spec.address) && sender != port.spec.address.address)
    table_->learn(sender, arp->arp_data.arp_sha);
  if (arp->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) && target == port.spec.address.address) {
    arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
    arp->arp_data.arp_tha = arp->arp_data.arp_sha;
    arp->arp_data.arp_tip = arp->arp_data.arp_sip;
    arp->arp_data.arp_sha = port.mac;
    arp->arp_data.arp_sip = rte_cpu_to_be_32(port.spec.address.address);
    eth->dst_addr = eth->src_addr;
    eth->src_addr = port.mac;
    out_.send(m);
    return;
  }
  out_.drop(m, DropReason::kNeighbourMessage);
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
void NeighbourService::receive_nd(rte_mbuf* m) {
  const Port& port = ports_[m->port];
  uint32_t length = rte_pktmbuf_data_len(m);
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  auto* ip = reinterpret_cast<rte_ipv6_hdr*>(eth + 1);
  if (length < sizeof(rte_ether_hdr) + sizeof(rte_ipv6_hdr) + kNdHeader || ip->hop_limits != 255 ||
      rte_be_to_cpu_16(ip->payload_len) < kNdHeader ||
      rte_be_to_cpu_16(ip->payload_len) + sizeof(rte_ether_hdr) + sizeof(rte_ipv6_hdr) > length)
    return out_.drop(m, DropReason::kBadNeighbourMessage);
  auto* nd = reinterpret_cast<uint8_t*>(ip + 1);
  unsigned nd_length = rte_be_to_cpu_16(ip->payload_len);
  const uint8_t* target = nd + 8;
  const uint8_t* options = nd + kNdHeader;
  unsigned options_length = nd_length - kNdHeader;
  static const uint8_t kUnspecified[16] = {};
  if (nd[0] == kNeighbourAdvertisement) {
    if (const uint8_t* mac = nd_option(options, options_length, kTargetLinkLayer))
      table_->learn6(target, *reinterpret_cast<const rte_ether_addr*>(mac));
    return out_.drop(m, DropReason::kNeighbourMessage);
  }
  if (nd[0] != kNeighbourSolicitation) return out_.drop(m, DropReason::kBadNeighbourMessage);
  const uint8_t* source_mac = nd_option(options, options_length, kSourceLinkLayer);
  bool from_unspecified = std::memcmp(ip->src_addr, kUnspecified, 16) == 0;
  if (source_mac && !from_unspecified)
    table_->learn6(ip->src_addr, *reinterpret_cast<const rte_ether_addr*>(source_mac));
  if (!port.spec.has_address6 || std::memcmp(target, port.spec.address6.address.data(), 16) != 0)
    return out_.drop(m, DropReason::kNeighbourMessage);
  // The advertisement, in the same mbuf: to the solicitor (or all nodes, RFC 4861 7.2.4).
  uint16_t port_index = m->port;
  rte_pktmbuf_reset(m);  // which also forgets the port
  m->port = port_index;
  uint8_t solicitor[16];
  std::memcpy(solicitor, ip->src_addr, 16);
  rte_ether_addr solicitor_mac = eth->src_addr;
  auto* out = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, kNdMessageLength));
  if (out == nullptr) return out_.drop(m, DropReason::kNoTailroom);
  static const uint8_t kAllNodes[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  write_nd_message(out, port, solicitor_mac, from_unspecified ? kAllNodes : solicitor, kNeighbourAdvertisement,
                   from_unspecified ? 0x20 : 0x60,  // Solicited (unless DAD) and Override
                   port.spec.address6.address.data(), kTargetLinkLayer);
  out_.send(m);
}

void NeighbourService::send_neighbour_solicitation(uint16_t port_index, const uint8_t* target) {
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
  out_.generated();
  out_.send(m);
}

void NeighbourService::send_arp_request(uint16_t port_index, uint32_t target) {
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
  out_.generated();
  out_.send(m);
}

}  // namespace rampart::dp
