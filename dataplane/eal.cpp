#include "dataplane/eal.hpp"

#include <rte_eal.h>
#include <rte_errno.h>

#include <filesystem>
#include <fstream>

namespace rampart::dp {

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
