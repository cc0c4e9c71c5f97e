#include "app/telemetry_endpoints.hpp"

#include <rte_telemetry.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>
#include <tuple>

#include "dataplane/gateway.hpp"

namespace rampart::app {

namespace {

constexpr uint64_t kFreshMs = 100;    // a snapshot this young answers without asking for another
constexpr int kWaitForFreshMs = 500;  // how long a request waits for the control core
// A page of /rampart/sa/list must fit DPDK's 16 KB reply and its array limit, names quoted.
constexpr size_t kPageEntries = 256;
constexpr size_t kPageBytes = 12 * 1024;

uint64_t steady_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

// Shared by the control core (publishing) and DPDK's telemetry thread (reading). DPDK cannot
// unregister a command, so the endpoints outlive any publisher and check `live`.
struct Published {
  std::atomic<std::shared_ptr<const TelemetrySnapshot>> snapshot;
  std::atomic<bool> wanted{false};
  std::atomic<bool> live{false};
};
// Never destroyed: DPDK's telemetry thread is not stopped at exit, and may still be inside a call.
Published& g_published = *new Published;

// A name as DPDK can carry it: under its string limit, cut on a UTF-8 character boundary
// (/rampart/sa/info finds an SA whose name was cut by its SPI).
std::string fit(const std::string& name) {
  size_t length = std::min(name.size(), size_t{RTE_TEL_MAX_STRING_LEN - 1});
  while (length < name.size() && length > 0 && (static_cast<unsigned char>(name[length]) & 0xC0) == 0x80) --length;
  return name.substr(0, length);
}

// Its length once DPDK has escaped it for JSON ('"' and '\\' as two bytes, control bytes as six).
size_t json_length(const std::string& s) {
  size_t length = 0;
  for (unsigned char c : s) length += c == '"' || c == '\\' ? 2 : c < 0x20 ? 6 : 1;
  return length;
}

// The newest snapshot, asking the control core for a fresh one when it is stale; null when no
// gateway publishes.
std::shared_ptr<const TelemetrySnapshot> current() {
  if (!g_published.live.load()) return nullptr;
  std::shared_ptr<const TelemetrySnapshot> seen = g_published.snapshot.load();
  if (seen && steady_ms() - seen->taken_ms < kFreshMs) return seen;
  g_published.wanted.store(true);
  for (int waited = 0; waited < kWaitForFreshMs && g_published.live.load(); ++waited) {
    std::shared_ptr<const TelemetrySnapshot> now = g_published.snapshot.load();
    if (now != seen) return now;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return g_published.snapshot.load();  // the control core is busy: the last one there is
}

int counters(const char*, const char*, rte_tel_data* d) {
  auto snapshot = current();
  if (!snapshot) return -1;
  if (rte_tel_data_start_dict(d) != 0) return -1;
  for (const CounterValue& c : snapshot->counters)
    if (rte_tel_data_add_dict_u64(d, std::string(c.name).c_str(), c.value) != 0) return -1;
  return 0;
}

int sa_list(const char*, const char* params, rte_tel_data* d) {
  auto snapshot = current();
  if (!snapshot) return -1;
  size_t start = 0;
  if (params != nullptr && *params != '\0') {
    char* end = nullptr;
    unsigned long long value = std::strtoull(params, &end, 10);
    if (end == params || *end != '\0') return -1;  // DPDK answers the request with an error
    start = static_cast<size_t>(value);
  }
  const auto& sas = snapshot->sas;
  start = std::min(start, sas.size());
  rte_tel_data* names = rte_tel_data_alloc();
  if (names == nullptr) return -1;
  if (rte_tel_data_start_array(names, RTE_TEL_STRING_VAL) != 0) {
    rte_tel_data_free(names);
    return -1;
  }
  size_t next = start, bytes = 0;
  for (; next < sas.size() && next - start < kPageEntries; ++next) {
    std::string name = fit(sas[next].name);
    bytes += json_length(name) + 3;  // quoted, and a comma
    if (bytes > kPageBytes) break;
    if (rte_tel_data_add_array_string(names, name.c_str()) != 0) {
      rte_tel_data_free(names);
      return -1;
    }
  }
  if (rte_tel_data_start_dict(d) != 0 || rte_tel_data_add_dict_u64(d, "total", sas.size()) != 0 ||
      rte_tel_data_add_dict_u64(d, "start", start) != 0 ||
      (next < sas.size() && rte_tel_data_add_dict_u64(d, "next", next) != 0)) {
    rte_tel_data_free(names);
    return -1;
  }
  // keep_len 0: the dict takes the array and frees it, but only when it was added.
  if (rte_tel_data_add_dict_container(d, "sas", names, 0) != 0) {
    rte_tel_data_free(names);
    return -1;
  }
  return 0;
}

// By name (the current SA of that name), else by SPI in hex (0x...) or decimal.
const TelemetrySa* find_sa(const TelemetrySnapshot& snapshot, const std::string& key) {
  for (const TelemetrySa& sa : snapshot.sas)
    if (sa.name == key && !sa.lingering) return &sa;
  bool hex = key.size() > 2 && key[0] == '0' && (key[1] == 'x' || key[1] == 'X');
  char* end = nullptr;
  unsigned long long spi = std::strtoull(key.c_str() + (hex ? 2 : 0), &end, hex ? 16 : 10);
  if (key.empty() || *end != '\0' || spi > UINT32_MAX) return nullptr;
  const TelemetrySa* found = nullptr;
  for (const TelemetrySa& sa : snapshot.sas)
    if (sa.spi == spi && (found == nullptr || found->lingering)) found = &sa;
  return found;
}

int sa_info(const char*, const char* params, rte_tel_data* d) {
  auto snapshot = current();
  if (!snapshot || params == nullptr) return -1;
  const TelemetrySa* sa = find_sa(*snapshot, params);
  if (sa == nullptr) return -1;
  char spi[16];
  std::snprintf(spi, sizeof spi, "0x%08x", sa->spi);
  std::string name = fit(sa->name);
  const char* state = sa->expired ? "expired" : sa->lingering ? "lingering" : "active";
  if (rte_tel_data_start_dict(d) != 0 || rte_tel_data_add_dict_string(d, "name", name.c_str()) != 0 ||
      rte_tel_data_add_dict_string(d, "spi", spi) != 0 ||
      rte_tel_data_add_dict_string(d, "direction", sa->outbound ? "outbound" : "inbound") != 0 ||
      rte_tel_data_add_dict_string(d, "state", state) != 0 || rte_tel_data_add_dict_u64(d, "packets", sa->packets) != 0 ||
      rte_tel_data_add_dict_u64(d, "bytes", sa->bytes) != 0 || rte_tel_data_add_dict_u64(d, "drops", sa->drops) != 0)
    return -1;
  return 0;
}

std::shared_ptr<const TelemetrySnapshot> take_snapshot(const dp::Gateway& gateway) {
  auto s = std::make_shared<TelemetrySnapshot>();
  s->taken_ms = steady_ms();
  s->counters = gateway.counters();
  std::vector<dp::SaSnapshot> sas = gateway.sa_snapshot();
  s->sas.reserve(sas.size());
  for (const dp::SaSnapshot& sa : sas)
    s->sas.push_back({sa.params->name, sa.params->spi, sa.params->direction == dp::SaDirection::kOutbound, sa.expired,
                      sa.lingering, sa.packets, sa.bytes, sa.drops});
  // Pages stay put between requests unless SAs come or go.
  std::sort(s->sas.begin(), s->sas.end(), [](const TelemetrySa& a, const TelemetrySa& b) {
    return std::tie(a.lingering, a.name, a.spi) < std::tie(b.lingering, b.name, b.spi);
  });
  return s;
}

}  // namespace

TelemetryPublisher::TelemetryPublisher() {
  static bool registered = false;
  if (!registered) {
    registered = true;
    rte_telemetry_register_cmd("/rampart/counters", counters, "Every rampartd counter, summed over workers.");
    rte_telemetry_register_cmd("/rampart/sa/list", sa_list,
                               "SA names, a page at a time. Parameter: the first to show (default 0); "
                               "the answer says the total and where the next page starts.");
    rte_telemetry_register_cmd("/rampart/sa/info", sa_info,
                               "One SA: direction, state, packets, bytes, drops. Parameter: its name or SPI. No keys.");
  }
  g_published.snapshot.store(nullptr);
  g_published.live.store(true);
  g_published.wanted.store(true);  // the first snapshot at the first pass
}

TelemetryPublisher::~TelemetryPublisher() {
  g_published.live.store(false);
  g_published.snapshot.store(nullptr);  // a reader holding one keeps it alive until it is done
}

void TelemetryPublisher::poll(const dp::Gateway& gateway) {
  if (!g_published.wanted.load(std::memory_order_relaxed)) return;
  std::shared_ptr<const TelemetrySnapshot> last = g_published.snapshot.load();
  if (last && steady_ms() - last->taken_ms < kFreshMs) return;
  g_published.wanted.store(false);
  g_published.snapshot.store(take_snapshot(gateway));
}

}  // namespace rampart::app
