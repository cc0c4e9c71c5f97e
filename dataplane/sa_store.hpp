// The SA store, on the control core: every installed SA and the slots protect policies name
// them by, each owner's policies, the routes, and the Tables generation built from them. Each
// change is built aside, published to the workers over their update rings, and what it
// replaces is freed after the grace period (docs/architecture.md, "Live updates"). It also
// keeps SAs' lifetimes: the workers report bytes, packets and sequence numbers, it counts the
// seconds, and it hands what IKE rekeys on to take_sa_events().
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.hpp"
#include "crypto/mb_manager.hpp"
#include "dataplane/gateway_spec.hpp"
#include "dataplane/sa.hpp"
#include "dataplane/sad.hpp"
#include "dataplane/tables.hpp"

struct rte_ring;

namespace rampart::dp {

class UpdateChannel;

// The owner of the policies the config file and the console's edits make (SaStore::set_policies).
inline const std::string kConfigPolicies = "config";

class SaStore {
 public:
  // connected: the routes the ports' own prefixes make, which set_routes always keeps. The
  // store starts with them and the spec's routes, and no SA or policy; tag makes its DPDK
  // objects' names unique.
  static Result<std::unique_ptr<SaStore>> create(const GatewaySpec& spec, const std::string& tag,
                                                 std::vector<RouteSpec> connected, UpdateChannel& updates);
  ~SaStore();  // only once no worker runs and the update channel's retired objects are freed

  // Installs an SA. An SA of the same name is replaced, make-before-break: outbound traffic moves
  // to the new SA at once; a replaced inbound SA keeps opening packets in flight for
  // rekey_linger_ms, then goes. Install the inbound half of a rekey first. A new name goes to the
  // worker owning the fewest SAs of its direction; a replacement keeps its name's owner.
  Result<void> install_sa(const SaParams& params);
  Result<void> remove_sa(const std::string& name);
  // Replaces one owner's policies (both directions), and only those; the SPDs are built from
  // every owner's, the file's first.
  Result<void> set_policies(const std::string& owner, const std::vector<PolicySpec>& policies);
  // Replaces the configured routes (connected prefixes stay).
  Result<void> set_routes(const std::vector<RouteSpec>& routes);

  const std::vector<PolicySpec>& policies() const noexcept { return policies_; }  // every owner's, as built
  const std::vector<PolicySpec>& policies(const std::string& owner) const;
  const std::vector<RouteSpec>& routes() const noexcept { return routes_spec_; }  // connected, then configured
  size_t size() const noexcept { return sas_.size(); }  // lingering ones included
  // SAs each worker owns (lingering ones included), by worker index.
  const std::vector<unsigned>& owned() const noexcept { return owned_; }

  // What workers read: the current generation, and the SAD (lock-free readers).
  const Tables* tables() const noexcept { return tables_; }
  const Sad& sad() const noexcept { return *sad_; }
  // Each slot's outbound SA now, for a worker that attaches (out has room for max_sas).
  void copy_slots(SaRuntime** out) const noexcept;

  // The workers' SaEvents (lifetimes, sequence numbers, acquires) and the time lifetimes; then
  // the replaced inbound SAs whose linger is over go. now is the TSC.
  void poll(const std::vector<rte_ring*>& event_rings, uint64_t now);
  // Soft and hard lifetimes and sequence numbers near their end, since the last call: what IKE
  // rekeys on (at most 1024 wait; more are logged only).
  std::vector<SaEvent> take_sa_events() { return std::exchange(sa_events_, {}); }
  // Names of SA slots whose protect policies met traffic with no SA installed, since the last
  // call (PF_KEY's acquire, RFC 2367); a name may repeat.
  std::vector<std::string> take_missing_sas() { return std::exchange(missing_sas_, {}); }

  // Every SA, current and lingering: f(const SaRuntime&, bool lingering).
  template <typename F>
  void for_each(F&& f) const {
    for (const InstalledSa& installed : sas_) f(*installed.runtime, installed.linger_until != 0);
  }

 private:
  // A slot is what a protect policy points at: a name that outlives the SAs it names, so a rekey
  // changes one slot's SA without touching the SPD. Workers keep their own copy of each slot's
  // outbound SA, updated over their rings.
  struct Slot {
    std::string name;
    SaRuntime* outbound = nullptr;
    unsigned users = 0;  // installed SAs and policies that name it
  };
  struct InstalledSa {
    std::unique_ptr<SaRuntime> runtime;
    uint64_t installed_tsc = 0;
    uint64_t linger_until = 0;  // TSC; non-zero: replaced inbound SA, removed then
    uint8_t time_state = 0;     // 0, 1 soft time reported, 2 hard time reached
  };
  SaStore(UpdateChannel& updates) : updates_(updates) {}
  uint32_t acquire_slot(const std::string& name);
  void release_slot(uint32_t slot);
  void bind_slot(uint32_t slot, SaRuntime* sa);
  void publish(std::shared_ptr<const Spd> out, std::shared_ptr<const Spd> in, std::shared_ptr<const RouteTable> routes);
  uint16_t egress_mtu_for(const SaParams& p, const RouteTable& routes) const;  // of the port to the peer
  uint16_t max_inner_for(const SaParams& p, const RouteTable& routes) const;
  // Takes an SA out of service (the SAD for inbound, unless its entry already names another SA;
  // its slot for outbound) and frees it after the grace period.
  void retire_sa(InstalledSa sa, bool in_sad = true);
  uint8_t least_loaded_worker(SaDirection direction) const noexcept;
  InstalledSa take_sa(size_t index);
  void poll_events(const std::vector<rte_ring*>& event_rings);
  void check_time_lifetimes(uint64_t now);
  void expire_lingering(uint64_t now);

  UpdateChannel& updates_;
  uint64_t (*clock_)() noexcept = nullptr;  // GatewaySpec::clock
  uint32_t max_sas_ = 0;
  uint64_t linger_cycles_ = 0;
  std::vector<uint16_t> port_mtus_;
  std::string tag_;
  std::unique_ptr<crypto::MbManager> mb_;  // the control core's: key schedules at install
  std::unique_ptr<Sad> sad_;
  const Tables* tables_ = nullptr;  // the generation last published
  uint64_t generation_ = 0;         // names each SPD and route table uniquely
  std::map<std::string, std::vector<PolicySpec>> owned_policies_;  // by owner
  std::vector<PolicySpec> policies_;   // every owner's, as built into tables_
  std::vector<RouteSpec> connected_;   // from the ports' addresses
  std::vector<RouteSpec> routes_spec_;  // connected and configured, as built into tables_
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_slots_;
  std::unordered_map<std::string, uint32_t> slot_of_;
  std::vector<InstalledSa> sas_;  // current, then lingering, in no particular order
  std::unordered_map<std::string, size_t> sa_by_name_;  // current SAs: name -> sas_ index
  uint64_t next_linger_end_ = UINT64_MAX;  // TSC: the earliest a lingering SA is due
  uint64_t next_time_check_ = 0;           // TSC: time lifetimes are checked ten times a second
  std::vector<SaEvent> sa_events_;
  std::vector<std::string> missing_sas_;
  std::vector<unsigned> owned_;  // per worker: SAs it owns
  std::vector<unsigned> owned_by_direction_[2];  // by SaDirection, per worker
  // Spread outbound SAs by SPI: the SA and the event kinds taken from its workers. Events name
  // SPIs only, so another outbound SA with the same SPI (two peers may pick one) shares its bits.
  struct SpreadEvents {
    const SaRuntime* sa;
    uint8_t taken;
  };
  std::unordered_map<uint32_t, SpreadEvents> spread_reported_;
};

}  // namespace rampart::dp
