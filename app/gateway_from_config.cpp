#include "app/gateway_from_config.hpp"

#include <algorithm>
#include <cstring>

namespace rampart::app {

namespace {

dp::Ipv6Prefix v6_prefix(const cfg::IpPrefix& p) {
  dp::Ipv6Prefix out;
  std::copy(p.address.bytes.begin(), p.address.bytes.end(), out.address.begin());
  out.length = p.length;
  return out;
}

uint32_t host_order(const cfg::IpAddress& a) {
  return uint32_t{a.bytes[0]} << 24 | uint32_t{a.bytes[1]} << 16 | uint32_t{a.bytes[2]} << 8 | a.bytes[3];
}

std::string where(const cfg::Config& c, int line) { return c.source + ":" + std::to_string(line) + ": "; }

Error needs_ipv4(const cfg::Config& c, int line, const std::string& what) {
  return make_error(Errc::kInvalidArgument,
                    where(c, line) + what + ": \"address\" must be IPv4; an IPv6 address goes in \"address6\"");
}

}  // namespace

Result<dp::GatewaySpec> gateway_from_config(const cfg::Config& c) {
  dp::GatewaySpec spec;
  spec.worker_lcores = c.dataplane.worker_lcores;
  spec.mbufs = c.dataplane.mbufs;
  spec.burst = std::min(c.dataplane.burst, 64u);
  spec.max_sas = c.dataplane.max_sas;
  for (const auto& itf : c.interfaces) {
    if (itf.address.address.family != cfg::Family::kIpv4) return needs_ipv4(c, itf.line, "interfaces: " + itf.name);
    spec.ports.push_back(dp::ipv4_port(itf.name, itf.device,
                                       itf.role == cfg::InterfaceRole::kPublic ? dp::PortRole::kPublic
                                                                               : dp::PortRole::kProtected,
                                       {host_order(itf.address.address), itf.address.length},
                                       static_cast<uint16_t>(itf.mtu)));
    if (itf.address6) {
      spec.ports.back().has_address6 = true;
      spec.ports.back().address6 = v6_prefix(*itf.address6);
    }
  }
  for (const auto& r : c.routes) {
    auto port = std::find_if(c.interfaces.begin(), c.interfaces.end(), [&](auto& i) { return i.name == r.interface; });
    auto port_index = static_cast<uint16_t>(port - c.interfaces.begin());
    if (r.destination.address.family != r.via.family)
      return make_error(Errc::kInvalidArgument, where(c, r.line) + "route: \"via\" is not the destination's family");
    if (r.destination.address.family == cfg::Family::kIpv4) {
      spec.routes.push_back(dp::ipv4_route({host_order(r.destination.address), r.destination.length},
                                           host_order(r.via), port_index));
    } else {
      dp::RouteSpec route;
      route.family = dp::IpFamily::kIpv6;
      route.destination6 = v6_prefix(r.destination);
      std::copy(r.via.bytes.begin(), r.via.bytes.end(), route.gateway6.begin());
      route.port = port_index;
      spec.routes.push_back(route);
    }
  }
  for (const auto& n : c.neighbours) {
    dp::NeighbourSpec neighbour;
    neighbour.mac = n.mac;
    if (n.address.family == cfg::Family::kIpv4) {
      neighbour.address = host_order(n.address);
    } else {
      neighbour.family = dp::IpFamily::kIpv6;
      std::copy(n.address.bytes.begin(), n.address.bytes.end(), neighbour.address6.begin());
    }
    spec.neighbours.push_back(neighbour);
  }
  for (const auto& sa : c.sas) {
    dp::SaParams p;
    p.name = sa.name;
    p.spi = sa.spi;
    p.direction = sa.direction == cfg::Direction::kInbound ? dp::SaDirection::kInbound : dp::SaDirection::kOutbound;
    p.mode = sa.mode == cfg::SaMode::kTunnel ? dp::SaMode::kTunnel : dp::SaMode::kTransport;
    const cfg::IpAddress* any = sa.local ? &*sa.local : sa.remote ? &*sa.remote : nullptr;
    p.family = any && any->family == cfg::Family::kIpv6 ? dp::IpFamily::kIpv6 : dp::IpFamily::kIpv4;
    // Outbound: we are the source. Inbound: we are the destination.
    if (sa.local && sa.remote) {
      bool out = p.direction == dp::SaDirection::kOutbound;
      std::memcpy(p.tunnel_source.data(), (out ? sa.local : sa.remote)->bytes.data(), 16);
      std::memcpy(p.tunnel_destination.data(), (out ? sa.remote : sa.local)->bytes.data(), 16);
    }
    size_t key_length = cfg::cipher_key_length(sa.cipher);
    p.key_length = static_cast<uint8_t>(key_length);
    std::copy(sa.key.begin(), sa.key.begin() + static_cast<long>(key_length), p.key.begin());
    std::copy(sa.key.begin() + static_cast<long>(key_length), sa.key.end(), p.salt.begin());
    p.esn = sa.esn;
    p.spread = sa.spread;
    p.check_source = sa.check_source;
    p.replay_window = sa.replay_window.value_or(c.dataplane.replay_window);
    if (sa.nat_t) {
      p.nat_t = true;
      p.nat_local_port = sa.nat_t->local_port;
      p.nat_remote_port = sa.nat_t->remote_port;
    }
    p.lifetime = {sa.lifetime.soft_bytes,   sa.lifetime.hard_bytes,   sa.lifetime.soft_packets,
                  sa.lifetime.hard_packets, sa.lifetime.soft_seconds, sa.lifetime.hard_seconds};
    spec.sas.push_back(p);
  }
  for (const auto& pol : c.policies) {
    dp::PolicySpec p;
    p.name = pol.name;
    p.direction = pol.direction == cfg::Direction::kInbound ? dp::SaDirection::kInbound : dp::SaDirection::kOutbound;
    if (pol.source.address.family == cfg::Family::kIpv4) {
      p.source = {host_order(pol.source.address), pol.source.length};
      p.destination = {host_order(pol.destination.address), pol.destination.length};
    } else {
      p.family = dp::IpFamily::kIpv6;
      p.source6 = v6_prefix(pol.source);
      p.destination6 = v6_prefix(pol.destination);
    }
    p.any_protocol = !pol.protocol.has_value();
    p.protocol = pol.protocol.value_or(0);
    p.source_port_low = pol.source_ports.low;
    p.source_port_high = pol.source_ports.high;
    p.destination_port_low = pol.destination_ports.low;
    p.destination_port_high = pol.destination_ports.high;
    p.action = pol.action == cfg::PolicyAction::kProtect ? dp::PolicyAction::kProtect
               : pol.action == cfg::PolicyAction::kBypass ? dp::PolicyAction::kBypass
                                                          : dp::PolicyAction::kDiscard;
    if (p.action == dp::PolicyAction::kProtect) p.sa = pol.sa;
    p.priority = pol.priority;
    spec.policies.push_back(p);
  }
  return spec;
}

std::vector<std::string> eal_args_from_config(const cfg::Config& c, const std::string& file_prefix) {
  // Each lcore on its CPU: the control core on CPU 0, the workers as the config maps them.
  std::string lcores = "0@0";
  for (size_t i = 0; i < c.dataplane.worker_lcores.size(); ++i)
    lcores += "," + std::to_string(c.dataplane.worker_lcores[i]) + "@" + std::to_string(c.dataplane.worker_cpus[i]);
  std::vector<std::string> args{"rampartd", "--lcores", lcores, "--main-lcore", "0", "--file-prefix", file_prefix,
                                "--iova-mode=va", "--log-level=lib.eal:error", "-m", std::to_string(c.dataplane.memory_mb)};
  if (c.dataplane.hugepages) {
    args.push_back("--in-memory");
  } else {
    args.insert(args.end(), {"--no-huge", "--no-shconf"});
  }
  bool any_pci = false;
  for (const auto& itf : c.interfaces) {
    if (itf.device.rfind("net_", 0) == 0) {
      args.insert(args.end(), {"--vdev", itf.device});
    } else {
      args.insert(args.end(), {"-a", itf.device});
      any_pci = true;
    }
  }
  if (!any_pci) args.push_back("--no-pci");
  return args;
}

}  // namespace rampart::app
