// rampartd: the gateway daemon. rampartd -c rampart.conf
// Loads and checks the config (errors name file:line), brings up EAL with the config's lcores,
// memory and devices, builds the gateway, runs workers on their lcores and the control core here,
// and on SIGINT/SIGTERM stops, prints its counters and checks every mbuf came back.
#include <csignal>
#include <optional>
#include <cstdio>
#include <cstring>
#include <string>
#include <unistd.h>

#include "app/console_commands.hpp"
#include "app/gateway_from_config.hpp"
#include "app/ike_service.hpp"
#include "app/telemetry_endpoints.hpp"
#include "common/log.hpp"
#include "config/config.hpp"
#include "console/metrics_http.hpp"
#include "console/counter_format.hpp"
#include "console/server.hpp"
#include "dataplane/eal.hpp"
#include "dataplane/gateway.hpp"

namespace {

using namespace rampart;

dp::Gateway* g_gateway = nullptr;

void on_signal(int) {
  if (g_gateway) g_gateway->stop();
}

int usage() {
  std::fprintf(stderr, "usage: rampartd -c CONFIG [--check]\n"
                       "  -c CONFIG   the configuration file (see config/rampart.conf.example)\n"
                       "  --check     load and check the configuration, then exit\n");
  return 2;
}

int run(int argc, char** argv) {
  std::string config_path;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "-c" || a == "--config") && i + 1 < argc)
      config_path = argv[++i];
    else if (a == "--check")
      check_only = true;
    else
      return usage();
  }
  if (config_path.empty()) return usage();

  auto config = cfg::load_config_file(config_path);
  if (!config) {
    std::fprintf(stderr, "%s\n", config.message().c_str());
    return 1;
  }
  set_log_level(config->log_level);
  auto spec = app::gateway_from_config(*config);
  if (!spec) {
    std::fprintf(stderr, "%s\n", spec.message().c_str());
    return 1;
  }
  // EAL would refuse a missing lcore with a page of usage text; say it the config's way instead.
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  for (unsigned lcore : config->dataplane.worker_lcores) {
    if (lcore == 0 || static_cast<long>(lcore) >= cpus) {
      std::fprintf(stderr, "%s:%d: dataplane.workers: lcore %u %s (this machine has CPUs 0-%ld; lcore 0 is the control core)\n",
                   config_path.c_str(), config->dataplane.workers_line, lcore,
                   lcore == 0 ? "is the control core" : "does not exist", cpus - 1);
      return 1;
    }
  }
  if (check_only) {
    std::printf("%s: OK\n", config_path.c_str());
    return 0;
  }

  std::string prefix = "rampartd_" + std::to_string(getpid());
  if (auto r = dp::eal_init(app::eal_args_from_config(*config, prefix)); !r) {
    std::fprintf(stderr, "rampartd: %s\n", r.message().c_str());
    return 1;
  }
  int status = 0;
  {
    auto gateway = dp::Gateway::create(*spec);
    if (!gateway) {
      std::fprintf(stderr, "rampartd: %s\n", gateway.message().c_str());
      dp::eal_cleanup(prefix);
      return 1;
    }
    auto console = console::Server::listen(config->console_socket);
    if (!console) {
      std::fprintf(stderr, "rampartd: %s\n", console.message().c_str());
      dp::eal_cleanup(prefix);
      return 1;
    }
    std::optional<console::MetricsListener> metrics;
    if (!config->metrics_listen.empty()) {
      auto listener = console::MetricsListener::listen(config->metrics_listen);
      if (!listener) {
        std::fprintf(stderr, "rampartd: %s\n", listener.message().c_str());
        dp::eal_cleanup(prefix);
        return 1;
      }
      metrics.emplace(std::move(*listener));
      LOG_INFO("rampartd", "Prometheus metrics at http://%s/metrics", config->metrics_listen.c_str());
    }
    g_gateway = gateway->get();
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    LOG_INFO("rampartd", "running with %s; console at %s", config_path.c_str(), console->path().c_str());
    dp::Gateway& gw = **gateway;
    app::ConsoleState console_state;
    console_state.running = {*config, config_path};
    auto ike = app::IkeService::create(*config);
    if (!ike) {
      std::fprintf(stderr, "%s\n", ike.message().c_str());
      g_gateway = nullptr;
      dp::eal_cleanup(prefix);
      return 1;
    }
    console_state.ike = &*ike;
    auto serve_console = [&] {
      console->poll([&](const std::string& request) { return app::handle_console_command(gw, console_state, request); });
      if (metrics) metrics->poll([&] { return app::metrics_text(gw); });
      ike->poll(gw);
    };
    app::register_telemetry(&gw);
    if (auto r = gw.run(serve_console); !r) {
      std::fprintf(stderr, "rampartd: %s\n", r.message().c_str());
      status = 1;
    }
    g_gateway = nullptr;
    app::register_telemetry(nullptr);
    std::printf("%s", console::format_counters_table((*gateway)->counters()).c_str());
    std::fflush(stdout);
    if (unsigned leaked = (*gateway)->shutdown(); leaked != 0) {
      std::fprintf(stderr, "rampartd: %u mbufs were not returned to the pool\n", leaked);
      status = 1;
    }
  }
  dp::eal_cleanup(prefix);
  LOG_INFO("rampartd", "stopped");
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rampartd: %s\n", e.what());
    return 1;
  }
}
