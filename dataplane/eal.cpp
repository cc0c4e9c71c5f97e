#include "dataplane/eal.hpp"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_mempool.h>

#include <cstring>

#include <filesystem>
#include <fstream>

#include "dataplane/tsan.hpp"

namespace rampart::dp {

namespace {

// The ring mempool driver's ops, wrapped (TSan builds only; see tsan.hpp).
const rte_mempool_ops* ring_ops() {
  static const rte_mempool_ops* ops = [] () -> const rte_mempool_ops* {
    for (uint32_t i = 0; i < rte_mempool_ops_table.num_ops; ++i)
      if (std::strcmp(rte_mempool_ops_table.ops[i].name, "ring_mp_mc") == 0) return &rte_mempool_ops_table.ops[i];
    return nullptr;
  }();
  return ops;
}
int tsan_pool_alloc(rte_mempool* mp) { return ring_ops()->alloc(mp); }
void tsan_pool_free(rte_mempool* mp) { ring_ops()->free(mp); }
unsigned tsan_pool_count(const rte_mempool* mp) { return ring_ops()->get_count(mp); }
int tsan_pool_enqueue(rte_mempool* mp, void* const* objects, unsigned n) {
  for (unsigned i = 0; i < n; ++i) tsan_release(objects[i]);
  return ring_ops()->enqueue(mp, objects, n);
}
int tsan_pool_dequeue(rte_mempool* mp, void** objects, unsigned n) {
  int rc = ring_ops()->dequeue(mp, objects, n);
  if (rc == 0)
    for (unsigned i = 0; i < n; ++i) tsan_acquire(objects[i]);
  return rc;
}

}  // namespace

void use_tsan_mempool_ops() noexcept {
  if (ring_ops() == nullptr) return;
  static rte_mempool_ops ops = [] {
    rte_mempool_ops o{};
    std::strcpy(o.name, "rampart_tsan");
    o.alloc = tsan_pool_alloc;
    o.free = tsan_pool_free;
    o.enqueue = tsan_pool_enqueue;
    o.dequeue = tsan_pool_dequeue;
    o.get_count = tsan_pool_count;
    return o;
  }();
  if (rte_mempool_register_ops(&ops) >= 0) rte_mbuf_set_user_mempool_ops(ops.name);
}

std::vector<std::string> eal_args_without_hugepages(const std::string& file_prefix,
                                                    const std::string& lcores) {
  // --no-shconf: no shared config file, so parallel test binaries do not collide;
  // --iova-mode=va: without hugepages there are no physical addresses to hand out.
  return {"rampart",  "--no-huge", "--no-pci",   "--no-shconf", "-m",         "256",
          "-l",       lcores,      "--iova-mode=va", "--no-telemetry", "--file-prefix", file_prefix,
          "--log-level=lib.eal:error"};
}

bool hugepages_available() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  long value = 0;
  while (meminfo >> key >> value) {
    if (key == "HugePages_Free:") return value > 0;
    meminfo.ignore(256, '\n');
  }
  return false;
}

Result<void> eal_init(const std::vector<std::string>& args) {
  std::vector<std::string> copy = args;  // rte_eal_init may permute argv
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(copy.size()), argv.data()) < 0)
    return make_error(Errc::kInternal, std::string("rte_eal_init failed: ") + rte_strerror(rte_errno));
  if constexpr (kTsan) use_tsan_mempool_ops();
  return {};
}

void eal_cleanup(const std::string& file_prefix) {
  rte_eal_cleanup();
  std::error_code ignored;
  std::filesystem::remove_all(std::filesystem::path("/var/run/dpdk") / file_prefix, ignored);
}

Result<void> EalScope::start(const std::vector<std::string>& args) {
  auto r = eal_init(args);
  started_ = r.ok();
  return r;
}

EalScope::~EalScope() {
  if (started_) {
    eal_cleanup(prefix_);
  } else {  // a failed start may still have made the run directory
    std::error_code ignored;
    std::filesystem::remove_all(std::filesystem::path("/var/run/dpdk") / prefix_, ignored);
  }
}

}  // namespace rampart::dp
