// libFuzzer target: arbitrary text as a config file. The loader must either return a Config or
// an error report whose every line names the file and a line number; never crash or hang.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto result = rampart::cfg::load_config_string(text, "fuzz.conf");
  if (!result.ok()) {
    const std::string& report = result.message();
    if (report.rfind("fuzz.conf:", 0) != 0) std::abort();
  }
  return 0;
}
