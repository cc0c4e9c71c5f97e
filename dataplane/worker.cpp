#include "dataplane/worker.hpp"

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_ring.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring_elem.h>

#include <algorithm>
#include <cstring>

#include "dataplane/checksum.hpp"
#include "dataplane/esp_inbound.hpp"
#include "dataplane/esp_outbound.hpp"
#include "dataplane/ethernet.hpp"
#include "dataplane/ip_fragment.hpp"
#include "dataplane/ip_reassembly.hpp"
#include "dataplane/ipv6_chain.hpp"
#include "dataplane/local_delivery.hpp"
#include "dataplane/path_counter.hpp"
#include "dataplane/port.hpp"
#include "dataplane/routes.hpp"
#include "dataplane/sa.hpp"
#include "dataplane/sad.hpp"
#include "dataplane/spd.hpp"
#include "dataplane/tables.hpp"
#include "dataplane/tsan.hpp"
#include "dataplane/update_channel.hpp"
#include "dataplane/wire_headers.hpp"

namespace rampart::dp {

namespace {

constexpr unsigned kEthernetLength = sizeof(rte_ether_hdr);

// RFC 1624 incremental update for a TTL decrement: the checksum rises by 0x0100.
inline bool decrement_ttl(rte_ipv4_hdr* ip) noexcept {
  if (ip->time_to_live <= 1) return false;
  --ip->time_to_live;
  uint32_t sum = rte_be_to_cpu_16(ip->hdr_checksum) + 0x0100u;
  ip->hdr_checksum = rte_cpu_to_be_16(static_cast<uint16_t>(sum + (sum >> 16)));
  return true;
}

inline void spd_key_of(const rte_ipv4_hdr* ip, uint32_t l3_length, SpdKey& key) noexcept {
  key.protocol = ip->next_proto_id;
  key.pad[0] = key.pad[1] = key.pad[2] = 0;
  key.source = ip->src_addr;
  key.destination = ip->dst_addr;
  key.source_port = key.destination_port = 0;
  unsigned ihl = (ip->version_ihl & 0x0f) * 4u;
  bool first_fragment = (rte_be_to_cpu_16(ip->fragment_offset) & RTE_IPV4_HDR_OFFSET_MASK) == 0;
  if ((key.protocol == IPPROTO_TCP || key.protocol == IPPROTO_UDP || key.protocol == IPPROTO_SCTP) && first_fragment &&
      l3_length >= ihl + 4) {
    const uint8_t* ports = reinterpret_cast<const uint8_t*>(ip) + ihl;
    std::memcpy(&key.source_port, ports, 2);
    std::memcpy(&key.destination_port, ports + 2, 2);
  }
}

// An IPv4 frame's header checksum, before anything reads the header further (fragments too:
// reassembly would carry a damaged first header on). Frames too short for the header they claim
// pass here and meet their length checks later.
inline bool ipv4_checksum_ok(const rte_mbuf* m) noexcept {
  uint32_t length = rte_pktmbuf_data_len(m);
  if (length < kEthernetLength + sizeof(rte_ipv4_hdr)) return true;
  const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
  if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) return true;
  const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(eth + 1);
  unsigned ihl = (ip->version_ihl & 0x0f) * 4u;
  if (ihl < sizeof(rte_ipv4_hdr) || kEthernetLength + ihl > length) return true;
  return ipv4_header_checksum_ok(m, ip, ihl);
}

constexpr uint8_t kEcho6Request = 128;
constexpr uint8_t kEcho6Reply = 129;
constexpr uint8_t kNeighbourSolicitation = 135;
constexpr uint8_t kNeighbourAdvertisement = 136;

// TTL or hop limit, whichever the packet (at its IP header) has.
inline bool decrement_hop_limit(rte_mbuf* m) noexcept {
  auto* p = rte_pktmbuf_mtod(m, uint8_t*);
  if ((p[0] >> 4) == 4) return decrement_ttl(reinterpret_cast<rte_ipv4_hdr*>(p));
  auto* ip6 = reinterpret_cast<rte_ipv6_hdr*>(p);
  if (ip6->hop_limits <= 1) return false;
  --ip6->hop_limits;  // no header checksum in IPv6
  return true;
}

inline uint32_t ip_length(const rte_mbuf* m) noexcept {
  const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
  if ((p[0] >> 4) == 4) return rte_be_to_cpu_16(reinterpret_cast<const rte_ipv4_hdr*>(p)->total_length);
  return rte_be_to_cpu_16(reinterpret_cast<const rte_ipv6_hdr*>(p)->payload_len) + sizeof(rte_ipv6_hdr);
}

inline void spd_key6_of(const rte_mbuf* m, SpdKey6& key) noexcept {
  const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
  const auto* ip6 = reinterpret_cast<const rte_ipv6_hdr*>(p);
  uint32_t length = rte_pktmbuf_data_len(m);
  Ipv6Chain chain = walk_ipv6_chain(p, length, /*inbound=*/true);
  key.protocol = chain.next;
  key.pad[0] = key.pad[1] = key.pad[2] = 0;
  std::memcpy(key.source, ip6->src_addr, 16);
  std::memcpy(key.destination, ip6->dst_addr, 16);
  key.source_port = key.destination_port = 0;
  if (chain.ok && !chain.fragment &&
      (chain.next == IPPROTO_TCP || chain.next == IPPROTO_UDP || chain.next == IPPROTO_SCTP) &&
      length >= chain.insert_at + 4) {
    std::memcpy(&key.source_port, p + chain.insert_at, 2);
    std::memcpy(&key.destination_port, p + chain.insert_at + 2, 2);
  }
}

// An ICMPv6 echo request to us becomes the reply in place (RFC 4443 4.2).
inline void make_echo6_reply(rte_ether_hdr* eth, rte_ipv6_hdr* ip6) noexcept {
  rte_ether_addr mac = eth->src_addr;
  eth->src_addr = eth->dst_addr;
  eth->dst_addr = mac;
  uint8_t source[16];
  std::memcpy(source, ip6->src_addr, 16);
  std::memcpy(ip6->src_addr, ip6->dst_addr, 16);
  std::memcpy(ip6->dst_addr, source, 16);
  ip6->hop_limits = 64;
  auto* icmp = reinterpret_cast<uint8_t*>(ip6 + 1);
  icmp[0] = kEcho6Reply;
  icmp[2] = icmp[3] = 0;
  uint16_t sum = rte_ipv6_udptcp_cksum(ip6, icmp);
  std::memcpy(icmp + 2, &sum, 2);
}

// An ICMP echo request to us becomes the reply in place (RFC 792).
inline void make_echo_reply(rte_ether_hdr* eth, rte_ipv4_hdr* ip, rte_icmp_hdr* icmp) noexcept {
  rte_ether_addr mac = eth->src_addr;
  eth->src_addr = eth->dst_addr;
  eth->dst_addr = mac;
  uint32_t source = ip->src_addr;
  ip->src_addr = ip->dst_addr;
  ip->dst_addr = source;
  ip->time_to_live = 64;
  ip->hdr_checksum = 0;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
  // Type 8 -> 0 lowers the sum by 0x0800: add it back (RFC 1624).
  uint32_t sum = rte_be_to_cpu_16(icmp->icmp_cksum) + 0x0800u;
  icmp->icmp_cksum = rte_cpu_to_be_16(static_cast<uint16_t>(sum + (sum >> 16)));
}

}  // namespace

Worker::Worker(WorkerContext context, crypto::MbManager mb)
    : ctx_(std::move(context)),
      tables_(ctx_.tables),
      local_ports_(ctx_.local_ports),
      slots_(std::make_unique<SaRuntime*[]>(ctx_.slots.size())),
      updates_(ctx_.updates->ring(ctx_.index)),
      qsbr_(ctx_.updates->qsbr()),
      mb_(std::move(mb)),
      drops_(*ctx_.drops),
      paths_(*ctx_.paths),
      esp_{&mb_, &drops_, ctx_.events, 0, ctx_.index},
      tracer_(static_cast<uint16_t>(ctx_.index), ctx_.traces, *ctx_.trace_budget),
      reassembly_(*ctx_.reassembler),
      handoff_(ctx_.handoff_to, ctx_.handoff_from) {
  std::copy(ctx_.slots.begin(), ctx_.slots.end(), slots_.get());
}

Worker::~Worker() { ctx_.updates->detach(ctx_.index); }

// Between passes the worker holds no table, SA or policy; so applying the updates here and then
// reporting quiescence tells the control core that what they replaced is out of its hands.
void Worker::apply_updates() noexcept {
  Update updates[32];
  unsigned n;
  while ((n = rte_ring_dequeue_burst_elem(updates_, updates, sizeof(Update), 32, nullptr)) != 0) {
    tsan_acquire(updates_);  // what the updates point at was built before they were sent
    for (unsigned i = 0; i < n; ++i) {
      const Update& u = updates[i];
      switch (u.kind) {
        case UpdateKind::kTables: tables_ = static_cast<const Tables*>(u.object); break;
        case UpdateKind::kBindSlot: slots_[u.slot] = const_cast<SaRuntime*>(static_cast<const SaRuntime*>(u.object)); break;
        case UpdateKind::kLocalPorts: local_ports_ = static_cast<const LocalPorts*>(u.object); break;
      }
    }
  }
  rte_rcu_qsbr_quiescent(qsbr_, ctx_.index);
}

void Worker::run() noexcept {
  while (!ctx_.stop->load(std::memory_order_relaxed)) poll_once();
  flush();
  // What an owner had no room for when the gateway stopped.
  handoff_.abandon([this](rte_mbuf* m) { drop(m, DropReason::kShutdown); });
  free_doomed();
}

void Worker::poll_once() noexcept {
  // Busy and idle time, for "show workers": two TSC reads a pass, not a packet.
  uint64_t start = rte_rdtsc();
  uint64_t now = ctx_.clock();  // for timeouts
  apply_updates();
  tracer_.start_pass();
  hop4_.valid = hop6_.valid = false;
  uint32_t moved = 0;
  // Packets an owner had no room for go first; until they have gone, nothing new is taken in.
  if (handoff_.pending()) [[unlikely]] flush_handoffs();
  for (uint16_t p = 0; p < ctx_.port_count && !handoff_.pending(); ++p) {
    rte_mbuf* pkts[kMaxBurst];
    uint16_t n = rte_eth_rx_burst(ctx_.ports[p].id, static_cast<uint16_t>(ctx_.index), pkts, ctx_.burst);
    if (n == 0) continue;
    tsan_acquire_packets(pkts, n);
    moved += n;
    paths_.add(PathCounter::kRx, n);
    process(p, pkts, n, now);
    // What reassembly gave up on in this burst: its death row holds one burst's worth, no more.
    if (uint32_t given_up = reassembly_.release(now)) [[unlikely]] drops_.add(DropReason::kReassembly, given_up);
  }
  // What timed out, even when nothing came: a couple of loads when there is nothing to free.
  if (uint32_t given_up = reassembly_.release(now)) [[unlikely]] drops_.add(DropReason::kReassembly, given_up);
  if (handoff_.workers() > 1) moved += take_handed();
  // The control core's packets (ARP replies and requests) leave through worker 0's queues.
  if (ctx_.control_tx != nullptr) {
    rte_mbuf* control[kMaxBurst];
    unsigned n = rte_ring_dequeue_burst(ctx_.control_tx, reinterpret_cast<void**>(control), kMaxBurst, nullptr);
    tsan_acquire_packets(control, n);
    for (unsigned i = 0; i < n; ++i) send_on(control[i]->port, control[i]);
  }
  flush();
  if (tracer_.active()) [[unlikely]] tracer_.end_pass();
  uint64_t spent = rte_rdtsc() - start;
  if (moved) {
    paths_.add(PathCounter::kBusyCycles, spent);
    paths_.add(PathCounter::kBusyPolls);
  } else {
    paths_.add(PathCounter::kIdleCycles, spent);
  }
}

void Worker::drop(rte_mbuf* m, DropReason reason) noexcept {
  if (tracer_.active()) [[unlikely]] tracer_.finish(m, TraceVerdict::kDropped, reason);
  drops_.add(reason);
  if (doomed_count_ == kDoomedMax) [[unlikely]] free_doomed();
  doomed_[doomed_count_++] = m;
}

void Worker::free_doomed() noexcept {
  rte_pktmbuf_free_bulk(doomed_, doomed_count_);
  doomed_count_ = 0;
}

void Worker::process(uint16_t port_index, rte_mbuf** pkts, uint16_t count, uint64_t now) noexcept {
  const Port& port = ctx_.ports[port_index];
  const bool is_public = port.spec.role == PortRole::kPublic;
  const uint32_t our_address = rte_cpu_to_be_32(port.spec.address.address);

  rte_mbuf* to_control[kMaxBurst];
  unsigned control_count = 0;
  rte_mbuf* esp_in[kMaxBurst];
  uint16_t spi_at[kMaxBurst];  // where each inbound packet's SPI is, from the IP header
  uint16_t esp_in_count = 0;
  rte_mbuf* transit[kMaxBurst];
  SpdKey keys[kMaxBurst];
  const SpdKey* key_ptrs[kMaxBurst];
  uint16_t transit_count = 0;
  rte_mbuf* transit6[kMaxBurst];
  SpdKey6 keys6[kMaxBurst];
  const SpdKey6* key6_ptrs[kMaxBurst];
  uint16_t transit6_count = 0;

  // UDP to us: ESP in UDP for the inbound path (RFC 3948: on 4500, four zero bytes mark what is
  // not ESP), a local service's datagram for the control core, else nobody. Returns false when
  // the packet is not one of these. ESP's UDP checksum is the inbound path's to verify; a
  // service's is verified here.
  auto udp_to_us = [&]<bool kIpv6>(rte_mbuf* m, const void* ip, const uint8_t* l4, uint32_t l4_length, unsigned l4_at) {
    if (l4_length < 8) return false;
    const auto* udp = reinterpret_cast<const rte_udp_hdr*>(l4);
    uint16_t dport = rte_be_to_cpu_16(udp->dst_port);
    bool non_esp_marker = l4_length >= 12 && l4[8] == 0 && l4[9] == 0 && l4[10] == 0 && l4[11] == 0;
    if (is_public && dport == kEspInUdpPort && !non_esp_marker) {
      if (l4_length == 9 && l4[8] == 0xff) [[unlikely]]  // RFC 3948 2.3: a NAT keepalive, one 0xFF byte
        drop(m, DropReason::kNatKeepalive);
      else if (l4_length < 8 + 8) [[unlikely]]  // not even an SPI and a sequence number
        drop(m, DropReason::kRunt);
      else {
        spi_at[esp_in_count] = static_cast<uint16_t>(l4_at + 8);
        esp_in[esp_in_count++] = m;
      }
      return true;
    }
    if (local_ports_->delivers(dport)) {
      uint16_t udp_length = rte_be_to_cpu_16(udp->dgram_len);
      if (udp_length < sizeof(rte_udp_hdr) || udp_length > l4_length) [[unlikely]]
        drop(m, DropReason::kBadLength);
      else if (!udp_checksum_ok<kIpv6>(m, ip, udp) || (kIpv6 && udp->dgram_cksum == 0)) [[unlikely]]
        drop(m, DropReason::kBadChecksum);  // over IPv6 a datagram is no tunnel: zero is not allowed (RFC 8200 8.1)
      else
        to_control[control_count++] = m;
      return true;
    }
    return false;
  };

  // A fragment addressed to us waits for the rest of its packet (ip_reassembly.hpp); the whole
  // packet then goes on as if it had come in one piece.
  auto fragment_for_us = [&](const rte_mbuf* m) {
    const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
    if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
      return reinterpret_cast<const rte_ipv4_hdr*>(eth + 1)->dst_addr == our_address;
    return port.spec.has_address6 &&
           std::memcmp(reinterpret_cast<const rte_ipv6_hdr*>(eth + 1)->dst_addr, port.spec.address6.address.data(), 16) == 0;
  };
  if (tracer_.active()) [[unlikely]]
    for (uint16_t i = 0; i < count; ++i) tracer_.capture(pkts[i], port_index);
  for (uint16_t i = 0; i < count; ++i) {
    rte_mbuf* m = pkts[i];
    if (i + 1 < count) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void*));
    if (!ipv4_checksum_ok(m)) [[unlikely]] {
      drop(m, DropReason::kBadChecksum);
      continue;
    }
    if (Reassembler::is_fragment(m) && (fragment_for_us(m) || (is_public && Reassembler::carries_esp(m)))) [[unlikely]] {
      m = reassembly_.add(m, now);
      if (uint32_t merged = reassembly_.take_merged()) paths_.add(PathCounter::kMergedFragments, merged);
      if (m == nullptr) continue;
      paths_.add(PathCounter::kReassembled);
    }
    m->port = port_index;
    uint32_t length = rte_pktmbuf_data_len(m);
    if (length < kEthernetLength) [[unlikely]] {
      drop(m, DropReason::kRunt);
      continue;
    }
    auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
    uint16_t type = rte_be_to_cpu_16(eth->ether_type);
    uint32_t l3_length = length - kEthernetLength;
    if (type == RTE_ETHER_TYPE_ARP) {
      to_control[control_count++] = m;
      continue;
    }
    if (type == RTE_ETHER_TYPE_IPV6) {
      auto* ip6 = reinterpret_cast<rte_ipv6_hdr*>(eth + 1);
      if (l3_length < sizeof(rte_ipv6_hdr) || (ip6->vtc_flow & rte_cpu_to_be_32(0xf0000000)) != rte_cpu_to_be_32(0x60000000) ||
          rte_be_to_cpu_16(ip6->payload_len) + sizeof(rte_ipv6_hdr) > l3_length) [[unlikely]] {
        drop(m, l3_length < sizeof(rte_ipv6_hdr) ? DropReason::kRunt : DropReason::kBadLength);
        continue;
      }
      l3_length = rte_be_to_cpu_16(ip6->payload_len) + sizeof(rte_ipv6_hdr);
      Ipv6Chain chain = walk_ipv6_chain(reinterpret_cast<const uint8_t*>(ip6), l3_length, /*inbound=*/true);
      if (!chain.ok) [[unlikely]] {
        drop(m, DropReason::kBadLength);
        continue;
      }
      const uint8_t* l4 = reinterpret_cast<const uint8_t*>(ip6) + chain.insert_at;
      uint32_t l4_length = l3_length - chain.insert_at;
      bool ours = port.spec.has_address6 && std::memcmp(ip6->dst_addr, port.spec.address6.address.data(), 16) == 0;
      bool multicast = ip6->dst_addr[0] == 0xff;
      if (ours || multicast) {
        if (chain.next == IPPROTO_ICMPV6 && l4_length >= 4) {
          uint8_t icmp_type = l4[0];
          if (icmp_type == kNeighbourSolicitation || icmp_type == kNeighbourAdvertisement) {
            to_control[control_count++] = m;
            continue;
          }
          if (ours && icmp_type == kEcho6Request && chain.insert_at == sizeof(rte_ipv6_hdr)) {
            make_echo6_reply(eth, ip6);
            paths_.add(PathCounter::kEchoReplies);
            send_on(port_index, m);
            continue;
          }
        }
        if (ours && is_public && chain.next == IPPROTO_ESP) {
          spi_at[esp_in_count] = static_cast<uint16_t>(chain.insert_at);
          esp_in[esp_in_count++] = m;
          continue;
        }
        if (ours && chain.next == IPPROTO_UDP && udp_to_us.template operator()<true>(m, ip6, l4, l4_length, chain.insert_at))
          continue;
        drop(m, DropReason::kNotForUs);
        continue;
      }
      if (is_public && chain.next == IPPROTO_ESP) [[unlikely]] {  // transport mode for a host behind us
        spi_at[esp_in_count] = static_cast<uint16_t>(chain.insert_at);
        esp_in[esp_in_count++] = m;
        continue;
      }
      SpdKey6& key = keys6[transit6_count];
      key.protocol = chain.next;
      key.pad[0] = key.pad[1] = key.pad[2] = 0;
      std::memcpy(key.source, ip6->src_addr, 16);
      std::memcpy(key.destination, ip6->dst_addr, 16);
      key.source_port = key.destination_port = 0;
      if ((chain.next == IPPROTO_TCP || chain.next == IPPROTO_UDP || chain.next == IPPROTO_SCTP) && !chain.fragment &&
          l4_length >= 4) {
        std::memcpy(&key.source_port, l4, 2);
        std::memcpy(&key.destination_port, l4 + 2, 2);
      }
      key6_ptrs[transit6_count] = &key;
      transit6[transit6_count++] = m;
      continue;
    }
    if (type != RTE_ETHER_TYPE_IPV4) [[unlikely]] {
      drop(m, DropReason::kUnsupported);
      continue;
    }
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
    unsigned ihl = (ip->version_ihl & 0x0f) * 4u;
    if (l3_length < sizeof(rte_ipv4_hdr) || (ip->version_ihl >> 4) != 4 || ihl < sizeof(rte_ipv4_hdr) ||
        rte_be_to_cpu_16(ip->total_length) > l3_length || ihl > l3_length) [[unlikely]] {
      drop(m, l3_length < sizeof(rte_ipv4_hdr) ? DropReason::kRunt : DropReason::kBadLength);
      continue;
    }
    if (ip->dst_addr == our_address) {
      const uint8_t* l4 = reinterpret_cast<const uint8_t*>(ip) + ihl;
      uint32_t l4_length = rte_be_to_cpu_16(ip->total_length) - ihl;
      if (ip->next_proto_id == IPPROTO_ICMP && l4_length >= sizeof(rte_icmp_hdr) &&
          reinterpret_cast<const rte_icmp_hdr*>(l4)->icmp_type == RTE_IP_ICMP_ECHO_REQUEST) {
        make_echo_reply(eth, ip, reinterpret_cast<rte_icmp_hdr*>(const_cast<uint8_t*>(l4)));
        paths_.add(PathCounter::kEchoReplies);
        send_on(port_index, m);
        continue;
      }
      if (is_public && ip->next_proto_id == IPPROTO_ESP) {
        spi_at[esp_in_count] = static_cast<uint16_t>(ihl);
        esp_in[esp_in_count++] = m;
        continue;
      }
      if (ip->next_proto_id == IPPROTO_UDP && udp_to_us.template operator()<false>(m, ip, l4, l4_length, ihl)) continue;
      drop(m, DropReason::kNotForUs);
      continue;
    }
    // ESP passing through on the public side is for a transport-mode SA of a host behind us
    // (Rampart as its bump in the wire, RFC 4301 3.3): the SAD decides by SPI, and the inbound
    // policy check after decryption that the packet is the SA's (5.2).
    if (is_public && ip->next_proto_id == IPPROTO_ESP) [[unlikely]] {
      spi_at[esp_in_count] = static_cast<uint16_t>(ihl);
      esp_in[esp_in_count++] = m;
      continue;
    }
    spd_key_of(ip, l3_length, keys[transit_count]);
    key_ptrs[transit_count] = &keys[transit_count];
    transit[transit_count++] = m;
  }

  if (control_count) {
    tsan_release_packets(to_control, control_count);
    unsigned sent = rte_ring_enqueue_burst(ctx_.to_control, reinterpret_cast<void**>(to_control), control_count, nullptr);
    paths_.add(PathCounter::kToControl, sent);
    if (tracer_.active()) [[unlikely]]
      for (unsigned i = 0; i < sent; ++i) tracer_.finish(to_control[i], TraceVerdict::kToControl);
    for (unsigned i = sent; i < control_count; ++i) drop(to_control[i], DropReason::kControlBusy);
  }

  const Spd& spd = is_public ? *tables_->spd_in : *tables_->spd_out;
  Burst protect;
  uint32_t rule[kMaxBurst];
  if (transit_count) {
    spd.classify(key_ptrs, rule, transit_count);
    for (uint16_t i = 0; i < transit_count; ++i) transit_verdict(port_index, transit[i], rule[i], protect);
  }
  if (transit6_count) {
    spd.classify(key6_ptrs, rule, transit6_count);
    for (uint16_t i = 0; i < transit6_count; ++i) transit_verdict(port_index, transit6[i], rule[i], protect);
  }
  if (protect.count) outbound(protect);
  if (esp_in_count) {
    for (uint16_t i = 0; i < esp_in_count; ++i) rte_pktmbuf_adj(esp_in[i], kEthernetLength);
    inbound(esp_in, spi_at, esp_in_count, /*handed=*/false);
  }
  if (handoff_.pending()) flush_handoffs();
}

// What the SPD said about a packet passing through (at its Ethernet header): drop it, forward it in
// the clear, or add it to the burst to protect. Hop limits are spent here, before encryption.
void Worker::transit_verdict(uint16_t port_index, rte_mbuf* m, uint32_t rule, Burst& protect) noexcept {
  const Port& port = ctx_.ports[port_index];
  const bool is_public = port.spec.role == PortRole::kPublic;
  if (rule == kNoPolicy) {
    drop(m, is_public ? DropReason::kCleartext : DropReason::kNoPolicy);
    return;
  }
  const SpdVerdict& policy = (is_public ? *tables_->spd_in : *tables_->spd_out).verdict(rule);
  if (policy.action == PolicyAction::kDiscard) {
    drop(m, DropReason::kPolicyDiscard);
    return;
  }
  if (policy.action == PolicyAction::kProtect && is_public) {
    drop(m, DropReason::kCleartext);  // a protect policy on the public side wants ESP, not this
    return;
  }
  rte_pktmbuf_adj(m, kEthernetLength);
  if (!decrement_hop_limit(m)) {
    drop(m, DropReason::kTtlExpired);
    return;
  }
  if (policy.action == PolicyAction::kBypass) {
    paths_.add(PathCounter::kBypass);
    send_ip(m);
    return;
  }
  SaRuntime* sa = slots_[policy.slot];
  if (sa == nullptr) [[unlikely]] {
    acquire(policy.slot);
    drop(m, DropReason::kNoSa);
    return;
  }
  if (sa->owner != ctx_.index && !sa->spread) {
    tag_handed_outbound(m, policy.slot);
    hand_off(m, sa->owner);
    return;
  }
  add_to_protect(m, sa, protect);
}

void Worker::add_to_protect(rte_mbuf* m, SaRuntime* sa, Burst& protect) noexcept {
  if (protect.count == kMaxBurst) outbound(protect);
  if (ip_length(m) <= sa->max_inner) [[likely]] {
    protect.pkts[protect.count] = m;
    protect.sa[protect.count++] = sa;
    return;
  }
  too_big(m, ctx_.ports[m->port], sa->max_inner, sa, protect);
}

void Worker::hand_off(rte_mbuf* m, unsigned owner) noexcept {
  if (tracer_.active()) [[unlikely]] tracer_.finish(m, TraceVerdict::kHandedOff);
  handoff_.push(owner, m);
}

// Once per burst: one enqueue per owner.
void Worker::flush_handoffs() noexcept { paths_.add(PathCounter::kHandedOut, handoff_.flush()); }

// What the other workers handed this one, a burst from each: outbound packets find their SA by
// slot in this worker's own view, inbound ones by SPI, as if they had come in here. An SA that
// went (or whose slot now names another worker's SA) in the meantime drops the packet.
unsigned Worker::take_handed() noexcept {
  unsigned taken = 0;
  for (unsigned sender = 0; sender < handoff_.workers(); ++sender) {
    if (sender == ctx_.index) continue;
    rte_mbuf* pkts[kMaxBurst];
    unsigned n = handoff_.take(sender, pkts, kMaxBurst);
    if (n == 0) continue;
    taken += n;
    paths_.add(PathCounter::kHandedIn, n);
    Burst protect;
    rte_mbuf* esp_in[kMaxBurst];
    uint16_t spi_at[kMaxBurst];
    uint16_t esp_in_count = 0;
    for (unsigned i = 0; i < n; ++i) {
      rte_mbuf* m = pkts[i];
      if (handed_inbound(m)) {
        spi_at[esp_in_count] = handed_spi_at(m);
        esp_in[esp_in_count++] = m;
        continue;
      }
      SaRuntime* sa = slots_[handed_slot(m)];
      if (sa == nullptr || sa->owner != ctx_.index) [[unlikely]] {
        drop(m, DropReason::kHandoffStale);
        continue;
      }
      add_to_protect(m, sa, protect);
    }
    if (protect.count) outbound(protect);
    if (esp_in_count) inbound(esp_in, spi_at, esp_in_count, /*handed=*/true);
  }
  return taken;
}

// A packet the tunnel cannot carry whole: with DF, the sender learns the MTU it may use
// (RFC 1191); without, it is split before encryption and each fragment goes in the burst.
[[gnu::cold]] void Worker::too_big(rte_mbuf* m, const Port& port, uint16_t limit, SaRuntime* sa, Burst& protect) noexcept {
  if ((*rte_pktmbuf_mtod(m, uint8_t*) >> 4) == 6) {
    // Routers never fragment IPv6 (RFC 8200 5): the sender learns the MTU and sends smaller.
    rte_mbuf* reply = port.spec.has_address6
                          ? icmp6_packet_too_big(m, port.spec.address6.address.data(), limit, ctx_.pool)
                          : nullptr;
    drop(m, DropReason::kFragmentationNeeded);
    if (reply != nullptr) {
      paths_.add(PathCounter::kGenerated);
      send_ip(reply);
    }
    return;
  }
  auto* ip = rte_pktmbuf_mtod(m, rte_ipv4_hdr*);
  if (rte_be_to_cpu_16(ip->fragment_offset) & RTE_IPV4_HDR_DF_FLAG) {
    rte_mbuf* reply = icmp_fragmentation_needed(m, port.spec.address.address, limit, ctx_.pool);
    drop(m, DropReason::kFragmentationNeeded);
    if (reply != nullptr) {
      paths_.add(PathCounter::kGenerated);
      send_ip(reply);
    }
    return;
  }
  if (sa->variant == EspVariant::kTransport4) {
    // Transport mode protects whole packets (RFC 4303 3.3.4): encrypted first, the ESP packet is
    // split after (Worker::outbound).
    if (protect.count == kMaxBurst) outbound(protect);
    split_after_[split_after_count_++] = m;
    protect.pkts[protect.count] = m;
    protect.sa[protect.count++] = sa;
    return;
  }
  rte_mbuf* pieces[kMaxBurst];
  unsigned n = fragment_ipv4(m, limit, ctx_.pool, pieces, kMaxBurst);
  if (n == 0) {
    drop(m, DropReason::kTooBig);
    return;
  }
  paths_.add(PathCounter::kGenerated, n - 1);  // one packet in, n out
  for (unsigned i = 0; i < n; ++i) {
    if (protect.count == kMaxBurst) outbound(protect);  // a full burst goes now; the rest follow
    protect.pkts[protect.count] = pieces[i];
    protect.sa[protect.count++] = sa;
  }
}

void Worker::outbound(Burst& burst) noexcept {
  if (tracer_.active()) [[unlikely]]
    for (uint16_t i = 0; i < burst.count; ++i) tracer_.note_spi(burst.pkts[i], burst.sa[i]->spi.get());
  uint16_t good = esp_outbound_burst(esp_, burst);
  if (tracer_.active()) [[unlikely]]
    for (uint16_t i = good; i < burst.count; ++i) tracer_.finish(burst.pkts[i], TraceVerdict::kDropped, burst.drop[i]);
  paths_.add(PathCounter::kEspOut, good);
  if (split_after_count_ == 0) [[likely]] {
    for (uint16_t i = 0; i < good; ++i) send_ip(burst.pkts[i]);
  } else {
    for (uint16_t i = 0; i < good; ++i) {
      rte_mbuf* m = burst.pkts[i];
      bool split = std::find(split_after_, split_after_ + split_after_count_, m) != split_after_ + split_after_count_;
      if (!split) {
        send_ip(m);
        continue;
      }
      rte_mbuf* pieces[kMaxBurst];
      unsigned n = fragment_ipv4(m, burst.sa[i]->egress_mtu, ctx_.pool, pieces, kMaxBurst);
      if (n == 0) {
        drop(m, DropReason::kTooBig);
        continue;
      }
      paths_.add(PathCounter::kGenerated, n - 1);
      for (unsigned k = 0; k < n; ++k) send_ip(pieces[k]);
    }
    split_after_count_ = 0;
  }
  free_dropped(burst, good);  // the stage counted them
  burst.count = 0;
}

void Worker::inbound(rte_mbuf** pkts, const uint16_t* spi_at, uint16_t count, bool handed) noexcept {
  // SPI of each packet, for one bulk SAD lookup.
  uint32_t spis[kMaxBurst] = {};
  for (uint16_t i = 0; i < count; ++i) {
    Be32 spi;  // after a 14-byte Ethernet header, the SPI is not 4-byte aligned
    if (rte_pktmbuf_data_len(pkts[i]) >= spi_at[i] + 4u)
      std::memcpy(&spi, rte_pktmbuf_mtod_offset(pkts[i], const uint8_t*, spi_at[i]), sizeof spi);
    spis[i] = spi.get();
  }
  SaRuntime* sas[kMaxBurst];
  ctx_.sad->lookup(spis, sas, count);
  Burst burst;
  for (uint16_t i = 0; i < count; ++i) {
    if (sas[i] == nullptr) {
      // Too short for an SPI is a runt, whatever SPI 0 would have found.
      drop(pkts[i], rte_pktmbuf_data_len(pkts[i]) < spi_at[i] + 4u ? DropReason::kRunt : DropReason::kUnknownSpi);
      continue;
    }
    if (sas[i]->owner != ctx_.index) {
      if (handed) [[unlikely]] {  // its SPI found another worker's SA since: never handed twice
        drop(pkts[i], DropReason::kHandoffStale);
      } else {
        tag_handed_inbound(pkts[i], spi_at[i]);
        hand_off(pkts[i], sas[i]->owner);
      }
      continue;
    }
    burst.pkts[burst.count] = pkts[i];
    burst.sa[burst.count++] = sas[i];
  }
  if (tracer_.active()) [[unlikely]]
    for (uint16_t i = 0; i < burst.count; ++i) tracer_.note_spi(burst.pkts[i], burst.sa[i]->spi.get());
  uint16_t good = esp_inbound_burst(esp_, burst);
  paths_.add(PathCounter::kEspIn, good);
  if (tracer_.active()) [[unlikely]]
    for (uint16_t i = good; i < burst.count; ++i) tracer_.finish(burst.pkts[i], TraceVerdict::kDropped, burst.drop[i]);

  // RFC 4301 section 5.2: the decrypted packet must match a policy that names its SA.
  SpdKey keys[kMaxBurst];
  const SpdKey* key_ptrs[kMaxBurst];
  SpdKey6 keys6[kMaxBurst];
  const SpdKey6* key6_ptrs[kMaxBurst];
  rte_mbuf* v4[kMaxBurst];
  rte_mbuf* v6[kMaxBurst];
  SaRuntime* v4_sa[kMaxBurst];
  SaRuntime* v6_sa[kMaxBurst];
  uint16_t n4 = 0, n6 = 0;
  for (uint16_t i = 0; i < good; ++i) {
    rte_mbuf* m = burst.pkts[i];
    if ((*rte_pktmbuf_mtod(m, uint8_t*) >> 4) == 4) {
      spd_key_of(rte_pktmbuf_mtod(m, rte_ipv4_hdr*), rte_pktmbuf_data_len(m), keys[n4]);
      key_ptrs[n4] = &keys[n4];
      v4_sa[n4] = burst.sa[i];
      v4[n4++] = m;
    } else {
      spd_key6_of(m, keys6[n6]);
      key6_ptrs[n6] = &keys6[n6];
      v6_sa[n6] = burst.sa[i];
      v6[n6++] = m;
    }
  }
  free_dropped(burst, good);
  uint32_t rule[kMaxBurst];
  const Spd& spd = *tables_->spd_in;
  auto deliver = [&](rte_mbuf* m, uint32_t r, SaRuntime* sa) {
    // Any SA of the policy's slot will do: after a rekey the old inbound SA lingers beside the new.
    const SpdVerdict* policy = r == kNoPolicy ? nullptr : &spd.verdict(r);
    if (policy == nullptr || policy->action != PolicyAction::kProtect || policy->slot != sa->slot) {
      drop(m, DropReason::kPolicyMismatch);
    } else if (!decrement_hop_limit(m)) {
      drop(m, DropReason::kTtlExpired);
    } else {
      send_ip(m);
    }
  };
  spd.classify(key_ptrs, rule, n4);
  for (uint16_t i = 0; i < n4; ++i) deliver(v4[i], rule[i], v4_sa[i]);
  spd.classify(key6_ptrs, rule, n6);
  for (uint16_t i = 0; i < n6; ++i) deliver(v6[i], rule[i], v6_sa[i]);
}

void Worker::send_ip(rte_mbuf* m) noexcept {
  if ((*rte_pktmbuf_mtod(m, uint8_t*) >> 4) == 6)
    send_ipv6(m);
  else
    send_ipv4(m);
}

// Routes an IPv6 packet (mbuf at the IP header), adds the Ethernet header and queues it.
void Worker::send_ipv6(rte_mbuf* m) noexcept {
  auto* ip = rte_pktmbuf_mtod(m, rte_ipv6_hdr*);
  if (hop6_.valid && std::memcmp(hop6_.destination, ip->dst_addr, 16) == 0) [[likely]] {
    send_to(m, hop6_.port, hop6_.mac, RTE_ETHER_TYPE_IPV6);
    return;
  }
  const NextHop6* hop = tables_->routes->lookup6(ip->dst_addr);
  if (hop == nullptr) [[unlikely]] {
    drop(m, DropReason::kNoRoute);
    return;
  }
  rte_ether_addr mac;
  if (!ctx_.neighbours->lookup6(hop->on_link ? ip->dst_addr : hop->gateway.data(), mac)) [[unlikely]] {
    hold(m, hop->port);
    return;
  }
  hop6_ = {true, hop->port, mac, {}};
  std::memcpy(hop6_.destination, ip->dst_addr, 16);
  send_to(m, hop->port, mac, RTE_ETHER_TYPE_IPV6);
}

// Routes an IPv4 packet (mbuf at the IP header), adds the Ethernet header and queues it.
void Worker::send_ipv4(rte_mbuf* m) noexcept {
  auto* ip = rte_pktmbuf_mtod(m, rte_ipv4_hdr*);
  if (hop4_.valid && hop4_.destination == ip->dst_addr) [[likely]] {
    send_to(m, hop4_.port, hop4_.mac, RTE_ETHER_TYPE_IPV4);
    return;
  }
  uint32_t destination = rte_be_to_cpu_32(ip->dst_addr);
  const NextHop* hop = tables_->routes->lookup(destination);
  if (hop == nullptr) [[unlikely]] {
    drop(m, DropReason::kNoRoute);
    return;
  }
  uint32_t next = hop->gateway ? hop->gateway : destination;
  rte_ether_addr mac;
  if (!ctx_.neighbours->lookup(next, mac)) [[unlikely]] {
    hold(m, hop->port);
    return;
  }
  hop4_ = {true, hop->port, mac, ip->dst_addr};
  send_to(m, hop->port, mac, RTE_ETHER_TYPE_IPV4);
}

// The control core holds the packet while it resolves the next hop, then sends it.
void Worker::hold(rte_mbuf* m, uint16_t port_index) noexcept {
  m->port = port_index;
  if (tracer_.active()) [[unlikely]] tracer_.finish(m, TraceVerdict::kHeld);
  tsan_release(m);
  if (rte_ring_enqueue(ctx_.unresolved, m) != 0) drop(m, DropReason::kNoNeighbour);
}

// Adds the Ethernet header for a resolved next hop and queues the packet on its port.
void Worker::send_to(rte_mbuf* m, uint16_t port_index, const rte_ether_addr& mac, uint16_t ether_type) noexcept {
  if (!prepend_ethernet(m, mac, ctx_.ports[port_index].mac, ether_type)) [[unlikely]] {
    drop(m, DropReason::kNoHeadroom);
    return;
  }
  send_on(port_index, m);
}

void Worker::send_on(uint16_t port_index, rte_mbuf* m) noexcept {
  if (tracer_.active()) [[unlikely]] tracer_.finish(m, TraceVerdict::kSent, DropReason::kCount, port_index);
  TxBuffer& tx = tx_[port_index];
  tx.pkts[tx.count++] = m;
  if (tx.count == kMaxBurst) {
    tsan_release_packets(tx.pkts, tx.count);
    uint16_t sent = rte_eth_tx_burst(ctx_.ports[port_index].id, static_cast<uint16_t>(ctx_.index), tx.pkts, tx.count);
    paths_.add(PathCounter::kTx, sent);
    for (uint16_t i = sent; i < tx.count; ++i) drop(tx.pkts[i], DropReason::kTxFull);
    tx.count = 0;
  }
}

void Worker::flush() noexcept {
  for (uint16_t p = 0; p < ctx_.port_count; ++p) {
    TxBuffer& tx = tx_[p];
    if (tx.count == 0) continue;
    tsan_release_packets(tx.pkts, tx.count);
    uint16_t sent = rte_eth_tx_burst(ctx_.ports[p].id, static_cast<uint16_t>(ctx_.index), tx.pkts, tx.count);
    paths_.add(PathCounter::kTx, sent);
    for (uint16_t i = sent; i < tx.count; ++i) drop(tx.pkts[i], DropReason::kTxFull);
    tx.count = 0;
  }
  if (doomed_count_) free_doomed();
}

// Tells the control core that traffic wants an SA a policy names but nobody installed (an IKE
// "acquire"), at most once per slot per 100 ms; a full ring loses nothing that the next packet
// will not ask again.
[[gnu::cold]] void Worker::acquire(uint32_t slot) noexcept {
  uint64_t now = ctx_.clock();
  if (slot == acquired_slot_ && now - acquired_tsc_ < rte_get_tsc_hz() / 10) return;
  SaEvent event{slot, SaDirection::kOutbound, SaEventKind::kAcquire};
  if (esp_.events != nullptr && rte_ring_enqueue_elem(esp_.events, &event, sizeof event) == 0) {
    acquired_slot_ = slot;
    acquired_tsc_ = now;
  }
}

}  // namespace rampart::dp
