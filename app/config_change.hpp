// Changes to the running configuration, applied live: a reloaded file, or one console edit (an SA,
// a policy or a route added or removed). Each is checked as a file would be (errors name where
// the setting came from), then applied as a diff, make-before-break: new and changed SAs (inbound
// first), then policies, then routes, then the SAs that went away. Unchanged SAs keep their
// sequence numbers and replay windows.
#pragma once

#include <string>

#include "app/ike_service.hpp"
#include "common/result.hpp"
#include "config/config.hpp"
#include "dataplane/gateway.hpp"

namespace rampart::app {

// What the daemon runs now, and where it came from; the console edits it.
struct RunningConfig {
  cfg::Config config;
  std::string path;  // the file, for "config reload" without an argument
};

// Makes the gateway run `next` instead of running.config; on success running.config = next.
// Refused, with nothing changed, when something only a restart can change differs (each such
// setting is named: interfaces, workers, the pool, memory, static neighbours, the console's
// socket and metrics address). The file's SAs, policies and routes are changed as a diff; what
// IKE installed is never touched but through `ike`, which takes the changed connections
// (IkeService::reconfigure). ike may be null when the connections do not change.
Result<std::string> apply_config(dp::Gateway& gateway, IkeService* ike, RunningConfig& running, cfg::Config next);

// The console's edits. settings: the inside of one group, as in the file, e.g.
//   name = "to-b"; spi = 0x1002; direction = "outbound"; key = "..."; local = "..."; remote = "...";
// An SA added under a name in use replaces that SA (a rekey by hand).
Result<std::string> add_sa(dp::Gateway& gateway, RunningConfig& running, const std::string& settings);
Result<std::string> delete_sa(dp::Gateway& gateway, RunningConfig& running, const std::string& name);
Result<std::string> add_policy(dp::Gateway& gateway, RunningConfig& running, const std::string& settings);
Result<std::string> delete_policy(dp::Gateway& gateway, RunningConfig& running, const std::string& name);
Result<std::string> add_route(dp::Gateway& gateway, RunningConfig& running, const std::string& settings);
Result<std::string> delete_route(dp::Gateway& gateway, RunningConfig& running, const std::string& destination);
Result<std::string> reload_config(dp::Gateway& gateway, IkeService* ike, RunningConfig& running, const std::string& path);

}  // namespace rampart::app
