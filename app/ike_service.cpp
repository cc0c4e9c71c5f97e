#include "app/ike_service.hpp"

#include <rte_cycles.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "common/log.hpp"

namespace rampart::app {

namespace {

constexpr uint64_t kRestartMs = 5000;
constexpr uint64_t kHalfOpenMs = 10000;     // a peer's IKE SA without IKE_AUTH is dropped then
constexpr size_t kCookieThreshold = 16;     // half-open IKE SAs (all connections) before cookies
constexpr uint64_t kClosingMs = 10000;
constexpr uint64_t kHoldMs = 500;  // the longest IKE's sends wait for workers to take new SAs      // an ended connection's Delete is retried this long at most

ike::Bytes network_bytes(const cfg::IpAddress& a) {
  const auto* b = reinterpret_cast<const std::byte*>(a.bytes.data());
  return ike::Bytes(b, b + (a.family == cfg::Family::kIpv4 ? 4 : 16));
}

dp::IpFamily family_of(const cfg::IpAddress& a) {
  return a.family == cfg::Family::kIpv4 ? dp::IpFamily::kIpv4 : dp::IpFamily::kIpv6;
}

// address:port as URLs write it: IPv6 in brackets.
std::string address_text(const cfg::IpAddress& a) {
  return a.family == cfg::Family::kIpv4 ? cfg::to_string(a) : "[" + cfg::to_string(a) + "]";
}

uint64_t now_ms() { return rte_get_tsc_cycles() / (rte_get_tsc_hz() / 1000); }

const char* state_text(ike::IkeState s) {
  switch (s) {
    case ike::IkeState::kIdle: return "idle";
    case ike::IkeState::kInitSent:
    case ike::IkeState::kAuthSent: return "connecting";
    case ike::IkeState::kEstablished: return "established";
    case ike::IkeState::kClosed: return "closed";
    case ike::IkeState::kFailed: return "failed";
  }
  return "?";
}

bool over(const std::optional<ike::IkeSa>& sa) {
  return sa && (sa->state() == ike::IkeState::kFailed || sa->state() == ike::IkeState::kClosed);
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
    if (esp_suite->encryption != 20) return make_error(Errc::kParse, where + ".esp: the data plane takes AES-GCM-16 only");
    if (esp_suite->dh && !ike::dh_group_supported(esp_suite->dh))
      return make_error(Errc::kParse, where + ".esp: unsupported group");
    Connection conn;
    conn.config = c;
    conn.name = c.name;
    conn.local = c.local;
    conn.remote = c.remote;
    conn.initiate = c.initiate;
    conn.trap = c.trap;
    conn.peer.local_id = c.local_id;
    conn.peer.remote_id = c.remote_id;
    conn.peer.psk.assign(reinterpret_cast<const std::byte*>(c.psk.data()),
                         reinterpret_cast<const std::byte*>(c.psk.data()) + c.psk.size());
    if (c.auth == "pubkey") {
      std::filesystem::path folder = std::filesystem::path(config.source).parent_path();
      auto file = [&](const std::string& f) { return std::filesystem::path(f).is_absolute() ? f : (folder / f).string(); };
      auto credentials = ike::Credentials::load(file(c.ca), file(c.cert), file(c.key));
      if (!credentials) return make_error(Errc::kParse, where + ": " + credentials.message());
      conn.peer.credentials = std::move(*credentials);
    }
    conn.peer.ike_suites = {*ike_suite};
    conn.peer.esp_suites = {*esp_suite};
    conn.peer.local_ts = selector_of(c.local_ts);
    conn.peer.remote_ts = selector_of(c.remote_ts);
    conn.peer.force_encapsulation = c.force_encap;
    conn.peer.ike_rekey_ms = uint64_t{c.ike_rekey_s} * 1000;
    conn.peer.child_rekey_ms = uint64_t{c.child_rekey_s} * 1000;
    conn.peer.dpd_ms = uint64_t{c.dpd_s} * 1000;
    conn.peer.retransmit_tries = c.retransmit_tries;
    conn.peer.keep_child = c.initiate || c.trap;  // such a connection keeps its tunnel up
    // Soft: IKE rekeys (time is IKE's own timer; bytes and packets come from the workers). Hard:
    // the data plane stops the SA if no rekey replaced it in time.
    auto hard = [](uint64_t soft) { return soft ? soft + soft / 10 + 1 : 0; };
    dp::SaLifetime lifetime;
    lifetime.soft_bytes = c.child_rekey_bytes;
    lifetime.hard_bytes = hard(c.child_rekey_bytes);
    lifetime.soft_packets = c.child_rekey_packets;
    lifetime.hard_packets = hard(c.child_rekey_packets);
    lifetime.hard_seconds = c.child_rekey_s ? hard(c.child_rekey_s) + 5 : 0;
    conn.child.emplace(c.name, c.local, c.remote, lifetime, conn.peer.local_ts, conn.peer.remote_ts, c.spread);
    service.connections_.push_back(std::move(conn));
  }
  return service;
}

// Settings equal but for where they were written.
bool IkeService::same_settings(const cfg::ConnectionConfig& a, const cfg::ConnectionConfig& b) {
  cfg::ConnectionConfig x = a, y = b;
  x.line = y.line = 0;
  return x == y;
}

// A connection goes: its CHILD_SA and policies leave the data plane at once, and its IKE SA is
// deleted (RFC 7296 1.4.1). The Delete may wait behind an exchange in flight and may be lost, so
// the connection moves to closing_, where its IKE SA keeps its timers and retransmits until the
// peer answers, it gives up, or kClosingMs pass; nothing there touches the data plane.
void IkeService::end(dp::Gateway& gateway, Connection&& c) {
  c.stopped = true;
  c.initiate = c.trap = false;
  c.child->remove(gateway, false);
  c.child->clear_policies(gateway);
  c.half_open.reset();
  if (!c.sa || c.sa->state() != ike::IkeState::kEstablished) return;
  c.sa->close();
  c.retry_at = now_ms_ + kClosingMs;  // the deadline
  closing_.push_back(std::move(c));
  send_outbox(gateway, closing_.back(), *closing_.back().sa);
}

// Sends what waits for the workers once they have taken every change (or, should a worker be
// stuck, after kHoldMs: IKE must not stall with it).
void IkeService::release_held(dp::Gateway& gateway) {
  if (held_.empty() || (!gateway.updates_delivered() && now_ms_ < held_since_ + kHoldMs)) return;
  for (dp::LocalDatagram& d : held_) gateway.send_datagram(d);
  held_.clear();
}

void IkeService::send_outbox(dp::Gateway& gateway, const Connection& c, ike::IkeSa& sa) {
  const ike::Path& p = sa.path();
  for (ike::Bytes& datagram : sa.take_outbox())
    gateway.send_datagram({family_of(c.local), c.local.bytes, c.remote.bytes, p.local_port, p.remote_port, std::move(datagram)});
}

// Datagrams for a closing IKE SA (the answer to its Delete), its retransmissions, and its end.
bool IkeService::to_closing(dp::Gateway& gateway, const dp::LocalDatagram& d) {
  for (Connection& c : closing_) {
    if (family_of(c.local) != d.family || c.local.bytes != d.destination || c.remote.bytes != d.source ||
        !c.sa->owns(d.payload))
      continue;
    ike::Path from{network_bytes({c.local.family, d.destination}), network_bytes({c.local.family, d.source}),
                   d.destination_port, d.source_port};
    (void)c.sa->receive(d.payload, from, now_ms_);
    send_outbox(gateway, c, *c.sa);
    (void)c.sa->take_events();  // its CHILD_SA left the data plane when it was ended
    return true;
  }
  return false;
}

void IkeService::tick_closing(dp::Gateway& gateway) {
  for (Connection& c : closing_) {
    c.sa->tick(now_ms_);
    send_outbox(gateway, c, *c.sa);
    (void)c.sa->take_events();
  }
  std::erase_if(closing_, [&](const Connection& c) { return over(c.sa) || now_ms_ >= c.retry_at; });
}

IkeReconfigured IkeService::reconfigure(dp::Gateway& gateway, IkeService next) {
  IkeReconfigured summary;
  now_ms_ = now_ms();
  std::vector<Connection> kept;
  std::vector<bool> taken(connections_.size(), false);
  for (Connection& fresh : next.connections_) {
    auto old = std::find_if(connections_.begin(), connections_.end(), [&](const Connection& c) { return c.name == fresh.name; });
    size_t index = static_cast<size_t>(old - connections_.begin());
    if (old != connections_.end() && same_settings(old->config, fresh.config)) {
      old->config.line = fresh.config.line;
      kept.push_back(std::move(*old));
      taken[index] = true;
      ++summary.unchanged;
      continue;
    }
    if (old != connections_.end()) {
      LOG_INFO("ike", "%s: changed: restarting it", old->name.c_str());
      end(gateway, std::move(*old));
      taken[index] = true;
      ++summary.restarted;
    } else {
      LOG_INFO("ike", "%s: added", fresh.name.c_str());
      ++summary.added;
    }
    kept.push_back(std::move(fresh));
  }
  for (size_t i = 0; i < connections_.size(); ++i) {
    if (taken[i]) continue;
    LOG_INFO("ike", "%s: removed: deleting its IKE SA", connections_[i].name.c_str());
    end(gateway, std::move(connections_[i]));
    ++summary.removed;
  }
  connections_ = std::move(kept);
  return summary;
}

size_t IkeService::close_all(dp::Gateway& gateway) {
  now_ms_ = now_ms();
  size_t deletes = 0;
  for (Connection& c : connections_) {
    deletes += c.sa && c.sa->state() == ike::IkeState::kEstablished;
    end(gateway, std::move(c));
  }
  connections_.clear();
  return deletes;
}

IkeService::Connection* IkeService::find(const std::string& name) {
  for (Connection& c : connections_)
    if (c.name == name) return &c;
  return nullptr;
}

size_t IkeService::half_open() const {
  size_t n = 0;
  for (const Connection& c : connections_) n += c.half_open.has_value();
  return n;
}

Result<void> IkeService::listen(dp::Gateway& gateway) {
  for (uint16_t port : ike::kIkePorts)
    if (auto r = gateway.listen_udp(port); !r) return r;
  return {};
}

void IkeService::poll(dp::Gateway& gateway) {
  now_ms_ = now_ms();
  // An SA of ours that reached a soft limit (or worse) gets its CHILD_SA rekeyed.
  for (const dp::SaEvent& e : gateway.take_sa_events())
    for (Connection& c : connections_)
      if (c.sa && c.sa->state() == ike::IkeState::kEstablished && (e.spi == c.child->inbound_spi() || e.spi == c.child->outbound_spi())) {
        LOG_INFO("ike", "%s: CHILD_SA 0x%08x reached its lifetime: rekeying", c.name.c_str(), e.spi);
        c.sa->rekey_child();
      }
  // Traffic met a trap connection's policy: start its IKE SA (at most every 5 s).
  for (const std::string& slot : gateway.take_missing_sas())
    for (Connection& c : connections_)
      if (c.trap && !c.stopped && slot == c.name + "-out" && now_ms_ >= c.retry_at)
        start(gateway, c, "initiating for the traffic its policy caught (trap)");
  release_held(gateway);
  tick_closing(gateway);
  for (const dp::LocalDatagram& d : gateway.take_datagrams(ike::kIkePorts)) {
    if (to_closing(gateway, d)) continue;
    Connection* match = nullptr;
    for (Connection& c : connections_)
      if (family_of(c.local) == d.family && c.local.bytes == d.destination && c.remote.bytes == d.source) match = &c;
    if (match == nullptr) {
      ++totals_.unknown_peer;
      if (now_ms_ >= quiet_until_.unknown_peer) {  // a peer can send these at any rate: one line a second
        quiet_until_.unknown_peer = now_ms_ + 1000;
        cfg::IpAddress source{d.family == dp::IpFamily::kIpv4 ? cfg::Family::kIpv4 : cfg::Family::kIpv6, d.source};
        LOG_INFO("ike", "a datagram from %s, which no connection names: dropped (%llu so far; show ike)",
                 cfg::to_string(source).c_str(),
                 static_cast<unsigned long long>(totals_.unknown_peer));
      }
      continue;
    }
    handle(gateway, *match, d, now_ms_);
  }
  for (Connection& c : connections_) {
    for (auto* sa : {&c.sa, &c.half_open})
      if (*sa) {
        (*sa)->tick(now_ms_);
        drain(gateway, c, **sa);
      }
    if (over(c.half_open) || (c.half_open && now_ms_ >= c.half_open_since + kHalfOpenMs)) c.half_open.reset();
    if (over(c.sa)) {
      LOG_INFO("ike", "%s: IKE SA %s: %s", c.name.c_str(), state_text(c.sa->state()), c.sa->failure().c_str());
      c.child->remove(gateway, c.trap);
      c.retry_at = now_ms_ + kRestartMs;
      c.sa.reset();
    }
    if (c.trap && !c.trap_installed) c.trap_installed = c.child->install_trap(gateway);
    if (c.initiate && !c.stopped && now_ms_ >= c.retry_at) start(gateway, c, "initiating");
  }
}

void IkeService::start(dp::Gateway& gateway, Connection& c, const char* why) {
  if (c.sa || c.half_open) return;
  ike::Path path{network_bytes(c.local), network_bytes(c.remote), ike::kIkePort, ike::kIkePort};
  c.sa.emplace(ike::IkeSa::initiator(c.peer, path));
  c.retry_at = now_ms_ + kRestartMs;
  if (auto r = c.sa->start(now_ms_); !r) {
    LOG_WARN("ike", "%s: %s", c.name.c_str(), r.message().c_str());
    c.sa.reset();
    return;
  }
  LOG_INFO("ike", "%s: %s", c.name.c_str(), why);
  drain(gateway, c, *c.sa);
}

void IkeService::handle(dp::Gateway& gateway, Connection& c, const dp::LocalDatagram& d, uint64_t now) {
  ike::Path from{network_bytes({c.local.family, d.destination}), network_bytes({c.local.family, d.source}), d.destination_port,
                 d.source_port};
  ike::IkeSa* sa = nullptr;
  bool first_message = false;  // of a new IKE SA from the peer
  if (c.sa && c.sa->owns(d.payload)) {
    sa = &*c.sa;
  } else if (c.half_open && c.half_open->owns(d.payload)) {
    sa = &*c.half_open;
  } else {
    // A new IKE SA from the peer (its first IKE_SA_INIT, or one after it restarted). It stands
    // beside the current one until its IKE_AUTH completes, so a forged IKE_SA_INIT cannot
    // take a working tunnel down; with too many half open, a cookie must come first (2.6).
    bool init_request = d.payload.size() >= ike::kHeaderLength && d.payload[18] == std::byte{34} &&
                        (static_cast<uint8_t>(d.payload[19]) & ike::kFlagResponse) == 0;
    if (!init_request || c.stopped) {
      ++totals_.unknown_spi;
      return;
    }
    // A connection has room for one half-open IKE SA: a second IKE_SA_INIT while one waits is a
    // flood or a restart, and must prove its address before it takes the place.
    bool cookie_required = c.half_open || half_open() >= kCookieThreshold;
    if (auto answer = cookie_required ? cookies_.check(d.payload, from.remote, now) : std::nullopt) {
      if (answer->empty()) {
        ++totals_.bad_init;
        return;
      }
      ++totals_.cookies_sent;
      gateway.send_datagram({d.family, d.destination, d.source, d.destination_port, d.source_port, std::move(*answer)});
      return;
    }
    c.half_open.emplace(ike::IkeSa::responder(c.peer, from));
    c.half_open_since = now;
    sa = &*c.half_open;
    first_message = true;
  }
  uint64_t cp_before = sa->counters().cp_unanswered;
  auto received = sa->receive(d.payload, from, now);
  if (!received) LOG_DEBUG("ike", "%s: %s", c.name.c_str(), received.message().c_str());
  if (sa->counters().cp_unanswered > cp_before && now_ms_ >= quiet_until_.cp_unanswered) {
    quiet_until_.cp_unanswered = now_ms_ + 1000;
    LOG_INFO("ike", "%s: the peer asked for an inside address or servers (CP request), which this gateway "
             "does not assign: not answered (3.15.4), the tunnel goes on without one", c.name.c_str());
  }
  drain(gateway, c, *sa);
  // Malformed, or refused (INVALID_KE_PAYLOAD leaves it idle, NO_PROPOSAL_CHOSEN failed): no state kept.
  if (c.half_open && (c.half_open->state() == ike::IkeState::kIdle ||
                      (first_message && c.half_open->state() == ike::IkeState::kFailed))) {
    ++totals_.bad_init;
    if (now_ms_ >= quiet_until_.bad_init) {
      quiet_until_.bad_init = now_ms_ + 1000;
      std::string why = !received ? received.message()
                        : c.half_open->state() == ike::IkeState::kFailed ? c.half_open->failure()
                                                                          : "answered with an error notify";
      LOG_INFO("ike", "%s: an IKE_SA_INIT refused (%s; %llu so far)", c.name.c_str(), why.c_str(),
               static_cast<unsigned long long>(totals_.bad_init));
    }
    c.half_open.reset();
  }
  if (c.half_open && c.half_open->state() == ike::IkeState::kEstablished) {
    // The peer's new IKE SA stands (INITIAL_CONTACT or not, the old one is of no use to it):
    // it replaces ours, whose CHILD_SA its own has just replaced in the data plane.
    if (c.sa) LOG_INFO("ike", "%s: the peer's new IKE SA replaces %016llx", c.name.c_str(),
                       static_cast<unsigned long long>(c.sa->initiator_spi()));
    c.sa = std::move(c.half_open);
    c.half_open.reset();
    // Its CHILD_SA (installed by drain above) replaced the old one; without one, the old CHILD_SA
    // has no IKE SA left to rekey or delete it. Its selectors may differ from the old ones.
    if (const auto& child = c.sa->child())
      c.child->set_policies(gateway, child->local_ts, child->remote_ts, true, c.trap);
    else
      c.child->remove(gateway, c.trap);
  }
}

// Make-before-break: the CHILD_SA events are applied first, and when they installed an SA, what
// IKE sends next (a CREATE_CHILD_SA answer, the Delete of the SA it replaces) waits until every
// worker has taken the change: the peer may switch to the new SA as soon as it reads either.
void IkeService::drain(dp::Gateway& gateway, Connection& c, ike::IkeSa& sa) {
  bool installed = false;
  for (const ike::ChildEvent& e : sa.take_events())
    installed |= c.child->apply(gateway, e, sa.udp_encapsulation(), sa.path().remote_port, c.trap);
  if (installed && held_.empty()) held_since_ = now_ms_;
  if (installed || !held_.empty()) {  // behind what is held already: the order stays
    const ike::Path& p = sa.path();
    for (ike::Bytes& datagram : sa.take_outbox())
      held_.push_back({family_of(c.local), c.local.bytes, c.remote.bytes, p.local_port, p.remote_port, std::move(datagram)});
    release_held(gateway);
  } else {
    send_outbox(gateway, c, sa);
  }
  if (sa.state() == ike::IkeState::kEstablished && !c.child->policies_installed() && c.child->outbound_spi())
    LOG_WARN("ike", "%s: CHILD_SA installed without its policies", c.name.c_str());
}

Result<void> IkeService::initiate(const std::string& name) {
  Connection* c = find(name);
  if (!c) return make_error(Errc::kNotFound, "no connection named " + name);
  if (c->sa && c->sa->state() == ike::IkeState::kEstablished) return make_error(Errc::kExists, name + " is established already");
  c->initiate = true;
  c->stopped = false;
  c->retry_at = 0;
  return {};
}

Result<void> IkeService::terminate(const std::string& name) {
  Connection* c = find(name);
  if (!c) return make_error(Errc::kNotFound, "no connection named " + name);
  if (!c->sa) return make_error(Errc::kNotFound, name + " has no IKE SA");
  c->stopped = true;
  c->sa->close();
  return {};
}

Result<void> IkeService::rekey(const std::string& name, bool ike_sa) {
  Connection* c = find(name);
  if (!c) return make_error(Errc::kNotFound, "no connection named " + name);
  if (!c->sa || c->sa->state() != ike::IkeState::kEstablished) return make_error(Errc::kNotFound, name + " is not established");
  if (ike_sa)
    c->sa->rekey_ike();
  else
    c->sa->rekey_child();
  return {};
}

std::vector<IkeConnectionStatus> IkeService::status() const {
  std::vector<IkeConnectionStatus> out;
  for (const Connection& c : connections_) {
    IkeConnectionStatus s{c.name, c.stopped ? "stopped" : "idle", "", false, 0, 0, 0, 0, "", "", false, {}, {}};
    const std::optional<ike::IkeSa>& sa = c.sa ? c.sa : c.half_open;
    if (sa) {
      s.state = state_text(sa->state());
      s.why = sa->failure();
      s.initiator = sa->is_initiator();
      s.initiator_spi = sa->initiator_spi();
      s.responder_spi = sa->responder_spi();
      if (sa->state() == ike::IkeState::kEstablished) s.suite = ike::suite_text(sa->suite());
      if (sa->child()) {
        s.inbound_spi = sa->child()->inbound_spi;
        s.outbound_spi = sa->child()->outbound_spi;
      }
      s.remote = address_text(c.remote) + ":" + std::to_string(sa->path().remote_port);
      s.nat = sa->udp_encapsulation();
      s.counters = sa->counters();
      s.keys = sa->keys();
    }
    out.push_back(s);
  }
  return out;
}

}  // namespace rampart::app
