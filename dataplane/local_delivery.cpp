#include "dataplane/local_delivery.hpp"

#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include <algorithm>
#include <cstring>

#include "dataplane/neighbour_service.hpp"
#include "dataplane/udp_headers.hpp"
#include "dataplane/update_channel.hpp"

namespace rampart::dp {

LocalDelivery::LocalDelivery(UpdateChannel& updates, NeighbourService& neighbours, rte_mempool* pool, ControlOutput out,
                             uint64_t (*clock)() noexcept)
    : updates_(updates), neighbours_(neighbours), pool_(pool), out_(out), clock_(clock), ports_(new LocalPorts) {}

// Only once no worker runs (the gateway's own teardown): nobody can hold the set any more.
LocalDelivery::~LocalDelivery() { delete ports_; }

Result<void> LocalDelivery::listen_udp(uint16_t port) {
  if (ports_->delivers(port)) return {};
  auto next = std::make_unique<LocalPorts>(*ports_);
  if (!next->add(port))
    return make_error(Errc::kNoMemory, "already " + std::to_string(LocalPorts::kMax) + " UDP ports for local services");
  const LocalPorts* old = ports_;
  ports_ = next.release();
  updates_.broadcast({UpdateKind::kLocalPorts, 0, ports_});
  updates_.retire([old] { delete old; });
  return {};
}

std::vector<LocalDatagram> LocalDelivery::take(std::span<const uint16_t> ports) {
  std::vector<LocalDatagram> taken;
  size_t kept = 0;
  for (size_t i = 0; i < inbox_.size(); ++i) {
    if (std::find(ports.begin(), ports.end(), inbox_[i].destination_port) != ports.end())
      taken.push_back(std::move(inbox_[i]));
    else if (kept++ != i)
      inbox_[kept - 1] = std::move(inbox_[i]);
  }
  inbox_.resize(kept);
  return taken;
}

// Workers hand over UDP to a registered port of ours over IPv4, or IPv6 with UDP right after the
// fixed header; the payload is copied out, and the mbuf counted as delivered.
void LocalDelivery::receive(rte_mbuf* m) {
  uint32_t length = rte_pktmbuf_data_len(m);
  const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
  const auto* l3 = reinterpret_cast<const uint8_t*>(eth + 1);
  auto refuse = [&](DropReason why) { out_.drop(m, why); };
  LocalDatagram d;
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
  // On the port ESP in UDP shares, a service's datagrams follow the non-ESP marker (RFC 3948 2.2).
  bool shared = port == kEspInUdpPort;
  bool marked = shared && payload_length >= 4 &&
                std::all_of(payload, payload + 4, [](std::byte b) { return b == std::byte{0}; });
  if (inbox_.size() >= kMaxInbox) return refuse(DropReason::kControlBusy);
  if (!ports_->delivers(port) || (shared && !marked)) return refuse(DropReason::kNotForUs);
  if (marked) {
    payload += 4;
    payload_length -= 4;
  }
  d.source_port = rte_be_to_cpu_16(udp->src_port);
  d.destination_port = port;
  d.payload.assign(payload, payload + payload_length);
  inbox_.push_back(std::move(d));
  out_.drop(m, DropReason::kLocalDelivery);
}

// A service's datagram: IP and UDP headers in front (IPv6 with its mandatory UDP checksum), then
// out like any packet of the control core (routed, its next hop resolved if need be, sent
// through worker 0).
void LocalDelivery::send(const LocalDatagram& d) {
  bool v6 = d.family == IpFamily::kIpv6;
  size_t ip_header = v6 ? sizeof(rte_ipv6_hdr) : sizeof(rte_ipv4_hdr);
  // The non-ESP marker on 4500, except before a NAT keepalive (one 0xFF byte, RFC 3948 2.3).
  bool keepalive = d.payload.size() == 1 && d.payload[0] == std::byte{0xff};
  size_t marker = d.source_port == kEspInUdpPort && !keepalive ? 4 : 0;
  size_t length = ip_header + sizeof(rte_udp_hdr) + marker + d.payload.size();
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (m == nullptr) return;
  auto* front = reinterpret_cast<uint8_t*>(length <= UINT16_MAX ? rte_pktmbuf_append(m, static_cast<uint16_t>(length)) : nullptr);
  if (front == nullptr) {
    rte_pktmbuf_free(m);
    return;
  }
  UdpEndpoints ends{d.source.data(), d.destination.data(), d.source_port, d.destination_port};
  auto payload_length = static_cast<uint16_t>(marker + d.payload.size());
  if (v6)
    write_ipv6_udp(front, ends, payload_length);
  else
    write_ipv4_udp(front, ends, payload_length);
  uint8_t* body = front + ip_header + sizeof(rte_udp_hdr);
  std::memset(body, 0, marker);
  std::memcpy(body + marker, d.payload.data(), d.payload.size());
  if (v6) set_udp6_checksum(front);
  out_.generated();
  neighbours_.send(m, clock_());
}

}  // namespace rampart::dp
