// IKE_AUTH (RFC 7296 1.2, 2.15): each side proves the pre-shared key, or signs with its
// certificate's key (RFC 7427), over its IKE_SA_INIT message, the peer's nonce and its identity;
// the first CHILD_SA comes with it (proposals without a DH group, 1.2), its selectors narrowed as
// 2.9 allows and its keys from 2.17.
#include <openssl/crypto.h>

#include <algorithm>

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

// 3.15: CP(CFG_REQUEST) asking for an inside address of local_ts's family, the attribute empty
// (3.15.1: the responder picks one). Type, three reserved bytes, then attribute type and length.
Bytes address_request(const TrafficSelector& ts) {
  constexpr uint8_t kCfgRequest = 1;
  constexpr uint16_t kInternalIp4Address = 1, kInternalIp6Address = 8;
  uint16_t attribute = ts.type == 8 ? kInternalIp6Address : kInternalIp4Address;
  return {std::byte{kCfgRequest}, std::byte{0}, std::byte{0}, std::byte{0},
          std::byte(attribute >> 8), std::byte(attribute & 0xff), std::byte{0}, std::byte{0}};
}

bool same(const Bytes& a, const Bytes& b) {
  return a.size() == b.size() && !a.empty() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

// 2.15: the octets each side's AUTH covers: its IKE_SA_INIT message, the peer's nonce, and
// prf(SK_px, its ID payload's body).
Bytes IkeSa::signed_octets(bool of_initiator, const IdPayload& id) const {
  Bytes octets = of_initiator ? init_request_ : init_response_;
  const Bytes& nonce = of_initiator ? nr_ : ni_;
  octets.insert(octets.end(), nonce.begin(), nonce.end());
  auto maced_id = ike::prf(static_cast<Prf>(gen_.suite.prf), of_initiator ? gen_.keys.sk_pi : gen_.keys.sk_pr, id_body(id));
  if (!maced_id) return {};
  octets.insert(octets.end(), maced_id->begin(), maced_id->end());
  return octets;
}

namespace {
// PSK: AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>).
Bytes psk_auth(Prf prf, const Bytes& psk, const Bytes& octets) {
  static const char kPad[] = "Key Pad for IKEv2";
  auto key = ike::prf(prf, psk, ByteView(reinterpret_cast<const std::byte*>(kPad), sizeof kPad - 1));
  if (!key || octets.empty()) return {};
  auto auth = ike::prf(prf, *key, octets);
  return auth ? *auth : Bytes{};
}
}  // namespace

// What proves this side: AUTH with the PSK, or CERT and a signature AUTH (RFC 7427).
Result<std::vector<Payload>> IkeSa::authentication(bool of_initiator, const IdPayload& id) const {
  Bytes octets = signed_octets(of_initiator, id);
  if (!config_.credentials)
    return std::vector<Payload>{{PayloadType::kAuth, false, AuthPayload{kAuthPsk, psk_auth(static_cast<Prf>(gen_.suite.prf), config_.psk, octets)}}};
  auto signature = config_.credentials->sign(octets, peer_hashes_);
  if (!signature) return signature.error();
  return std::vector<Payload>{{PayloadType::kCert, false, CertPayload{kCertX509Signature, config_.credentials->certificate()}},
                              {PayloadType::kAuth, false, AuthPayload{kAuthDigitalSignature, std::move(*signature)}}};
}

Result<void> IkeSa::check_authentication(bool of_initiator, const std::vector<Payload>& inner, const IdPayload& id) const {
  const auto* auth = find<AuthPayload>(inner, PayloadType::kAuth);
  if (!auth) return make_error(Errc::kCrypto, "no AUTH payload");
  if (id != identity(config_.remote_id)) return make_error(Errc::kCrypto, "the peer is not who this connection expects");
  Bytes octets = signed_octets(of_initiator, id);
  if (!config_.credentials) {
    if (auth->method != kAuthPsk || !same(auth->data, psk_auth(static_cast<Prf>(gen_.suite.prf), config_.psk, octets)))
      return make_error(Errc::kCrypto, "the pre-shared key does not match");
    return {};
  }
  const CertPayload* cert = nullptr;
  for (const Payload& p : inner)
    if (const auto* c = std::get_if<CertPayload>(&p.body); c && p.type == PayloadType::kCert && c->encoding == kCertX509Signature) {
      cert = c;
      break;
    }
  if (auth->method != kAuthDigitalSignature || cert == nullptr)
    return make_error(Errc::kCrypto, "a certificate and an RFC 7427 signature were expected");
  return config_.credentials->verify(cert->data, id, octets, auth->data);
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
  auto proof = authentication(true, id);
  if (!proof) return fail(proof.message());
  std::vector<Payload> inner = {{PayloadType::kIdi, false, id}};
  inner.insert(inner.end(), proof->begin(), proof->end());
  if (config_.credentials)
    inner.push_back({PayloadType::kCertReq, false, CertPayload{kCertX509Signature, config_.credentials->authority()}});
  inner.push_back(notify_payload(notify::kInitialContact));
  if (config_.request_address) inner.push_back({PayloadType::kCp, false, RawPayload{address_request(config_.local_ts)}});
  inner.push_back({PayloadType::kSa, false, esp});
  inner.push_back({PayloadType::kTsi, false, TsPayload{{config_.local_ts}}});
  inner.push_back({PayloadType::kTsr, false, TsPayload{{config_.remote_ts}}});
  send_request(gen_, Task::kAuth, Request{}, ExchangeType::kIkeAuth, inner);
  if (state_ != IkeState::kFailed) state_ = IkeState::kAuthSent;
  return {};
}

// Responder: the initiator proves the PSK, then the CHILD_SA is agreed. INITIAL_CONTACT needs
// nothing here: the caller replaces any older IKE SA with this peer when this one stands.
Result<void> IkeSa::respond_auth(const Message& request, const std::vector<Payload>& inner) {
  const auto* id = find<IdPayload>(inner, PayloadType::kIdi);
  const auto* esp = find<SaPayload>(inner, PayloadType::kSa);
  auto authentic = id ? check_authentication(true, inner, *id) : Result<void>(make_error(Errc::kCrypto, "no IDi"));
  if (!authentic) {
    send_response(gen_, request, {notify_payload(notify::kAuthenticationFailed)});
    fail("the initiator's authentication failed: " + authentic.message());
    return {};
  }
  // A CP(CFG_REQUEST) asks for an address and servers, which only remote access will give
  // (3.15.4: a responder that does not serve it sends no CP); counted, so show ike says so.
  if (std::any_of(inner.begin(), inner.end(), [](const Payload& p) { return p.type == PayloadType::kCp; }))
    ++counters_.cp_unanswered;
  // From here the IKE SA stands; a CHILD_SA problem is answered with a notify (2.21.2).
  IdPayload our_id = identity(config_.local_id);
  auto proof = authentication(false, our_id);
  if (!proof) return fail(proof.message());
  std::vector<Payload> payloads = {{PayloadType::kIdr, false, our_id}};
  payloads.insert(payloads.end(), proof->begin(), proof->end());
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
  auto authentic = id ? check_authentication(false, inner, *id) : Result<void>(make_error(Errc::kCrypto, "no IDr"));
  if (!authentic) return fail("the responder's authentication failed: " + authentic.message());
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
  // 2.9: the responder may only narrow what we offered.
  auto local = narrow(tsi->selectors[0], config_.local_ts), remote = narrow(tsr->selectors[0], config_.remote_ts);
  if (!local || *local != tsi->selectors[0] || !remote || *remote != tsr->selectors[0])
    return fail("the responder's traffic selectors are wider than what we offered");
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
