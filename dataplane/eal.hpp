// Bringing up DPDK's EAL. It initialises once per process; everything after it (pools, ports)
// assumes it is up.
#pragma once

#include <string>
#include <vector>

#include "common/result.hpp"

namespace rampart::dp {

// EAL arguments for a process with no hugepages and no PCI devices: tests, CI and the self-check
// on a machine without hugepages. file_prefix keeps concurrent processes apart.
std::vector<std::string> eal_args_without_hugepages(const std::string& file_prefix,
                                                    const std::string& lcores = "0");

// True when the kernel has free hugepages we could use instead of --no-huge.
bool hugepages_available();

Result<void> eal_init(const std::vector<std::string>& args);
// Releases EAL and removes its run directory (/var/run/dpdk/<prefix>), which EAL leaves behind.
void eal_cleanup(const std::string& file_prefix);

// EAL for a scope: up with start(), cleaned up (run directory included) when the scope ends, on
// every way out: an error, an exception, or the normal end. Declare it before anything that uses
// EAL (a Gateway, pools, rings), so that those are destroyed first.
class EalScope {
 public:
  explicit EalScope(std::string file_prefix) : prefix_(std::move(file_prefix)) {}
  ~EalScope();
  EalScope(const EalScope&) = delete;
  EalScope& operator=(const EalScope&) = delete;
  Result<void> start(const std::vector<std::string>& args);

 private:
  std::string prefix_;
  bool started_ = false;
};

}  // namespace rampart::dp
