// IKE_AUTH (RFC 7296 1.2, 2.15): each side proves the pre-shared key over its IKE_SA_INIT
// message, the peer's nonce and its identity; the first CHILD_SA comes with it (proposals without
// a DH group, 1.2), its selectors narrowed as 2.9 allows and its keys from 2.17.
#include <openssl/crypto.h>

#include "ike/exchange_support.hpp"
#include "ike/ike_sa.hpp"
#include "ike/sk_crypto.hpp"

namespace rampart::ike {

namespace {

constexpr uint8_t kAuthPsk = 2;

// The ID payload's body as 2.15 MACs it: type, three reserved bytes, data.
Bytes id_body(const IdPayload& id) {
  Bytes b{std::byte{id.type}, std::byte{0}, std::byte{0}, std::byte{0}};
  b.insert(b.end(), id.data.begin(), id.data.end());
  return b;
}

// IKE_AUTH carries no KE: its proposals leave the DH group out.
std::vector<Suite> without_groups(std::vector<Suite> suites) {
  for (Suite& s : suites) s.dh = 0;
  return suites;
}

bool same(const Bytes& a, const Bytes& b) {
  return a.size() == b.size() && !a.empty() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

// 2.15: AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>), where the signed
// octets are the sender's IKE_SA_INIT message, the peer's nonce and prf(SK_px, ID body).
Bytes IkeSa::auth_value(bool of_initiator, const IdPayload& id) const {
  Prf prf = static_cast<Prf>(gen_.suite.prf);
  static const char kPad[] = "Key Pad for IKEv2";
  Bytes signed_octets = of_initiator ? init_request_ : init_response_;
  const Bytes& nonce = of_initiator ? nr_ : ni_;
  signed_octets.insert(signed_octets.end(), nonce.begin(), nonce.end());
  auto maced_id = ike::prf(prf, of_initiator ? gen_.keys.sk_pi : gen_.keys.sk_pr, id_body(id));
  if (!maced_id) return {};
  signed_octets.insert(signed_octets.end(), maced_id->begin(), maced_id->end());
  auto key = ike::prf(prf, config_.psk, ByteView(reinterpret_cast<const std::byte*>(kPad), sizeof kPad - 1));
  if (!key) return {};
  auto auth = ike::prf(prf, *key, signed_octets);
  return auth ? *auth : Bytes{};
}

// 2.17: KEYMAT = prf+(SK_d, [g^ir (new)] | Ni | Nr); the key for what the exchange's initiator
// sends comes first. Returned as (this side's inbound key, its outbound key).
Result<std::pair<Bytes, Bytes>> IkeSa::child_keys(const Generation& gen, const Suite& esp, ByteView shared, ByteView ni,
                                                  ByteView nr, bool we_initiated) const {
  // AES-GCM: the key and its salt (RFC 4106 8.1); the data plane takes nothing else.
  size_t key_length = encryption_key_length(SkSuite{esp.encryption, esp.key_bits, esp.integrity});
  auto keymat = child_keymat(static_cast<Prf>(gen.suite.prf), gen.keys.sk_d, shared, ni, nr, 2 * key_length);
  if (!keymat) return keymat.error();
  Bytes i_to_r(keymat->begin(), keymat->begin() + static_cast<long>(key_length));
  Bytes r_to_i(keymat->begin() + static_cast<long>(key_length), keymat->end());
  if (we_initiated) return std::pair{std::move(r_to_i), std::move(i_to_r)};
  return std::pair{std::move(i_to_r), std::move(r_to_i)};
}

Result<void> IkeSa::send_auth() {
  first_child_spi_ = random_esp_spi();
  SaPayload esp;
  std::vector<Suite> suites = without_groups(config_.esp_suites);
  for (size_t i = 0; i < suites.size(); ++i)
    esp.proposals.push_back(to_proposal(suites[i], static_cast<uint8_t>(i + 1), 3, be32_bytes(first_child_spi_)));
  IdPayload id = identity(config_.local_id);
  std::vector<Payload> inner = {{PayloadType::kIdi, false, id},
                                {PayloadType::kAuth, false, AuthPayload{kAuthPsk, auth_value(true, id)}},
                                notify_payload(notify::kInitialContact),
                                {PayloadType::kSa, false, esp},
                                {PayloadType::kTsi, false, TsPayload{{config_.local_ts}}},
                                {PayloadType::kTsr, false, TsPayload{{config_.remote_ts}}}};
  send_request(gen_, Task::kAuth, Request{}, ExchangeType::kIkeAuth, inner);
  if (state_ != IkeState::kFailed) state_ = IkeState::kAuthSent;
  return {};
}

// Responder: the initiator proves the PSK, then the CHILD_SA is agreed. INITIAL_CONTACT needs
// nothing here: the caller replaces any older IKE SA with this peer when this one stands.
Result<void> IkeSa::respond_auth(const Message& request, const std::vector<Payload>& inner) {
  const auto* id = find<IdPayload>(inner, PayloadType::kIdi);
  const auto* auth = find<AuthPayload>(inner, PayloadType::kAuth);
  const auto* esp = find<SaPayload>(inner, PayloadType::kSa);
  bool authentic = id && auth && auth->method == kAuthPsk && *id == identity(config_.remote_id) &&
                   same(auth->data, auth_value(true, *id));
  if (!authentic) {
    send_response(gen_, request, {notify_payload(notify::kAuthenticationFailed)});
    fail("the initiator's AUTH does not verify (wrong identity or pre-shared key)");
    return {};
  }
  // From here the IKE SA stands; a CHILD_SA problem is answered with a notify (2.21.2).
  IdPayload our_id = identity(config_.local_id);
  std::vector<Payload> payloads = {{PayloadType::kIdr, false, our_id},
                                   {PayloadType::kAuth, false, AuthPayload{kAuthPsk, auth_value(false, our_id)}}};
  established(now_ms_);
  auto chosen = esp ? choose(*esp, without_groups(config_.esp_suites), 3) : std::nullopt;
  if (!chosen || chosen->second->spi.size() != 4) {
    payloads.push_back(notify_payload(notify::kNoProposalChosen));
    send_response(gen_, request, payloads);
    return {};
  }
  auto local = narrow_first(find<TsPayload>(inner, PayloadType::kTsr), config_.local_ts);
  auto remote = narrow_first(find<TsPayload>(inner, PayloadType::kTsi), config_.remote_ts);
  if (!local || !remote) {
    payloads.push_back(notify_payload(notify::kTsUnacceptable));
    send_response(gen_, request, payloads);
    return {};
  }
  uint32_t spi = random_esp_spi();
  auto keys = child_keys(gen_, chosen->first, {}, ni_, nr_, false);
  if (!keys) return fail(keys.message());
  payloads.push_back({PayloadType::kSa, false, SaPayload{{to_proposal(chosen->first, chosen->second->number, 3, be32_bytes(spi))}}});
  payloads.push_back({PayloadType::kTsi, false, TsPayload{{*remote}}});
  payloads.push_back({PayloadType::kTsr, false, TsPayload{{*local}}});
  send_response(gen_, request, payloads);
  ChildSa child{chosen->first, spi, be32_value(chosen->second->spi), keys->first, keys->second, *local, *remote};
  events_.push_back({ChildEventKind::kInboundUp, child});
  events_.push_back({ChildEventKind::kOutboundUp, child});
  child_ = std::move(child);
  child_min_nonce_ = lower_nonce(ni_, nr_);
  return {};
}

// Initiator: the responder proves the PSK; the CHILD_SA is what it accepted.
Result<void> IkeSa::finish_auth(const std::vector<Payload>& inner) {
  if (find_notify(inner, notify::kAuthenticationFailed)) return fail("the responder refused our authentication");
  const auto* id = find<IdPayload>(inner, PayloadType::kIdr);
  const auto* auth = find<AuthPayload>(inner, PayloadType::kAuth);
  if (!id || !auth || auth->method != kAuthPsk || *id != identity(config_.remote_id) || !same(auth->data, auth_value(false, *id)))
    return fail("the responder's AUTH does not verify (wrong identity or pre-shared key)");
  established(now_ms_);
  const auto* esp = find<SaPayload>(inner, PayloadType::kSa);
  const auto* tsi = find<TsPayload>(inner, PayloadType::kTsi);
  const auto* tsr = find<TsPayload>(inner, PayloadType::kTsr);
  if (!esp || esp->proposals.size() != 1 || !tsi || !tsr || tsi->selectors.empty() || tsr->selectors.empty()) {
    failure_ = "no CHILD_SA: the responder said why in a notify";
    return {};  // the IKE SA stands without a CHILD_SA
  }
  auto chosen = choose(*esp, without_groups(config_.esp_suites), 3);
  if (!chosen || chosen->second->spi.size() != 4) return fail("the responder chose an ESP suite we did not offer");
  auto keys = child_keys(gen_, chosen->first, {}, ni_, nr_, true);
  if (!keys) return fail(keys.message());
  ChildSa child{chosen->first, first_child_spi_, be32_value(chosen->second->spi), keys->first, keys->second,
                tsi->selectors[0], tsr->selectors[0]};
  events_.push_back({ChildEventKind::kInboundUp, child});
  events_.push_back({ChildEventKind::kOutboundUp, child});
  child_ = std::move(child);
  child_min_nonce_ = lower_nonce(ni_, nr_);
  return {};
}

}  // namespace rampart::ike
