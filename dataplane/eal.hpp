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

}  // namespace rampart::dp
