#include "common/log.hpp"

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <ctime>

namespace rampart {

namespace {
std::atomic<LogLevel> g_level{LogLevel::kInfo};
std::atomic<LogSink> g_sink{nullptr};
}

void set_log_sink(LogSink sink) noexcept { g_sink.store(sink, std::memory_order_release); }

void set_log_level(LogLevel level) noexcept { g_level.store(level, std::memory_order_relaxed); }
LogLevel log_level() noexcept { return g_level.load(std::memory_order_relaxed); }

const char* log_level_name(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::kError: return "error";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kInfo: return "info";
    case LogLevel::kDebug: return "debug";
  }
  return "?";
}

std::optional<LogLevel> parse_log_level(std::string_view name) noexcept {
  for (LogLevel l : {LogLevel::kError, LogLevel::kWarning, LogLevel::kInfo, LogLevel::kDebug})
    if (name == log_level_name(l)) return l;
  return std::nullopt;
}

void log(LogLevel level, const char* module, const char* fmt, ...) noexcept {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (LogSink sink = g_sink.load(std::memory_order_acquire)) {
    sink(level, module, line);
    return;
  }
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc{};
  gmtime_r(&ts.tv_sec, &utc);
  // One fprintf per line so lines from different threads do not interleave.
  std::fprintf(stderr, "%02d:%02d:%02d.%03ld %-7s %s: %s\n", utc.tm_hour, utc.tm_min, utc.tm_sec,
               ts.tv_nsec / 1000000, log_level_name(level), module, line);
}

}  // namespace rampart
