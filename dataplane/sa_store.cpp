#include "dataplane/sa_store.hpp"

#include <rte_cycles.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <algorithm>
#include <cstdio>

#include "common/log.hpp"
#include "dataplane/burst.hpp"
#include "dataplane/update_channel.hpp"

namespace rampart::dp {

namespace {

constexpr uint32_t kNoSlot = UINT32_MAX;

std::string spi_text(uint32_t spi) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%08x", spi);
  return text;
}

constexpr size_t kMaxEvents = 1024;

const char* event_text(SaEventKind kind) {
  switch (kind) {
    case SaEventKind::kSoftLifetime: return "soft lifetime reached: rekey now";
    case SaEventKind::kHardLifetime: return "hard lifetime reached: the SA has stopped";
    case SaEventKind::kSeqOverflow: return "sequence numbers used up: the SA has stopped";
    case SaEventKind::kSeqNearOverflow: return "15/16 of the sequence numbers used: rekey now";
    case SaEventKind::kAcquire: return "traffic for a policy whose SA is not installed";
  }
  return "?";
}

}  // namespace

Result<std::unique_ptr<SaStore>> SaStore::create(const GatewaySpec& spec, const std::string& tag,
                                                 std::vector<RouteSpec> connected, UpdateChannel& updates) {
  if (spec.max_sas == 0) return make_error(Errc::kInvalidArgument, "max_sas must be at least 1");
  std::unique_ptr<SaStore> store(new SaStore(updates));
  store->clock_ = spec.clock ? spec.clock : [] () noexcept { return rte_get_tsc_cycles(); };
  store->max_sas_ = spec.max_sas;
  for (auto& owned : store->owned_by_direction_) owned.assign(std::max<size_t>(spec.worker_lcores.size(), 1), 0);
  store->owned_.assign(store->owned_by_direction_[0].size(), 0);
  store->linger_cycles_ = rte_get_tsc_hz() * spec.rekey_linger_ms / 1000;
  for (const PortSpec& p : spec.ports) store->port_mtus_.push_back(p.mtu);
  store->tag_ = tag;
  store->connected_ = std::move(connected);
  auto mb = crypto::MbManager::create();
  if (!mb) return mb.error();
  store->mb_ = std::make_unique<crypto::MbManager>(std::move(*mb));
  // Room for every SA and, during rekeys, the inbound SAs they replace.
  auto sad = Sad::create("rampart_sad" + tag, spec.max_sas * 2);
  if (!sad) return sad.error();
  store->sad_ = std::move(*sad);
  // Sized once, so that no install pauses the control core to grow them.
  store->sas_.reserve(spec.max_sas);
  store->sa_by_name_.reserve(spec.max_sas);
  store->slot_of_.reserve(spec.max_sas);
  store->slots_.reserve(spec.max_sas);
  if (auto r = store->set_routes(spec.routes); !r) return r.error();  // the first tables: no policy yet
  return store;
}

SaStore::~SaStore() { delete tables_; }

void SaStore::copy_slots(SaRuntime** out) const noexcept {
  for (size_t s = 0; s < slots_.size(); ++s) out[s] = slots_[s].outbound;
}

uint32_t SaStore::acquire_slot(const std::string& name) {
  if (auto it = slot_of_.find(name); it != slot_of_.end()) {
    ++slots_[it->second].users;
    return it->second;
  }
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else if (slots_.size() < max_sas_) {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  } else {
    return kNoSlot;
  }
  slots_[slot] = {name, nullptr, 1};
  slot_of_.emplace(name, slot);
  return slot;
}

// A slot no SA and no policy names any more can serve another name: no worker can still reach
// it through this one, since the SA that held it was unbound and the tables that named it were
// replaced, both by messages the workers see first.
void SaStore::release_slot(uint32_t slot) {
  if (--slots_[slot].users != 0) return;
  slot_of_.erase(slots_[slot].name);
  slots_[slot].name.clear();
  free_slots_.push_back(slot);
}

void SaStore::bind_slot(uint32_t slot, SaRuntime* sa) {
  slots_[slot].outbound = sa;
  updates_.broadcast({UpdateKind::kBindSlot, slot, sa});
}

void SaStore::publish(std::shared_ptr<const Spd> out, std::shared_ptr<const Spd> in,
                      std::shared_ptr<const RouteTable> routes) {
  const Tables* old = tables_;
  tables_ = new Tables{std::move(out), std::move(in), std::move(routes)};
  updates_.broadcast({UpdateKind::kTables, 0, tables_});
  if (old != nullptr) updates_.retire([old] { delete old; });
}

// The longest packet an outbound SA can carry without the ESP packet exceeding the MTU of the
// port its peer is routed through: outer headers, ESP header, IV, ICV, and a payload (packet +
// pad + 2) that ends on a 4-byte boundary (RFC 4303 2.4).
uint16_t SaStore::egress_mtu_for(const SaParams& p, const RouteTable& routes) const {
  uint16_t mtu = 1500;
  if (p.family == IpFamily::kIpv6) {
    if (const NextHop6* hop = routes.lookup6(p.tunnel_destination.data())) mtu = port_mtus_[hop->port];
  } else {
    uint32_t peer = uint32_t{p.tunnel_destination[0]} << 24 | uint32_t{p.tunnel_destination[1]} << 16 |
                    uint32_t{p.tunnel_destination[2]} << 8 | p.tunnel_destination[3];
    if (const NextHop* hop = routes.lookup(peer)) mtu = port_mtus_[hop->port];
  }
  return mtu;
}

uint16_t SaStore::max_inner_for(const SaParams& p, const RouteTable& routes) const {
  uint16_t mtu = egress_mtu_for(p, routes);
  bool v6 = p.family == IpFamily::kIpv6;
  // In front of the encrypted part: a new IP header (tunnel), or the packet's own (transport).
  unsigned header = v6 ? 40u : 20u;
  unsigned outer = header + (p.nat_t ? 8u : 0u);
  unsigned room = (mtu - outer - 8 - 8 - 16) & ~3u;  // for the encrypted payload
  unsigned inner = room - 2 + (p.mode == SaMode::kTunnel ? 0u : header);
  return static_cast<uint16_t>(inner);
}

Result<void> SaStore::install_sa(const SaParams& params) {
  if (params.name.empty()) return make_error(Errc::kInvalidArgument, "an SA needs a name");
  auto existing = sa_by_name_.find(params.name);
  if (existing != sa_by_name_.end() && sas_[existing->second].runtime->direction != params.direction)
    return make_error(Errc::kExists, "SA name \"" + params.name + "\" belongs to an SA of the other direction");
  // An inbound SA replaced under its own SPI (only its settings change) takes the SPI's SAD entry
  // over in one step; any other SPI must be free.
  bool same_spi = existing != sa_by_name_.end() && params.direction == SaDirection::kInbound &&
                  sas_[existing->second].runtime->params.spi == params.spi;
  if (params.direction == SaDirection::kInbound && !same_spi && sad_->contains(params.spi))
    return make_error(Errc::kExists, "inbound SPI " + spi_text(params.spi) + " is in use");
  if (existing == sa_by_name_.end() && sas_.size() >= max_sas_)
    return make_error(Errc::kNoMemory, "already " + std::to_string(max_sas_) + " SAs (max_sas)");
  auto created = create_sa(*mb_, params, updates_.workers());
  if (!created) return created.error();
  std::unique_ptr<SaRuntime> sa = std::move(*created);
  uint32_t slot = acquire_slot(params.name);
  if (slot == kNoSlot) return make_error(Errc::kNoMemory, "no SA slot left (max_sas)");
  sa->slot = slot;
  // One writer per SA: a rekey stays with the worker that had the name, so packets in flight under
  // the old SA and the first ones under the new are in one worker's hands, in order.
  sa->owner = existing != sa_by_name_.end() ? sas_[existing->second].runtime->owner : least_loaded_worker(params.direction);
  sa->max_inner = max_inner_for(params, *tables_->routes);
  sa->egress_mtu = egress_mtu_for(params, *tables_->routes);
  if (params.direction == SaDirection::kInbound) {
    if (auto r = sad_->add(params.spi, sa.get()); !r) {
      release_slot(slot);
      return r.error();
    }
  } else {
    bind_slot(slot, sa.get());  // outbound traffic of this name moves to the new SA here
  }
  if (sa->spread)
    LOG_INFO("gateway",
             "SA \"%s\" (0x%08x) outbound: spread over %u workers; its packets reach the peer up to %u apart out of "
             "order, so the peer's replay window should be 1024 or more (strongSwan's charon.replay_window is 32 by "
             "default)",
             params.name.c_str(), params.spi, sa->tally_count, sa->tally_count * kMaxBurst);
  if (params.direction == SaDirection::kInbound && params.replay_window == ReplayWindow::kOff)
    LOG_WARN("gateway", "SA \"%s\" (0x%08x) inbound: anti-replay is off (replay_window = 0): a replayed packet is accepted",
             params.name.c_str(), params.spi);
  ++owned_[sa->owner];
  ++owned_by_direction_[static_cast<size_t>(sa->direction)][sa->owner];
  if (sa->spread) spread_reported_[params.spi] = {sa.get(), 0};
  InstalledSa installed{std::move(sa), clock_(), 0, 0};
  if (existing == sa_by_name_.end()) {
    sa_by_name_.emplace(params.name, sas_.size());
    sas_.push_back(std::move(installed));
    return {};
  }
  InstalledSa replaced = std::move(sas_[existing->second]);
  sas_[existing->second] = std::move(installed);
  if (same_spi) {
    retire_sa(std::move(replaced), /*in_sad=*/false);  // the SAD entry already names the new SA
  } else if (replaced.runtime->direction == SaDirection::kInbound) {
    // Make-before-break: packets the peer sent under the old SPI may still be on the way.
    replaced.linger_until = clock_() + linger_cycles_;
    next_linger_end_ = std::min(next_linger_end_, replaced.linger_until);
    sas_.push_back(std::move(replaced));
  } else {
    retire_sa(std::move(replaced));
  }
  return {};
}

// By SAs of the direction owned, the lowest index first: traffic per SA is not known at install,
// and a count per direction spreads many tunnels evenly whichever way most of their traffic goes.
uint8_t SaStore::least_loaded_worker(SaDirection direction) const noexcept {
  const std::vector<unsigned>& owned = owned_by_direction_[static_cast<size_t>(direction)];
  return static_cast<uint8_t>(std::min_element(owned.begin(), owned.end()) - owned.begin());
}

void SaStore::retire_sa(InstalledSa installed, bool in_sad) {
  SaRuntime* sa = installed.runtime.release();
  // Only its own entry: a replacement under the same SPI has taken the SPI's already.
  if (auto it = spread_reported_.find(sa->params.spi); it != spread_reported_.end() && it->second.sa == sa)
    spread_reported_.erase(it);
  --owned_[sa->owner];
  --owned_by_direction_[static_cast<size_t>(sa->direction)][sa->owner];
  if (sa->direction == SaDirection::kInbound && in_sad) {
    auto position = sad_->remove(sa->params.spi);
    Sad* sad = sad_.get();
    int32_t at = position ? *position : -1;
    updates_.retire([sa, sad, at] {
      if (at >= 0) sad->free_position(at);
      delete sa;
    });
  } else {
    if (slots_[sa->slot].outbound == sa) bind_slot(sa->slot, nullptr);
    updates_.retire([sa] { delete sa; });  // the SAD lookups of this pass may still hold it
  }
  release_slot(sa->slot);
}

Result<void> SaStore::remove_sa(const std::string& name) {
  auto it = sa_by_name_.find(name);
  if (it == sa_by_name_.end()) return make_error(Errc::kNotFound, "no SA named \"" + name + "\"");
  size_t index = it->second;
  sa_by_name_.erase(it);
  retire_sa(take_sa(index));
  return {};
}

// Takes sas_[index] out; the last record takes its place (and its name's index follows it).
SaStore::InstalledSa SaStore::take_sa(size_t index) {
  InstalledSa taken = std::move(sas_[index]);
  if (index + 1 != sas_.size()) {
    sas_[index] = std::move(sas_.back());
    if (sas_[index].linger_until == 0) sa_by_name_[sas_[index].runtime->params.name] = index;
  }
  sas_.pop_back();
  return taken;
}

void SaStore::expire_lingering(uint64_t now) {
  if (now < next_linger_end_) return;  // the common case: no scan of every SA per control pass
  next_linger_end_ = UINT64_MAX;
  for (size_t i = 0; i < sas_.size();) {
    if (sas_[i].linger_until == 0 || sas_[i].linger_until > now) {
      if (sas_[i].linger_until != 0) next_linger_end_ = std::min(next_linger_end_, sas_[i].linger_until);
      ++i;
      continue;
    }
    retire_sa(take_sa(i));
  }
}

// Each owner's policies are kept apart and merged only here, when the SPDs are built: the file's
// first, then the others by owner name. Only the owner's own slots are taken and given back.
Result<void> SaStore::set_policies(const std::string& owner, const std::vector<PolicySpec>& policies) {
  std::vector<uint32_t> acquired;
  auto undo = [&] {
    for (uint32_t slot : acquired) release_slot(slot);
  };
  for (const PolicySpec& p : policies) {
    if (p.action != PolicyAction::kProtect) continue;
    if (p.sa.empty()) {
      undo();
      return make_error(Errc::kInvalidArgument, "policy " + p.name + ": protect needs an SA name");
    }
    uint32_t slot = acquire_slot(p.sa);
    if (slot == kNoSlot) {
      undo();
      return make_error(Errc::kNoMemory, "policy " + p.name + ": no SA slot left (max_sas)");
    }
    acquired.push_back(slot);
  }
  auto owned = owned_policies_;  // the tables to be: this owner's list replaced
  if (policies.empty())
    owned.erase(owner);
  else
    owned[owner] = policies;
  std::vector<PolicySpec> merged;
  auto add = [&](const std::vector<PolicySpec>& list) { merged.insert(merged.end(), list.begin(), list.end()); };
  if (auto config = owned.find(kConfigPolicies); config != owned.end()) add(config->second);
  for (const auto& [name, list] : owned)
    if (name != kConfigPolicies) add(list);
  std::vector<PolicySpec> rules[2];  // outbound, inbound
  std::vector<uint32_t> slots[2];
  for (const PolicySpec& p : merged) {
    int d = p.direction == SaDirection::kOutbound ? 0 : 1;
    rules[d].push_back(p);
    slots[d].push_back(p.action == PolicyAction::kProtect ? slot_of_.at(p.sa) : kNoSlot);
  }
  ++generation_;
  auto out = Spd::build("spd_out" + tag_ + "_" + std::to_string(generation_), rules[0], slots[0]);
  if (!out) {
    undo();
    return out.error();
  }
  auto in = Spd::build("spd_in" + tag_ + "_" + std::to_string(generation_), rules[1], slots[1]);
  if (!in) {
    undo();
    return in.error();
  }
  publish(std::move(*out), std::move(*in), tables_->routes);
  if (auto before = owned_policies_.find(owner); before != owned_policies_.end())
    for (const PolicySpec& p : before->second)
      if (p.action == PolicyAction::kProtect) release_slot(slot_of_.at(p.sa));
  owned_policies_ = std::move(owned);
  policies_ = std::move(merged);
  return {};
}

const std::vector<PolicySpec>& SaStore::policies(const std::string& owner) const {
  static const std::vector<PolicySpec> kNone;
  auto it = owned_policies_.find(owner);
  return it == owned_policies_.end() ? kNone : it->second;
}

Result<void> SaStore::set_routes(const std::vector<RouteSpec>& routes) {
  for (const RouteSpec& r : routes)
    if (r.port >= port_mtus_.size()) return make_error(Errc::kInvalidArgument, "a route names a port that is not there");
  std::vector<RouteSpec> all = connected_;
  all.insert(all.end(), routes.begin(), routes.end());
  ++generation_;
  auto table = RouteTable::build("routes" + tag_ + "_" + std::to_string(generation_), all);
  if (!table) return table.error();
  std::shared_ptr<const Spd> out, in;
  if (tables_ != nullptr) {
    out = tables_->spd_out;
    in = tables_->spd_in;
  } else {  // the first tables: no policy yet
    auto empty_out = Spd::build("spd_out" + tag_ + "_" + std::to_string(generation_), {}, {});
    auto empty_in = Spd::build("spd_in" + tag_ + "_" + std::to_string(generation_), {}, {});
    if (!empty_out) return empty_out.error();
    if (!empty_in) return empty_in.error();
    out = std::move(*empty_out);
    in = std::move(*empty_in);
  }
  publish(std::move(out), std::move(in), std::move(*table));
  routes_spec_ = std::move(all);
  return {};
}

void SaStore::poll(const std::vector<rte_ring*>& event_rings, uint64_t now) {
  poll_events(event_rings);
  check_time_lifetimes(now);
  expire_lingering(now);
}

// Workers report byte and packet lifetimes, sequence overflow and acquires.
void SaStore::poll_events(const std::vector<rte_ring*>& event_rings) {
  SaEvent event;
  for (rte_ring* ring : event_rings)
    while (rte_ring_dequeue_elem(ring, &event, sizeof event) == 0) {
      if (event.kind == SaEventKind::kAcquire) {
        if (event.spi < slots_.size() && slots_[event.spi].users != 0 && missing_sas_.size() < kMaxEvents)
          missing_sas_.push_back(slots_[event.spi].name);
        continue;
      }
      // Each worker of a spread SA reports from its own tally: the first report of a kind stands.
      if (auto spread = spread_reported_.find(event.spi);
          event.direction == SaDirection::kOutbound && spread != spread_reported_.end()) {
        uint8_t bit = static_cast<uint8_t>(1u << static_cast<unsigned>(event.kind));
        if (spread->second.taken & bit) continue;
        spread->second.taken |= bit;
      }
      LOG_WARN("gateway", "SA 0x%08x %s: %s", event.spi,
               event.direction == SaDirection::kOutbound ? "outbound" : "inbound", event_text(event.kind));
      if (sa_events_.size() < kMaxEvents) sa_events_.push_back(event);
    }
}

// Seconds are counted here, and an SA past its hard time is stopped (workers see its state at
// their next run of it).
void SaStore::check_time_lifetimes(uint64_t now) {
  if (now < next_time_check_) return;
  next_time_check_ = now + rte_get_tsc_hz() / 10;
  for (InstalledSa& installed : sas_) {
    SaRuntime& sa = *installed.runtime;
    const SaLifetime& life = sa.params.lifetime;
    if (life.soft_seconds == 0 && life.hard_seconds == 0) continue;
    uint64_t seconds = (now - installed.installed_tsc) / rte_get_tsc_hz();
    const char* direction = sa.direction == SaDirection::kOutbound ? "outbound" : "inbound";
    if (life.soft_seconds && seconds >= life.soft_seconds && installed.time_state < 1) {
      installed.time_state = 1;
      LOG_WARN("gateway", "SA 0x%08x %s: soft time lifetime (%llu s) reached: rekey now", sa.params.spi, direction,
               static_cast<unsigned long long>(life.soft_seconds));
      if (sa_events_.size() < kMaxEvents) sa_events_.push_back({sa.params.spi, sa.direction, SaEventKind::kSoftLifetime});
    }
    if (life.hard_seconds && seconds >= life.hard_seconds && installed.time_state < 2) {
      installed.time_state = 2;
      sa.state.store(SaState::kExpired, std::memory_order_relaxed);
      LOG_WARN("gateway", "SA 0x%08x %s: hard time lifetime (%llu s) reached: the SA has stopped", sa.params.spi,
               direction, static_cast<unsigned long long>(life.hard_seconds));
      if (sa_events_.size() < kMaxEvents) sa_events_.push_back({sa.params.spi, sa.direction, SaEventKind::kHardLifetime});
    }
  }
}

}  // namespace rampart::dp
