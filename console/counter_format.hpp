// Renders counter snapshots for the operator: an aligned table for people, JSON for scripts.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "common/counters.hpp"

namespace rampart::console {

// "name  value  help" rows; zero counters are left out unless show_zero.
std::string format_counters_table(std::span<const CounterValue> counters, bool show_zero = false);
// {"name": value, ...} in declaration order, every counter included.
std::string format_counters_json(std::span<const CounterValue> counters);
std::string json_escape(std::string_view text);

}  // namespace rampart::console
