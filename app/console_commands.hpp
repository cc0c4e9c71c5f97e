// The commands rampartctl sends, answered on the control core: "show" from the gateway's
// snapshots, changes through app/config_change. Text tables for people, --json for scripts. See
// console/PROTOCOL.md.
#pragma once

#include <string>
#include <vector>

#include "app/config_change.hpp"
#include "app/ike_service.hpp"
#include "console/server.hpp"
#include "dataplane/gateway.hpp"

namespace rampart::app {

// What the console remembers between requests: the counter values at the last "counters clear",
// subtracted from what it shows (workers' counters are never written by anyone but workers).
struct ConsoleState {
  std::vector<CounterValue> baseline;
  RunningConfig running;  // what sa/policy/route add|del and config reload change
  IkeService* ike = nullptr;  // for "show ike" and "ike initiate|terminate|rekey"
};

// Every counter and per-SA series in the Prometheus text exposition format (0.0.4).
std::string metrics_text(const dp::Gateway& gateway);

console::Reply handle_console_command(dp::Gateway& gateway, ConsoleState& state, const std::string& request);

}  // namespace rampart::app
