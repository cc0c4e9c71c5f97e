#include "app/ike_service.hpp"

#include <rte_cycles.h>

#include <algorithm>
#include <cstring>

#include "common/log.hpp"

namespace rampart::app {

namespace {

uint32_t host_order(const cfg::IpAddress& a) {
  return uint32_t{a.bytes[0]} << 24 | uint32_t{a.bytes[1]} << 16 | uint32_t{a.bytes[2]} << 8 | a.bytes[3];
}

ike::TrafficSelector selector(const cfg::IpPrefix& p) {
  uint32_t start = host_order(p.address);
  uint32_t mask = p.length == 0 ? 0 : ~uint32_t{0} << (32 - p.length);
  start &= mask;
  return {7, 0, 0, 65535, ike::be32_bytes(start), ike::be32_bytes(start | ~mask)};
}

// The widest prefix inside a selector's range that starts at its start (exact for ranges that are
// prefixes, which is what this side offers and narrowing keeps).
dp::Ipv4Prefix prefix_of(const ike::TrafficSelector& ts) {
  uint32_t start = ike::be32_value(ts.start), end = ike::be32_value(ts.end);
  uint8_t length = 32;
  while (length > 0) {
    uint32_t mask = (length - 1) == 0 ? 0 : ~uint32_t{0} << (32 - (length - 1));
    if ((start & mask) != start || (start | ~mask) > end) break;
    --length;
  }
  return {start, length};
}

}  // namespace

Result<IkeService> IkeService::create(const cfg::Config& config) {
  IkeService service;
  for (size_t i = 0; i < config.connections.size(); ++i) {
    const cfg::ConnectionConfig& c = config.connections[i];
    std::string where = config.source + ":" + std::to_string(c.line) + ": connections[" + std::to_string(i) + "]";
    auto ike_suite = ike::parse_suite(c.ike, 1);
    if (!ike_suite) return make_error(Errc::kParse, where + ".ike: " + ike_suite.message());
    if (!ike::dh_group_supported(ike_suite->dh)) return make_error(Errc::kParse, where + ".ike: unsupported group");
    auto esp_suite = ike::parse_suite(c.esp, 3);
    if (!esp_suite) return make_error(Errc::kParse, where + ".esp: " + esp_suite.message());
    if (esp_suite->encryption != 20 || esp_suite->dh != 0)
      return make_error(Errc::kParse, where + ".esp: the data plane takes AES-GCM-16 without PFS so far");
    Connection conn;
    conn.name = c.name;
    conn.local = host_order(c.local);
    conn.remote = host_order(c.remote);
    conn.initiate = c.initiate;
    conn.peer.local_id = c.local_id;
    conn.peer.remote_id = c.remote_id;
    conn.peer.psk.assign(reinterpret_cast<const std::byte*>(c.psk.data()),
                         reinterpret_cast<const std::byte*>(c.psk.data()) + c.psk.size());
    conn.peer.ike_suites = {*ike_suite};
    conn.peer.esp_suites = {*esp_suite};
    conn.peer.local_ts = selector(c.local_ts);
    conn.peer.remote_ts = selector(c.remote_ts);
    service.connections_.push_back(std::move(conn));
  }
  return service;
}

void IkeService::poll(dp::Gateway& gateway) {
  uint64_t now = rte_get_tsc_cycles();
  for (Connection& c : connections_) {
    bool idle = !c.sa || c.sa->state() == ike::IkeState::kFailed;
    if (!c.initiate || !idle || now < c.retry_at) continue;
    c.sa.emplace(ike::IkeSa::initiator(c.peer));
    c.installed = false;
    c.retry_at = now + 5 * rte_get_tsc_hz();
    auto request = c.sa->start();
    if (!request) continue;
    LOG_INFO("ike", "%s: initiating", c.name.c_str());
    gateway.send_ike({c.local, c.remote, 500, 500, std::move(*request)});
  }
  for (const dp::IkeDatagram& d : gateway.take_ike()) {
    Connection* match = nullptr;
    for (Connection& c : connections_)
      if (c.local == d.destination && c.remote == d.source) match = &c;
    if (match == nullptr) {
      LOG_DEBUG("ike", "a datagram from a peer no connection names: dropped");
      continue;
    }
    handle(gateway, *match, d);
  }
}

void IkeService::handle(dp::Gateway& gateway, Connection& c, const dp::IkeDatagram& d) {
  // A responder takes a new IKE_SA_INIT (no responder SPI yet) as a fresh IKE SA.
  bool fresh_init = d.payload.size() >= 28 && std::all_of(d.payload.begin() + 8, d.payload.begin() + 16,
                                                          [](std::byte b) { return b == std::byte{0}; });
  if (!c.initiate && fresh_init && (!c.sa || c.sa->state() != ike::IkeState::kInitSent)) {
    c.sa.emplace(ike::IkeSa::responder(c.peer));
    c.installed = false;
  }
  if (!c.sa) return;
  auto reply = c.sa->receive(d.payload);
  if (!reply) {
    LOG_WARN("ike", "%s: %s", c.name.c_str(), reply.message().c_str());
    return;
  }
  if (*reply) gateway.send_ike({c.local, c.remote, 500, d.source_port, std::move(**reply)});
  if (c.sa->state() == ike::IkeState::kEstablished && c.sa->child() && !c.installed) install(gateway, c);
}

// Inbound first, so that the peer's first ESP packet finds its SA; then outbound; then the
// policies that send traffic to it.
void IkeService::install(dp::Gateway& gateway, Connection& c) {
  const ike::ChildSa& child = *c.sa->child();
  auto params = [&](bool outbound) {
    dp::SaParams p;
    p.name = c.name + (outbound ? "-out" : "-in");
    p.spi = outbound ? child.outbound_spi : child.inbound_spi;
    p.direction = outbound ? dp::SaDirection::kOutbound : dp::SaDirection::kInbound;
    const ike::Bytes& key = outbound ? child.outbound_key : child.inbound_key;
    p.key_length = static_cast<uint8_t>(key.size() - 4);
    std::memcpy(p.key.data(), key.data(), p.key_length);
    std::memcpy(p.salt.data(), key.data() + p.key_length, 4);
    uint32_t from = outbound ? c.local : c.remote, to = outbound ? c.remote : c.local;
    for (int i = 0; i < 4; ++i) {
      p.tunnel_source[i] = static_cast<uint8_t>(from >> (24 - 8 * i));
      p.tunnel_destination[i] = static_cast<uint8_t>(to >> (24 - 8 * i));
    }
    return p;
  };
  for (bool outbound : {false, true})
    if (auto r = gateway.install_sa(params(outbound)); !r) {
      LOG_WARN("ike", "%s: cannot install the CHILD_SA: %s", c.name.c_str(), r.message().c_str());
      return;
    }
  std::vector<dp::PolicySpec> policies;
  for (const dp::PolicySpec& p : gateway.policies())
    if (p.name != c.name + "-out" && p.name != c.name + "-in") policies.push_back(p);
  for (bool outbound : {true, false}) {
    dp::PolicySpec p;
    p.name = c.name + (outbound ? "-out" : "-in");
    p.direction = outbound ? dp::SaDirection::kOutbound : dp::SaDirection::kInbound;
    p.source = prefix_of(outbound ? child.local_ts : child.remote_ts);
    p.destination = prefix_of(outbound ? child.remote_ts : child.local_ts);
    p.action = dp::PolicyAction::kProtect;
    p.sa = p.name;
    policies.push_back(p);
  }
  if (auto r = gateway.set_policies(policies); !r) {
    LOG_WARN("ike", "%s: cannot install the policies: %s", c.name.c_str(), r.message().c_str());
    return;
  }
  c.installed = true;
  LOG_INFO("ike", "%s: IKE SA %016llx:%016llx established (%s); CHILD_SA in 0x%08x out 0x%08x", c.name.c_str(),
           static_cast<unsigned long long>(c.sa->initiator_spi()), static_cast<unsigned long long>(c.sa->responder_spi()),
           ike::suite_text(c.sa->suite()).c_str(), child.inbound_spi, child.outbound_spi);
}

std::vector<IkeConnectionStatus> IkeService::status() const {
  std::vector<IkeConnectionStatus> out;
  for (const Connection& c : connections_) {
    IkeConnectionStatus s{c.name, "idle", 0, 0, 0, 0, ""};
    if (c.sa) {
      auto st = c.sa->state();
      s.state = st == ike::IkeState::kEstablished ? "established" : st == ike::IkeState::kFailed ? "failed" : "connecting";
      s.initiator_spi = c.sa->initiator_spi();
      s.responder_spi = c.sa->responder_spi();
      if (st == ike::IkeState::kEstablished) s.suite = ike::suite_text(c.sa->suite());
      if (c.sa->child()) {
        s.inbound_spi = c.sa->child()->inbound_spi;
        s.outbound_spi = c.sa->child()->outbound_spi;
      }
    }
    out.push_back(s);
  }
  return out;
}

}  // namespace rampart::app
