#include "app/child_sa_installer.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "common/log.hpp"

namespace rampart::app {

namespace {

dp::IpFamily family_of(const cfg::IpAddress& a) {
  return a.family == cfg::Family::kIpv4 ? dp::IpFamily::kIpv4 : dp::IpFamily::kIpv6;
}

// The widest prefix inside a selector's range that starts at its start (exact for ranges that are
// prefixes, which is what this side offers and narrowing keeps), in network order.
std::pair<std::array<uint8_t, 16>, uint8_t> prefix_of(const ike::TrafficSelector& ts) {
  std::array<uint8_t, 16> start{};
  size_t size = std::min<size_t>(ts.start.size(), 16);
  for (size_t i = 0; i < size; ++i) start[i] = static_cast<uint8_t>(ts.start[i]);
  // Shorten the prefix while the addresses it covers stay within [start, end].
  auto bit = [&](size_t n) { return (start[n / 8] >> (7 - n % 8)) & 1; };
  size_t length = 8 * size;
  while (length > 0 && bit(length - 1) == 0) {
    ike::Bytes last(ts.start);  // the prefix's last address with one bit less
    for (size_t n = length - 1; n < 8 * size; ++n) last[n / 8] |= static_cast<std::byte>(1 << (7 - n % 8));
    if (last > ts.end) break;
    --length;
  }
  return {start, static_cast<uint8_t>(length)};
}

}  // namespace

ike::TrafficSelector selector_of(const cfg::IpPrefix& p) {
  bool v4 = p.address.family == cfg::Family::kIpv4;
  size_t size = v4 ? 4 : 16;
  ike::Bytes start(size), end(size);
  for (size_t i = 0; i < size; ++i) {
    unsigned bits = p.length > 8 * i ? std::min(8u, p.length - 8u * static_cast<unsigned>(i)) : 0;
    auto mask = static_cast<uint8_t>(bits == 0 ? 0 : 0xff << (8 - bits));
    start[i] = static_cast<std::byte>(p.address.bytes[i] & mask);
    end[i] = static_cast<std::byte>(p.address.bytes[i] | static_cast<uint8_t>(~mask));
  }
  return {static_cast<uint8_t>(v4 ? 7 : 8), 0, 0, 65535, std::move(start), std::move(end)};
}

dp::SaParams ChildSaInstaller::sa_params(const ike::ChildSa& child, bool outbound, bool nat, uint16_t remote_port) const {
  dp::SaParams p;
  p.name = connection_ + (outbound ? "-out" : "-in");
  p.spi = outbound ? child.outbound_spi : child.inbound_spi;
  p.direction = outbound ? dp::SaDirection::kOutbound : dp::SaDirection::kInbound;
  const ike::Bytes& key = outbound ? child.outbound_key : child.inbound_key;
  p.key_length = static_cast<uint8_t>(key.size() - 4);  // AES-GCM: the key, then a 4-byte salt (RFC 4106 8.1)
  std::memcpy(p.key.data(), key.data(), p.key_length);
  std::memcpy(p.salt.data(), key.data() + p.key_length, 4);
  p.family = family_of(local_);  // of the tunnel's outer header
  p.tunnel_source = (outbound ? local_ : remote_).bytes;
  p.tunnel_destination = (outbound ? remote_ : local_).bytes;
  p.lifetime = lifetime_;
  p.spread = outbound && spread_;
  p.nat_t = nat;
  p.nat_local_port = ike::kIkeNatTPort;
  p.nat_remote_port = remote_port;
  return p;
}

bool ChildSaInstaller::apply(dp::Gateway& gateway, const ike::ChildEvent& event, bool nat, uint16_t remote_port,
                             bool keep_trap) {
  const ike::ChildSa& child = event.child;
  if (event.kind == ike::ChildEventKind::kDown) {
    if (child.inbound_spi == inbound_spi_) remove(gateway, keep_trap);
    return false;
  }
  bool outbound = event.kind == ike::ChildEventKind::kOutboundUp;
  dp::SaParams p = sa_params(child, outbound, nat, remote_port);
  if (auto r = gateway.install_sa(p); !r) {
    LOG_WARN("ike", "%s: cannot install the CHILD_SA: %s", connection_.c_str(), r.message().c_str());
    return false;
  }
  (outbound ? outbound_spi_ : inbound_spi_) = p.spi;
  if (!outbound || policies_installed_) {
    LOG_INFO("ike", "%s: CHILD_SA %s 0x%08x", connection_.c_str(), outbound ? "out" : "in", p.spi);
    return true;
  }
  if (!set_policies(gateway, child.local_ts, child.remote_ts, true, keep_trap)) return true;
  policies_installed_ = true;
  LOG_INFO("ike", "%s: CHILD_SA in 0x%08x out 0x%08x%s, policies in place", connection_.c_str(), inbound_spi_,
           outbound_spi_, nat ? " (ESP in UDP)" : "");
  return true;
}

void ChildSaInstaller::remove(dp::Gateway& gateway, bool keep_trap) {
  if (policies_installed_ || keep_trap) set_policies(gateway, local_ts_, remote_ts_, false, keep_trap);
  if (outbound_spi_ != 0) (void)gateway.remove_sa(connection_ + "-out");
  if (inbound_spi_ != 0) (void)gateway.remove_sa(connection_ + "-in");
  if (inbound_spi_ || outbound_spi_) LOG_INFO("ike", "%s: CHILD_SA removed", connection_.c_str());
  inbound_spi_ = outbound_spi_ = 0;
  policies_installed_ = false;
}

bool ChildSaInstaller::set_policies(dp::Gateway& gateway, const ike::TrafficSelector& local,
                                    const ike::TrafficSelector& remote, bool inbound_too, bool trap) {
  std::vector<dp::PolicySpec> policies;
  for (bool out : {true, false}) {
    if (!out && !inbound_too) continue;
    if (out && !inbound_too && !trap) continue;
    dp::PolicySpec q;
    q.name = connection_ + (out ? "-out" : "-in");
    q.direction = out ? dp::SaDirection::kOutbound : dp::SaDirection::kInbound;
    auto [source, source_length] = prefix_of(out ? local : remote);
    auto [destination, destination_length] = prefix_of(out ? remote : local);
    if (local.type == 8) {
      q.family = dp::IpFamily::kIpv6;
      q.source6 = {source, source_length};
      q.destination6 = {destination, destination_length};
    } else {
      q.source = {uint32_t{source[0]} << 24 | uint32_t{source[1]} << 16 | uint32_t{source[2]} << 8 | source[3], source_length};
      q.destination = {uint32_t{destination[0]} << 24 | uint32_t{destination[1]} << 16 | uint32_t{destination[2]} << 8 |
                           destination[3],
                       destination_length};
    }
    q.action = dp::PolicyAction::kProtect;
    q.sa = q.name;
    policies.push_back(q);
  }
  if (auto r = gateway.set_policies(policy_owner(), policies); !r) {
    LOG_WARN("ike", "%s: cannot install the policies: %s", connection_.c_str(), r.message().c_str());
    return false;
  }
  return true;
}

void ChildSaInstaller::clear_policies(dp::Gateway& gateway) {
  if (auto r = gateway.set_policies(policy_owner(), {}); !r)
    LOG_WARN("ike", "%s: its policies could not be removed: %s", connection_.c_str(), r.message().c_str());
}

}  // namespace rampart::app
