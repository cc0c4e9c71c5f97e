// The SA store alone: installs, replacements and removals, lingering inbound SAs, time
// lifetimes and the workers' events, with the clock in the test's hands.
#include <catch2/catch.hpp>
#include <rte_cycles.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dataplane/sa_store.hpp"
#include "dataplane/snapshots.hpp"
#include "dataplane/update_channel.hpp"
#include "tests/support/specs.hpp"

using namespace rampart;
using namespace rampart::test;

namespace {

std::atomic<uint64_t> g_now{0};
uint64_t test_now() noexcept { return g_now.load(); }

struct StoreRig {
  std::unique_ptr<dp::UpdateChannel> updates;
  std::unique_ptr<dp::SaStore> store;
  rte_ring* events = rte_ring_create_elem("sas_events", sizeof(dp::SaEvent), 64, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
  uint64_t hz = rte_get_tsc_hz();

  explicit StoreRig(unsigned workers = 1) : updates(dp::UpdateChannel::create(workers).value()) {
    g_now = 1000 * hz;
    dp::GatewaySpec spec;
    spec.max_sas = 4;
    spec.rekey_linger_ms = 200;
    spec.clock = test_now;
    spec.ports = {dp::ipv4_port("inside", "none", dp::PortRole::kProtected, {ip4(192, 0, 2, 1), 24}),
                  dp::ipv4_port("outside", "none", dp::PortRole::kPublic, {ip4(198, 51, 100, 1), 24}, 1400)};
    auto created = dp::SaStore::create(spec, "_sas", {dp::ipv4_route({ip4(198, 51, 100, 0), 24}, 0, 1)}, *updates);
    INFO((created.ok() ? "" : created.message()));
    REQUIRE(created.ok());
    store = std::move(*created);
  }
  ~StoreRig() {
    updates.reset();  // what waits for the grace period first: it may use the store's SAD
    store.reset();
    rte_ring_free(events);
  }
  void poll_at(uint64_t ms) { store->poll({events}, 1000 * hz + ms * hz / 1000); }
  size_t lingering() const {
    size_t n = 0;
    store->for_each([&](const dp::SaRuntime&, bool lingers) { n += lingers; });
    return n;
  }
};

dp::SaParams outbound(std::string name, uint32_t spi) {
  return tunnel_sa(std::move(name), spi, dp::SaDirection::kOutbound, ip4(198, 51, 100, 1), ip4(198, 51, 100, 2));
}
dp::SaParams inbound(std::string name, uint32_t spi) {
  return tunnel_sa(std::move(name), spi, dp::SaDirection::kInbound, ip4(198, 51, 100, 2), ip4(198, 51, 100, 1));
}

}  // namespace

TEST_CASE_METHOD(StoreRig, "the SA store installs, replaces make-before-break, and removes", "[dp][sa_store]") {
  REQUIRE(store->install_sa(outbound("out", 0x100)).ok());
  REQUIRE(store->install_sa(inbound("in", 0x200)).ok());
  CHECK(store->sad().contains(0x200));
  std::vector<dp::SaRuntime*> slots(4);
  store->copy_slots(slots.data());
  REQUIRE(slots[0] != nullptr);  // "out" took slot 0, bound to its outbound SA
  CHECK(slots[0]->params.spi == 0x100);
  CHECK(slots[0]->egress_mtu == 1400);  // the MTU of the port the route to its peer leaves by

  // Refusals that say why and change nothing.
  auto in_use = store->install_sa(inbound("other", 0x200));
  REQUIRE_FALSE(in_use.ok());
  CHECK(in_use.message().find("in use") != std::string::npos);
  CHECK_FALSE(store->install_sa(inbound("out", 0x300)).ok());  // the name belongs to an outbound SA
  REQUIRE(store->set_policies(dp::kConfigPolicies, {policy(dp::SaDirection::kOutbound, {ip4(192, 0, 2, 0), 24},
                                                           {ip4(203, 0, 113, 0), 24}, dp::PolicyAction::kProtect, "out")})
              .ok());
  CHECK(store->policies().size() == 1);
  CHECK(store->policies("ike/somebody").empty());

  // A rekey of the inbound SA: the new SPI beside the old, which lingers, then goes.
  REQUIRE(store->install_sa(inbound("in", 0x201)).ok());
  CHECK(store->sad().contains(0x200));
  CHECK(store->sad().contains(0x201));
  CHECK(lingering() == 1);
  // What the console sees of it: a snapshot with the old SA marked lingering.
  auto snapshot = dp::sa_snapshot(*store);
  REQUIRE(snapshot.size() == 3);
  for (const dp::SaSnapshot& sa : snapshot) {
    CHECK(sa.lingering == (sa.params->spi == 0x200));
    CHECK_FALSE(sa.expired);
    CHECK(sa.packets == 0);
  }
  poll_at(100);
  CHECK(store->sad().contains(0x200));  // within its 200 ms
  poll_at(250);
  CHECK_FALSE(store->sad().contains(0x200));
  CHECK(lingering() == 0);

  // An outbound rekey moves the slot at once.
  REQUIRE(store->install_sa(outbound("out", 0x101)).ok());
  store->copy_slots(slots.data());
  CHECK(slots[0]->params.spi == 0x101);

  // max_sas = 4: "out", "in", and two more.
  REQUIRE(store->install_sa(inbound("c", 0x400)).ok());
  REQUIRE(store->install_sa(inbound("d", 0x500)).ok());
  auto full = store->install_sa(inbound("e", 0x600));
  REQUIRE_FALSE(full.ok());
  CHECK(full.message().find("max_sas") != std::string::npos);

  REQUIRE(store->remove_sa("out").ok());
  store->copy_slots(slots.data());
  CHECK(slots[0] == nullptr);  // its policy stays, its slot now empty: drop_no_sa
  CHECK_FALSE(store->remove_sa("out").ok());
  updates->reclaim();
  CHECK(updates->pending() == 0);
}

TEST_CASE_METHOD(StoreRig, "time lifetimes come from the clock; the workers' events pass through", "[dp][sa_store]") {
  dp::SaParams p = outbound("out", 0x100);
  p.lifetime.soft_seconds = 1;
  p.lifetime.hard_seconds = 2;
  REQUIRE(store->install_sa(p).ok());
  poll_at(500);
  CHECK(store->take_sa_events().empty());
  poll_at(1100);
  auto soft = store->take_sa_events();
  REQUIRE(soft.size() == 1);
  CHECK(soft[0].kind == dp::SaEventKind::kSoftLifetime);
  CHECK(soft[0].spi == 0x100);
  poll_at(2200);
  auto hard = store->take_sa_events();
  REQUIRE(hard.size() == 1);
  CHECK(hard[0].kind == dp::SaEventKind::kHardLifetime);
  std::vector<dp::SaRuntime*> slots(4);
  store->copy_slots(slots.data());
  CHECK(slots[0]->state.load() == dp::SaState::kExpired);
  poll_at(5000);
  CHECK(store->take_sa_events().empty());  // each once

  // A worker met a policy whose SA is missing (slot 1, a policy's name), and a byte lifetime.
  REQUIRE(store->set_policies("ike/trap", {policy(dp::SaDirection::kOutbound, {ip4(192, 0, 2, 0), 24},
                                                  {ip4(203, 0, 113, 0), 24}, dp::PolicyAction::kProtect, "trap-out")})
              .ok());
  dp::SaEvent acquire{1, dp::SaDirection::kOutbound, dp::SaEventKind::kAcquire};
  dp::SaEvent bytes{0x100, dp::SaDirection::kOutbound, dp::SaEventKind::kSoftLifetime};
  dp::SaEvent stale{3, dp::SaDirection::kOutbound, dp::SaEventKind::kAcquire};  // a slot nobody names
  for (dp::SaEvent* e : {&acquire, &bytes, &stale}) REQUIRE(rte_ring_enqueue_elem(events, e, sizeof *e) == 0);
  poll_at(5100);
  CHECK(store->take_missing_sas() == std::vector<std::string>{"trap-out"});
  CHECK(store->take_sa_events().size() == 1);
}

struct TwoWorkerRig : StoreRig {
  TwoWorkerRig() : StoreRig(2) {}
};

TEST_CASE_METHOD(TwoWorkerRig, "a spread SA's workers each report its lifetimes; the store passes each kind on once",
                 "[dp][sa_store][spread]") {
  dp::SaParams p = outbound("big", 0x100);
  p.spread = true;
  REQUIRE(store->install_sa(p).ok());
  REQUIRE(store->install_sa(outbound("small", 0x200)).ok());
  for (const auto& s : dp::sa_snapshot(*store)) CHECK(s.spread == (s.params->name == "big"));

  auto report = [&](uint32_t spi, dp::SaEventKind kind) {
    dp::SaEvent e{spi, dp::SaDirection::kOutbound, kind};
    REQUIRE(rte_ring_enqueue_elem(events, &e, sizeof e) == 0);
  };
  for (int worker = 0; worker < 2; ++worker) {
    report(0x100, dp::SaEventKind::kSoftLifetime);
    report(0x100, dp::SaEventKind::kSeqNearOverflow);
  }
  report(0x200, dp::SaEventKind::kSoftLifetime);
  poll_at(10);
  auto taken = store->take_sa_events();
  REQUIRE(taken.size() == 3);
  CHECK(taken[0].spi == 0x100);
  CHECK(taken[0].kind == dp::SaEventKind::kSoftLifetime);
  CHECK(taken[1].kind == dp::SaEventKind::kSeqNearOverflow);
  CHECK(taken[2].spi == 0x200);

  // The rekey's SA is new: its workers' first reports count again.
  p.spi = 0x300;
  REQUIRE(store->install_sa(p).ok());
  report(0x300, dp::SaEventKind::kSoftLifetime);
  report(0x300, dp::SaEventKind::kSoftLifetime);
  poll_at(20);
  CHECK(store->take_sa_events().size() == 1);

  // The same SPI again, a new key by hand: the old SA's retirement leaves the new one's entry.
  p.key[0] = std::byte{0x55};
  REQUIRE(store->install_sa(p).ok());
  report(0x300, dp::SaEventKind::kSoftLifetime);
  report(0x300, dp::SaEventKind::kSoftLifetime);
  poll_at(30);
  CHECK(store->take_sa_events().size() == 1);
  updates->reclaim();
}
