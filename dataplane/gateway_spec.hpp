// What the data plane needs to run a gateway, as plain data: ports, routes, policies and SAs.
// app/ builds it from the config file; nothing here knows libconfig or IKE.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/sa_params.hpp"

namespace rampart::dp {

enum class PortRole : uint8_t { kProtected, kPublic };

struct Ipv4Prefix {
  uint32_t address = 0;  // host order
  uint8_t length = 0;
  bool operator==(const Ipv4Prefix&) const = default;
};

struct Ipv6Prefix {
  std::array<uint8_t, 16> address{};  // network order
  uint8_t length = 0;
  bool operator==(const Ipv6Prefix&) const = default;
};

struct PortSpec {
  std::string name;
  std::string device;    // DPDK device: a vdev ("net_af_packet0,iface=veth0") or a PCI address
  PortRole role = PortRole::kProtected;
  Ipv4Prefix address;    // our address and the connected prefix
  uint16_t mtu = 1500;
  bool has_address6 = false;
  Ipv6Prefix address6;   // our IPv6 address and its connected prefix, if any
  bool operator==(const PortSpec&) const = default;
};

struct RouteSpec {
  Ipv4Prefix destination;
  uint32_t gateway = 0;  // host order; 0: on link
  uint16_t port = 0;     // index into GatewaySpec::ports
  IpFamily family = IpFamily::kIpv4;
  Ipv6Prefix destination6;             // for IPv6 routes
  std::array<uint8_t, 16> gateway6{};  // all zero: on link
  bool operator==(const RouteSpec&) const = default;
};

struct NeighbourSpec {
  uint32_t address = 0;  // host order
  std::array<uint8_t, 6> mac{};
  IpFamily family = IpFamily::kIpv4;
  std::array<uint8_t, 16> address6{};
  bool operator==(const NeighbourSpec&) const = default;
};

enum class PolicyAction : uint8_t { kProtect, kBypass, kDiscard };

// One SPD rule (RFC 4301 section 4.4.1). Lower priority wins; ties go to the earlier rule.
struct PolicySpec {
  std::string name;        // how the console and a config reload refer to it
  SaDirection direction = SaDirection::kOutbound;
  IpFamily family = IpFamily::kIpv4;
  Ipv4Prefix source;       // IPv4 selectors
  Ipv4Prefix destination;
  Ipv6Prefix source6;      // IPv6 selectors
  Ipv6Prefix destination6;
  bool any_protocol = true;
  uint8_t protocol = 0;
  uint16_t source_port_low = 0, source_port_high = 65535;
  uint16_t destination_port_low = 0, destination_port_high = 65535;
  PolicyAction action = PolicyAction::kDiscard;
  std::string sa;  // for kProtect: the name of the SA (SaParams::name) that protects matching traffic
  uint32_t priority = 100;
  bool operator==(const PolicySpec&) const = default;
};

// Builders for the common cases, so callers need not spell every field.
inline PortSpec ipv4_port(std::string name, std::string device, PortRole role, Ipv4Prefix address, uint16_t mtu = 1500) {
  PortSpec p;
  p.name = std::move(name);
  p.device = std::move(device);
  p.role = role;
  p.address = address;
  p.mtu = mtu;
  return p;
}

inline RouteSpec ipv4_route(Ipv4Prefix destination, uint32_t gateway, uint16_t port) {
  RouteSpec r;
  r.destination = destination;
  r.gateway = gateway;
  r.port = port;
  return r;
}

struct GatewaySpec {
  std::vector<unsigned> worker_lcores;
  unsigned mbufs = 16383;
  unsigned burst = 32;
  uint32_t max_sas = 4096;          // SAs installed at once (and SA names policies may use)
  uint32_t rekey_linger_ms = 2000;  // how long a replaced inbound SA still opens packets
  // How long the fragments of a packet addressed to us wait for the rest: a peer's pieces come
  // within milliseconds; holding what is missing longer only helps whoever floods us with them.
  uint32_t reassembly_timeout_ms = 2000;
  std::vector<PortSpec> ports;
  std::vector<RouteSpec> routes;
  std::vector<NeighbourSpec> neighbours;  // static entries, learned before the workers start
  std::vector<PolicySpec> policies;
  std::vector<SaParams> sas;
  // What timeouts and lifetimes are measured by: TSC cycles, rte_get_tsc_hz() a second (null:
  // the TSC itself). Tests move time on with their own instead of sleeping; busy and idle
  // cycles are always the TSC's.
  uint64_t (*clock)() noexcept = nullptr;
};

}  // namespace rampart::dp
