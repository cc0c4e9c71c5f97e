#include "console/counter_format.hpp"

#include <algorithm>
#include <cstdio>

namespace rampart::console {

std::string json_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string format_counters_table(std::span<const CounterValue> counters, bool show_zero) {
  size_t name_width = 4;
  for (const auto& c : counters) name_width = std::max(name_width, c.name.size());
  std::string out;
  char line[64];
  for (const auto& c : counters) {
    if (c.value == 0 && !show_zero) continue;
    out += c.name;
    out.append(name_width - c.name.size() + 2, ' ');
    std::snprintf(line, sizeof line, "%20llu  ", static_cast<unsigned long long>(c.value));
    out += line;
    out += c.help;
    out += '\n';
  }
  return out;
}

std::string format_counters_json(std::span<const CounterValue> counters) {
  std::string out = "{";
  for (size_t i = 0; i < counters.size(); ++i) {
    if (i) out += ", ";
    out += "\"" + json_escape(counters[i].name) + "\": " + std::to_string(counters[i].value);
  }
  return out + "}";
}

}  // namespace rampart::console
