// rampartd: the gateway daemon. rampartd -c rampart.conf
// Loads and checks the config (errors name file:line), brings up EAL with the config's lcores,
// memory and devices, builds the gateway, runs workers on their lcores and the control core here;
// SIGHUP reloads the config (as "config reload" does); SIGINT/SIGTERM stop it, print its counters
// and check every mbuf came back. Every way out removes EAL's run directory.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <optional>
#include <cstdio>
#include <cstring>
#include <string>
#include <unistd.h>

#include "app/console_commands.hpp"
#include "app/gateway_from_config.hpp"
#include "app/ike_service.hpp"
#include "app/startup_checks.hpp"
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

// Set from signal handlers, which may run on any of DPDK's threads, and read by the control
// core at each pass: lock-free atomics, and nothing else touched from a handler.
std::atomic<bool> g_stop{false};    // SIGINT, SIGTERM (also while starting)
std::atomic<bool> g_reload{false};  // SIGHUP: reload the config
static_assert(std::atomic<bool>::is_always_lock_free);

void on_stop_signal(int) { g_stop.store(true); }

void on_hangup(int) { g_reload.store(true); }

int usage() {
  std::fprintf(stderr, "usage: rampartd -c CONFIG [--check]\n"
                       "  -c CONFIG   the configuration file (see config/rampart.conf.example)\n"
                       "  --check     check the configuration (and the files, interfaces and lcores it names), then exit\n");
  return 2;
}

// RFC 4106 8.1: GCM with statically configured keys is hard to use safely; automated keying is
// the answer. Rampart draws a random IV start at every install, but says so once.
void warn_of_manual_keys(const cfg::Config& config) {
  bool outbound = std::any_of(config.sas.begin(), config.sas.end(),
                              [](const cfg::SaConfig& sa) { return sa.direction == cfg::Direction::kOutbound; });
  if (outbound)
    LOG_WARN("rampartd",
             "manually keyed SAs: RFC 4106 (section 8.1) calls AES-GCM with statically configured keys hard to use "
             "safely and asks for automated keying; prefer IKE connections. Each install starts its IVs at a random "
             "value, so a restart or reload with the same key sends no nonce twice.");
}

void reload_on_hangup(dp::Gateway& gw, app::ConsoleState& state) {
  if (!g_reload.exchange(false)) return;
  LOG_INFO("rampartd", "SIGHUP: reloading %s", state.running.path.c_str());
  auto r = app::reload_config(gw, state.ike, state.running, "");
  if (r) {
    std::string summary = *r;
    while (!summary.empty() && summary.back() == '\n') summary.pop_back();
    LOG_INFO("rampartd", "SIGHUP: reloaded: %s", summary.c_str());
  } else {
    LOG_ERROR("rampartd", "SIGHUP: reload refused: %s", r.message().c_str());
  }
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

  // Everything that needs no EAL is checked first, for --check and before start-up alike.
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
  if (auto r = app::check_host(*config); !r) {
    std::fprintf(stderr, "%s\n", r.message().c_str());
    return 1;
  }
  auto ike = app::IkeService::create(*config);  // proposals, certificates and keys
  if (!ike) {
    std::fprintf(stderr, "%s\n", ike.message().c_str());
    return 1;
  }
  if (check_only) {
    std::printf("%s: OK\n", config_path.c_str());
    return 0;
  }
  warn_of_manual_keys(*config);
  std::signal(SIGPIPE, SIG_IGN);  // a console client that goes away is an error on its socket
  // From here on, no signal but a fatal one ends the process without cleaning up EAL: a stop
  // during start-up is kept for when the gateway runs, a SIGHUP then is a reload of an unchanged file.
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGHUP, on_hangup);

  std::string prefix = "rampartd_" + std::to_string(getpid());
  dp::EalScope eal(prefix);  // before everything that uses EAL: it goes last
  if (auto r = eal.start(app::eal_args_from_config(*config, prefix)); !r) {
    std::fprintf(stderr, "rampartd: %s\n", r.message().c_str());
    return 1;
  }
  auto gateway = dp::Gateway::create(*spec);
  if (!gateway) {
    std::fprintf(stderr, "rampartd: %s\n", gateway.message().c_str());
    return 1;
  }
  if (auto r = app::IkeService::listen(**gateway); !r) {
    std::fprintf(stderr, "rampartd: %s\n", r.message().c_str());
    return 1;
  }
  auto console = console::Server::listen(config->console_socket);
  if (!console) {
    std::fprintf(stderr, "rampartd: %s\n", console.message().c_str());
    return 1;
  }
  std::optional<console::MetricsListener> metrics;
  if (!config->metrics_listen.empty()) {
    auto listener = console::MetricsListener::listen(config->metrics_listen);
    if (!listener) {
      std::fprintf(stderr, "rampartd: %s\n", listener.message().c_str());
      return 1;
    }
    metrics.emplace(std::move(*listener));
    LOG_INFO("rampartd", "Prometheus metrics at http://%s/metrics", config->metrics_listen.c_str());
  }
  dp::Gateway& gw = **gateway;
  LOG_INFO("rampartd", "running with %s; console at %s", config_path.c_str(), console->path().c_str());
  app::ConsoleState console_state;
  console_state.running = {*config, config_path};
  console_state.ike = &*ike;
  app::TelemetryPublisher telemetry;  // goes before the gateway: DPDK's thread reads only its copies
  // A stop deletes every IKE SA first (the peers hear it), and waits up to a second for the answers.
  std::optional<std::chrono::steady_clock::time_point> stopping_since;
  auto serve_console = [&] {
    if (g_stop.load() && !stopping_since) {
      stopping_since = std::chrono::steady_clock::now();
      if (size_t deletes = ike->close_all(gw)) LOG_INFO("rampartd", "stopping: %zu IKE SA(s) deleted", deletes);
    }
    if (stopping_since && (!ike->closing() || std::chrono::steady_clock::now() - *stopping_since > std::chrono::seconds(1)))
      gw.stop();  // run() returns after this pass
    reload_on_hangup(gw, console_state);
    telemetry.poll(gw);
    console->poll([&](const std::string& request) { return app::handle_console_command(gw, console_state, request); });
    if (metrics) metrics->poll([&] { return app::metrics_text(gw); });
    ike->poll(gw);
  };
  int status = 0;
  if (auto r = gw.run(serve_console); !r) {
    std::fprintf(stderr, "rampartd: %s\n", r.message().c_str());
    status = 1;
  }
  std::printf("%s", console::format_counters_table(gw.counters()).c_str());
  std::fflush(stdout);
  if (unsigned leaked = gw.shutdown(); leaked != 0) {
    std::fprintf(stderr, "rampartd: %u mbufs were not returned to the pool\n", leaked);
    status = 1;
  }
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
