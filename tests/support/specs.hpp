// Data-plane specs tests build again and again: addresses, policies, tunnel SAs, Ethernet frames
// and counter lookups, once. Plain values only; no test framework, so the fuzz targets and the
// bench's test helpers can use them too.
#pragma once

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ip.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/gateway.hpp"

namespace rampart::test {

// Host order, as Ipv4Prefix and the route specs take it.
constexpr uint32_t ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return RTE_IPV4(a, b, c, d); }

// A host-order IPv4 address as SaParams keep outer addresses: network order, in the first 4 bytes.
inline std::array<uint8_t, 16> outer4(uint32_t host_order) {
  return {static_cast<uint8_t>(host_order >> 24), static_cast<uint8_t>(host_order >> 16),
          static_cast<uint8_t>(host_order >> 8), static_cast<uint8_t>(host_order)};
}

// The two neighbours of the usual test topology: the router at 198.51.100.2 on the public
// side, host 192.0.2.10 on the protected side.
inline const rte_ether_addr kPeerMac{{0x02, 0, 0, 0, 0, 0x02}};
inline const rte_ether_addr kHostMac{{0x02, 0, 0, 0, 0, 0x10}};

inline dp::PolicySpec policy(dp::SaDirection direction, dp::Ipv4Prefix source, dp::Ipv4Prefix destination,
                             dp::PolicyAction action, std::string sa = "", uint32_t priority = 100) {
  dp::PolicySpec p;
  p.name = sa.empty() ? "p" : sa;
  p.direction = direction;
  p.source = source;
  p.destination = destination;
  p.action = action;
  p.sa = std::move(sa);
  p.priority = priority;
  return p;
}

// A tunnel-mode IPv4 AES-GCM-128 SA between two host-order addresses, its key made from its SPI.
inline dp::SaParams tunnel_sa(std::string name, uint32_t spi, dp::SaDirection direction, uint32_t from, uint32_t to,
                              uint32_t replay_window = 64) {
  dp::SaParams p;
  p.name = std::move(name);
  p.spi = spi;
  p.direction = direction;
  p.mode = dp::SaMode::kTunnel;
  p.family = dp::IpFamily::kIpv4;
  p.key_length = 16;
  for (unsigned i = 0; i < 16; ++i) p.key[i] = std::byte{static_cast<uint8_t>(spi * 7 + i)};
  p.tunnel_source = outer4(from);
  p.tunnel_destination = outer4(to);
  p.replay_window = replay_window;
  return p;
}

// An Ethernet frame around payload.
inline std::vector<uint8_t> ether(const rte_ether_addr& dst, const rte_ether_addr& src, uint16_t type,
                                  const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> f(RTE_ETHER_HDR_LEN + payload.size());
  std::memcpy(f.data(), dst.addr_bytes, RTE_ETHER_ADDR_LEN);
  std::memcpy(f.data() + RTE_ETHER_ADDR_LEN, src.addr_bytes, RTE_ETHER_ADDR_LEN);
  f[12] = static_cast<uint8_t>(type >> 8);
  f[13] = static_cast<uint8_t>(type);
  std::memcpy(f.data() + RTE_ETHER_HDR_LEN, payload.data(), payload.size());
  return f;
}

// A broadcast ARP message (host-order addresses).
inline std::vector<uint8_t> arp(uint16_t op, const rte_ether_addr& sha, uint32_t sip, uint32_t tip) {
  std::vector<uint8_t> a(sizeof(rte_arp_hdr));
  auto* h = reinterpret_cast<rte_arp_hdr*>(a.data());
  h->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
  h->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
  h->arp_hlen = RTE_ETHER_ADDR_LEN;
  h->arp_plen = 4;
  h->arp_opcode = rte_cpu_to_be_16(op);
  h->arp_data.arp_sha = sha;
  h->arp_data.arp_sip = rte_cpu_to_be_32(sip);
  h->arp_data.arp_tip = rte_cpu_to_be_32(tip);
  return ether(rte_ether_addr{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}, sha, RTE_ETHER_TYPE_ARP, a);
}

// A gateway counter by name (summed over lanes), or nothing if it has none of that name.
inline std::optional<uint64_t> counter_of(const dp::Gateway& gateway, std::string_view name) {
  for (const auto& c : gateway.counters())
    if (c.name == name) return c.value;
  return std::nullopt;
}

// A clock for GatewaySpec::clock that a test moves on instead of sleeping: the TSC, plus the
// time the test has skipped.
struct TestClock {
  static inline std::atomic<uint64_t> skipped{0};
  static uint64_t now() noexcept { return rte_get_tsc_cycles() + skipped.load(std::memory_order_relaxed); }
  static void advance_ms(uint64_t ms) { skipped.fetch_add(ms * rte_get_tsc_hz() / 1000, std::memory_order_relaxed); }
};

}  // namespace rampart::test
