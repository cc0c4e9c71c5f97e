#include "app/startup_checks.hpp"

#include <net/if.h>
#include <sched.h>
#include <unistd.h>

#include <string>

namespace rampart::app {

namespace {

// The value of "iface=NAME" in a DPDK device string such as "net_af_packet0,iface=eth1,qpairs=1".
std::string iface_of(const std::string& device) {
  for (size_t at = device.find(','); at != std::string::npos; at = device.find(',', at + 1)) {
    if (device.compare(at + 1, 6, "iface=") != 0) continue;
    size_t start = at + 7;
    return device.substr(start, device.find(',', start) - start);
  }
  return {};
}

}  // namespace

Result<void> check_host(const cfg::Config& config) {
  std::string errors;
  auto error = [&](int line, const std::string& what) {
    errors += (errors.empty() ? "" : "\n") + config.source + ":" + std::to_string(line) + ": " + what;
  };
  // EAL would refuse a missing lcore with a page of usage text; say it the config's way instead.
  // The CPUs this process may run on (a cpuset or taskset may leave out some the machine has).
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0)
    for (unsigned cpu = 0; cpu < static_cast<unsigned>(sysconf(_SC_NPROCESSORS_ONLN)); ++cpu) CPU_SET(cpu, &allowed);
  std::string usable;
  for (unsigned cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &allowed)) usable += (usable.empty() ? "" : ",") + std::to_string(cpu);
  const cfg::DataplaneConfig& d = config.dataplane;
  for (size_t i = 0; i < d.worker_lcores.size(); ++i) {
    unsigned lcore = d.worker_lcores[i], cpu = d.worker_cpus[i];
    std::string what = lcore == 0 ? " is the control core"
                       : cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &allowed)
                           ? (cpu == lcore ? " is not a CPU rampartd may run on"
                                           : "'s CPU " + std::to_string(cpu) + " is not one rampartd may run on")
                           : "";
    if (!what.empty())
      error(d.workers_line, "dataplane.workers: lcore " + std::to_string(lcore) + what + " (it may use CPUs " + usable +
                                "; lcore 0 is the control core; \"LCORE@CPU\" puts an lcore on another CPU)");
  }
  for (size_t i = 0; i < config.interfaces.size(); ++i) {
    const cfg::InterfaceConfig& itf = config.interfaces[i];
    bool kernel_port = itf.device.rfind("net_af_packet", 0) == 0 || itf.device.rfind("net_af_xdp", 0) == 0;
    if (!kernel_port) continue;
    std::string iface = iface_of(itf.device);
    std::string where = "interfaces[" + std::to_string(i) + "].device: ";
    if (iface.empty())
      error(itf.line, where + "\"" + itf.device + "\" names no kernel interface (add iface=NAME)");
    else if (if_nametoindex(iface.c_str()) == 0)
      error(itf.line, where + "there is no network interface \"" + iface + "\" on this host (in this namespace)");
  }
  if (!errors.empty()) return make_error(Errc::kInvalidArgument, errors);
  return {};
}

}  // namespace rampart::app
