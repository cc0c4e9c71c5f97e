// The commands rampartctl sends, answered from the gateway's snapshots on the control core.
// Text tables for people, --json for scripts. See console/PROTOCOL.md.
#pragma once

#include <string>
#include <vector>

#include "console/server.hpp"
#include "dataplane/gateway.hpp"

namespace rampart::app {

// What the console remembers between requests: the counter values at the last "counters clear",
// subtracted from what it shows (workers' counters are never written by anyone but workers).
struct ConsoleState {
  std::vector<CounterValue> baseline;
};

console::Reply handle_console_command(const dp::Gateway& gateway, ConsoleState& state, const std::string& request);

}  // namespace rampart::app
