#include "dataplane/snapshots.hpp"

#include <rte_ethdev.h>

#include <cstring>

#include "dataplane/path_counter.hpp"
#include "dataplane/routes.hpp"
#include "dataplane/sa_store.hpp"

namespace rampart::dp {

std::vector<SaSnapshot> sa_snapshot(const SaStore& store) {
  std::vector<SaSnapshot> out;
  out.reserve(store.size());
  store.for_each([&](const SaRuntime& sa, bool lingering) {
    SaTotals totals = sa_totals(sa);
    out.push_back({&sa.params, sa.state.load(std::memory_order_relaxed) == SaState::kExpired, lingering, sa.owner,
                   sa.spread, totals.packets, totals.bytes, totals.drops});
  });
  return out;
}

std::vector<WorkerSnapshot> worker_snapshot(const std::vector<unsigned>& lcores, const CounterTable& paths,
                                            const std::vector<unsigned>& owned) {
  std::vector<WorkerSnapshot> out;
  for (unsigned w = 0; w < lcores.size(); ++w) {
    const auto& lane = paths.lane(w);
    auto get = [&lane](PathCounter c) { return lane.get(static_cast<size_t>(c)); };
    out.push_back({lcores[w], get(PathCounter::kBusyCycles), get(PathCounter::kIdleCycles), get(PathCounter::kBusyPolls),
                   get(PathCounter::kRx), w < owned.size() ? owned[w] : 0, get(PathCounter::kHandedOut),
                   get(PathCounter::kHandedIn)});
  }
  return out;
}

std::vector<NeighbourSnapshot> neighbour_snapshot(const NeighbourTable& table) {
  std::vector<NeighbourSnapshot> out;
  table.for_each([&](bool v6, const uint8_t* key, const rte_ether_addr& mac) {
    NeighbourSnapshot n{v6 ? IpFamily::kIpv6 : IpFamily::kIpv4, {}, mac};
    if (v6) {
      std::memcpy(n.address.data(), key, 16);
    } else {
      uint32_t host;
      std::memcpy(&host, key, 4);
      uint32_t network = rte_cpu_to_be_32(host);
      std::memcpy(n.address.data(), &network, 4);
    }
    out.push_back(n);
  });
  return out;
}

std::vector<PortSnapshot> port_snapshot(const std::vector<Port>& ports) {
  std::vector<PortSnapshot> out;
  for (const Port& p : ports) {
    rte_eth_stats stats{};
    rte_eth_stats_get(p.id, &stats);
    out.push_back({&p.spec, p.mac, stats.ipackets, stats.opackets, stats.imissed});
  }
  return out;
}

}  // namespace rampart::dp
