// libFuzzer target: the IKEv2 message parser on arbitrary datagrams. Whatever parses must
// serialise to a message that parses again to the same thing; nothing may crash or leak.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "ike/message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rampart::ike;
  auto parsed = parse_message({reinterpret_cast<const std::byte*>(data), size});
  if (auto* m = std::get_if<Message>(&parsed)) {
    Bytes again = serialize_message(*m);
    auto reparsed = parse_message(again);
    auto* m2 = std::get_if<Message>(&reparsed);
    if (m2 == nullptr || m2->payloads != m->payloads) std::abort();
  }
  // The SK payload's inner chain goes through the same parser from any first type.
  if (size > 0) (void)parse_payloads(static_cast<PayloadType>(data[0]), {reinterpret_cast<const std::byte*>(data) + 1, size - 1});
  return 0;
}
