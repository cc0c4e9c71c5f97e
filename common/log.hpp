// Logging with levels, for the control plane and start-up. Never called per packet: the data
// plane reports through counters. Lines go to stderr as "LEVEL module: message".
#pragma once

#include <optional>
#include <string_view>

namespace rampart {

enum class LogLevel { kError = 0, kWarning = 1, kInfo = 2, kDebug = 3 };

void set_log_level(LogLevel level) noexcept;
LogLevel log_level() noexcept;
std::optional<LogLevel> parse_log_level(std::string_view name) noexcept;
const char* log_level_name(LogLevel level) noexcept;

// Where finished lines go (stderr when unset): for tests that check what an operator is told.
using LogSink = void (*)(LogLevel level, const char* module, const char* message) noexcept;
void set_log_sink(LogSink sink) noexcept;

[[gnu::format(printf, 3, 4)]] void log(LogLevel level, const char* module, const char* fmt, ...) noexcept;

}  // namespace rampart

// The level test comes first so that a disabled line does not evaluate its arguments.
#define RAMPART_LOG(level, module, ...)                                  \
  do {                                                                   \
    if (static_cast<int>(level) <= static_cast<int>(::rampart::log_level())) \
      ::rampart::log((level), (module), __VA_ARGS__);                    \
  } while (0)
#define LOG_ERROR(module, ...) RAMPART_LOG(::rampart::LogLevel::kError, module, __VA_ARGS__)
#define LOG_WARN(module, ...) RAMPART_LOG(::rampart::LogLevel::kWarning, module, __VA_ARGS__)
#define LOG_INFO(module, ...) RAMPART_LOG(::rampart::LogLevel::kInfo, module, __VA_ARGS__)
#define LOG_DEBUG(module, ...) RAMPART_LOG(::rampart::LogLevel::kDebug, module, __VA_ARGS__)
