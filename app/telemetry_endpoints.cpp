#include "app/telemetry_endpoints.hpp"

#include <rte_telemetry.h>

#include <atomic>
#include <cstdio>

#include "dataplane/gateway.hpp"

namespace rampart::app {

namespace {

// DPDK cannot unregister a telemetry command, so the callbacks check this before every use.
std::atomic<const dp::Gateway*> g_gateway{nullptr};

int counters(const char*, const char*, rte_tel_data* d) {
  const dp::Gateway* gw = g_gateway.load();
  if (gw == nullptr) return -1;
  rte_tel_data_start_dict(d);
  for (const auto& c : gw->counters()) rte_tel_data_add_dict_u64(d, std::string(c.name).c_str(), c.value);
  return 0;
}

int sas(const char*, const char*, rte_tel_data* d) {
  const dp::Gateway* gw = g_gateway.load();
  if (gw == nullptr) return -1;
  rte_tel_data_start_dict(d);
  for (const auto& s : gw->sa_snapshot()) {
    rte_tel_data* sa = rte_tel_data_alloc();
    if (sa == nullptr) return -1;
    rte_tel_data_start_dict(sa);
    rte_tel_data_add_dict_string(sa, "direction", s.params->direction == dp::SaDirection::kOutbound ? "outbound" : "inbound");
    rte_tel_data_add_dict_string(sa, "state", s.expired ? "expired" : "active");
    rte_tel_data_add_dict_u64(sa, "packets", s.packets);
    rte_tel_data_add_dict_u64(sa, "bytes", s.bytes);
    rte_tel_data_add_dict_u64(sa, "drops", s.drops);
    char name[32];
    std::snprintf(name, sizeof name, "0x%08x/%s", s.params->spi,
                  s.params->direction == dp::SaDirection::kOutbound ? "out" : "in");
    rte_tel_data_add_dict_container(d, name, sa, 0);  // keep_len 0: the dict takes and frees it
  }
  return 0;
}

}  // namespace

void register_telemetry(const dp::Gateway* gateway) {
  static bool registered = false;
  g_gateway.store(gateway);
  if (registered || gateway == nullptr) return;
  registered = true;
  rte_telemetry_register_cmd("/rampart/counters", counters, "Every rampartd counter, summed over workers.");
  rte_telemetry_register_cmd("/rampart/sa", sas, "Each SA: direction, state, packets, bytes, drops. No keys.");
}

}  // namespace rampart::app
