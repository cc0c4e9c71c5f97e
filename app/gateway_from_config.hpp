// Turns a checked config into what the data plane runs (GatewaySpec) and the EAL arguments that
// bring up its devices: the one place where config/ and dataplane/ meet.
#pragma once

#include <string>
#include <vector>

#include "common/result.hpp"
#include "config/config.hpp"
#include "dataplane/gateway_spec.hpp"

namespace rampart::app {

Result<dp::GatewaySpec> gateway_from_config(const cfg::Config& config);
std::vector<std::string> eal_args_from_config(const cfg::Config& config, const std::string& file_prefix);

}  // namespace rampart::app
