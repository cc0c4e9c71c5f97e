// rampartd's DPDK telemetry endpoints, for the standard client (dpdk-telemetry.py) and anything
// else that reads DPDK's telemetry socket: /rampart/counters and /rampart/sa. They run on DPDK's
// telemetry thread and read only what the console may read (atomic counters, installed params).
#pragma once

namespace rampart::dp {
class Gateway;
}

namespace rampart::app {

// Registers the endpoints for this gateway; unregister (before the gateway goes) with nullptr.
void register_telemetry(const dp::Gateway* gateway);

}  // namespace rampart::app
