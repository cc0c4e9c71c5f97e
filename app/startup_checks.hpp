// What rampartd checks of the machine before it brings up EAL, so that --check refuses a file
// that cannot run: worker lcores this machine has, and the kernel interfaces that af_packet and
// af_xdp devices name. (The config's own checks are the loader's; proposals and credentials are
// IkeService::create's.) Errors name the file, line and setting.
#pragma once

#include "common/result.hpp"
#include "config/config.hpp"

namespace rampart::app {

Result<void> check_host(const cfg::Config& config);

}  // namespace rampart::app
