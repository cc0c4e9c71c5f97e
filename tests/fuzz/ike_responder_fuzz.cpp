// libFuzzer target: an IKE responder fed arbitrary datagrams, first as a fresh SA (an
// IKE_SA_INIT from anyone), then, when the input parsed as a request it answered, the rest of the
// input as the next message. Nothing may crash, hang or leak.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "ike/ike_sa.hpp"

namespace {
rampart::ike::PeerConfig config() {
  using namespace rampart::ike;
  PeerConfig c;
  c.local_id = "gw2.example.net";
  c.remote_id = "gw1.example.net";
  c.psk = Bytes(16, std::byte{7});
  c.ike_suites = {parse_suite("aes128gcm16-prfsha256-ecp256", 1).value(), parse_suite("aes128-sha256-x25519", 1).value()};
  c.esp_suites = {parse_suite("aes128gcm16", 3).value()};
  c.local_ts = {7, 0, 0, 65535, Bytes(4, std::byte{0}), Bytes(4, std::byte{0xff})};
  c.remote_ts = c.local_ts;
  return c;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rampart::ike;
  static const PeerConfig kConfig = config();
  const auto* bytes = reinterpret_cast<const std::byte*>(data);
  // The first two bytes say where the first message ends.
  size_t split = size >= 2 ? (size_t(data[0]) << 8 | data[1]) % (size + 1) : size;
  Path path{Bytes{std::byte{198}, std::byte{51}, std::byte{100}, std::byte{2}},
            Bytes{std::byte{198}, std::byte{51}, std::byte{100}, std::byte{1}}, 500, 500};
  IkeSa responder = IkeSa::responder(kConfig, path);
  auto first = responder.receive({bytes + std::min<size_t>(2, size), split > 2 ? split - 2 : 0}, path, 0);
  if (first.ok() && !responder.take_outbox().empty()) {
    (void)responder.receive({bytes + split, size - split}, path, 1);
    responder.tick(100000);
  }
  return 0;
}
