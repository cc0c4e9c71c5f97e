// Brings EAL up once for the whole test binary (EAL cannot initialise twice in a process) and
// tears it down, with its run directory, when the run ends. Linked into every test binary that
// touches DPDK.
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "dataplane/eal.hpp"

namespace {

class EalListener : public Catch::TestEventListenerBase {
 public:
  using TestEventListenerBase::TestEventListenerBase;

  void testRunStarting(const Catch::TestRunInfo&) override {
    prefix_ = "rampart_test_" + std::to_string(getpid());
    auto r = rampart::dp::eal_init(rampart::dp::eal_args_without_hugepages(prefix_));
    if (!r) {
      std::fprintf(stderr, "EAL did not come up: %s\n", r.message().c_str());
      std::exit(2);
    }
  }

  void testRunEnded(const Catch::TestRunStats&) override { rampart::dp::eal_cleanup(prefix_); }

 private:
  std::string prefix_;
};

}  // namespace

CATCH_REGISTER_LISTENER(EalListener)
