// libFuzzer target: an established IKE SA fed authentic requests whose contents are arbitrary.
// Each input sets up a fresh pair of IKE SAs (PSK, x25519, one CHILD_SA), then the first byte
// picks the exchange (CREATE_CHILD_SA, INFORMATIONAL, IKE_AUTH again) and who sends it, the
// second names the first payload, and the rest, when it parses as a payload chain, is sealed
// with the sender's real keys and delivered: so the exchanges' handling of whatever an
// authenticated peer might say is what runs, past the ICV that stops everything else. Then the
// receiver's timers run far ahead. Nothing may crash, hang or leak.
#include <cstddef>
#include <cstdint>
#include <variant>

#include "ike/ike_sa.hpp"
#include "ike/sk_crypto.hpp"

namespace {
using namespace rampart::ike;

PeerConfig config(bool initiator) {
  PeerConfig c;
  c.local_id = initiator ? "gw1.example.net" : "gw2.example.net";
  c.remote_id = initiator ? "gw2.example.net" : "gw1.example.net";
  c.psk = Bytes(16, std::byte{7});
  c.ike_suites = {parse_suite("aes128gcm16-prfsha256-x25519", 1).value()};
  c.esp_suites = {parse_suite("aes128gcm16", 3).value(), parse_suite("aes256gcm16-x25519", 3).value()};
  Bytes zero(4, std::byte{0}), ones(4, std::byte{0xff});
  c.local_ts = {7, 0, 0, 65535, zero, ones};
  c.remote_ts = c.local_ts;
  c.dpd_ms = 1000;
  return c;
}

Path path(bool initiator) {
  Bytes one{std::byte{198}, std::byte{51}, std::byte{100}, std::byte{1}};
  Bytes two{std::byte{198}, std::byte{51}, std::byte{100}, std::byte{2}};
  return initiator ? Path{one, two, 500, 500} : Path{two, one, 500, 500};
}

bool move(IkeSa& from, IkeSa& to, bool to_initiator, uint64_t now) {
  for (Bytes& d : from.take_outbox())
    if (!to.receive(d, path(to_initiator), now)) return false;
  return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const auto* bytes = reinterpret_cast<const std::byte*>(data);
  auto parsed = parse_payloads(static_cast<PayloadType>(data[1]), {bytes + 2, size - 2});
  auto* inner = std::get_if<std::vector<Payload>>(&parsed);
  if (inner == nullptr) return 0;

  IkeSa a = IkeSa::initiator(config(true), path(true));
  IkeSa b = IkeSa::responder(config(false), path(false));
  if (!a.start(0) || !move(a, b, false, 0) || !move(b, a, true, 0) || !move(a, b, false, 0) || !move(b, a, true, 0) ||
      a.state() != IkeState::kEstablished)
    __builtin_trap();  // the set-up itself must work
  (void)a.take_events();
  (void)b.take_events();

  static const ExchangeType kExchanges[] = {ExchangeType::kCreateChildSa, ExchangeType::kInformational, ExchangeType::kIkeAuth};
  ExchangeType exchange = kExchanges[(data[0] & 0x7f) % 3];
  bool from_initiator = (data[0] & 0x80) == 0;
  IkeSa& sender = from_initiator ? a : b;
  IkeSa& receiver = from_initiator ? b : a;
  const IkeKeys& k = sender.keys();
  // The initiator's next request is 2 (after IKE_SA_INIT and IKE_AUTH); the responder's first is 0.
  Header h{a.initiator_spi(), a.responder_spi(), PayloadType::kNone, 0x20, exchange,
           static_cast<uint8_t>(from_initiator ? kFlagInitiator : 0), from_initiator ? 2u : 0u, 0};
  SkSuite suite{sender.suite().encryption, sender.suite().key_bits, sender.suite().integrity};
  auto sealed = seal_message(suite, from_initiator ? k.sk_ei : k.sk_er, from_initiator ? k.sk_ai : k.sk_ar, h, *inner,
                             random_iv_source());
  if (!sealed) return 0;
  (void)receiver.receive(*sealed, path(!from_initiator), 1);
  (void)receiver.take_outbox();
  (void)receiver.take_events();
  receiver.tick(100000);
  receiver.tick(1000000);
  return 0;
}
