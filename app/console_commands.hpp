// The commands rampartctl sends, answered from the gateway's snapshots on the control core.
// Text tables for people, --json for scripts. See console/PROTOCOL.md.
#pragma once

#include <string>

#include "console/server.hpp"
#include "dataplane/gateway.hpp"

namespace rampart::app {

console::Reply handle_console_command(const dp::Gateway& gateway, const std::string& request);

}  // namespace rampart::app
