#include "ike/ike_sa.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>

#include "ike/sk_crypto.hpp"

namespace rampart::ike {

namespace {

constexpr uint8_t kIdFqdn = 2;
constexpr uint8_t kAuthPsk = 2;
constexpr uint16_t kNotifyAuthenticationFailed = 24;
constexpr uint16_t kNotifyNoProposalChosen = 14;
constexpr uint16_t kNotifyTsUnacceptable = 38;
constexpr size_t kNonceLength = 32;

Bytes random_bytes(size_t n) {
  Bytes b(n);
  RAND_bytes(reinterpret_cast<unsigned char*>(b.data()), static_cast<int>(n));
  return b;
}

uint64_t random_u64() {
  uint64_t v = 0;
  while (v == 0) RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v);
  return v;
}

template <typename T>
const T* find(const std::vector<Payload>& payloads, PayloadType type) {
  for (const Payload& p : payloads)
    if (p.type == type)
      if (const auto* body = std::get_if<T>(&p.body)) return body;
  return nullptr;
}

const NotifyPayload* find_notify(const std::vector<Payload>& payloads, uint16_t type) {
  for (const Payload& p : payloads)
    if (const auto* n = std::get_if<NotifyPayload>(&p.body); n && n->type == type) return n;
  return nullptr;
}

IdPayload fqdn(const std::string& id) {
  return {kIdFqdn, Bytes(reinterpret_cast<const std::byte*>(id.data()), reinterpret_cast<const std::byte*>(id.data()) + id.size())};
}

// The ID payload's body as 2.15 MACs it: type, three reserved bytes, data.
Bytes id_body(const IdPayload& id) {
  Bytes b{std::byte{id.type}, std::byte{0}, std::byte{0}, std::byte{0}};
  b.insert(b.end(), id.data.begin(), id.data.end());
  return b;
}

// 2.9: what both the offer and our configuration allow (IPv4 ranges, one selector each).
std::optional<TrafficSelector> narrow(const TrafficSelector& offered, const TrafficSelector& ours) {
  if (offered.type != 7 || ours.type != 7) return std::nullopt;
  uint32_t start = std::max(be32_value(offered.start), be32_value(ours.start));
  uint32_t end = std::min(be32_value(offered.end), be32_value(ours.end));
  uint16_t low = std::max(offered.start_port, ours.start_port), high = std::min(offered.end_port, ours.end_port);
  if (start > end || low > high) return std::nullopt;
  if (offered.protocol != 0 && ours.protocol != 0 && offered.protocol != ours.protocol) return std::nullopt;
  return TrafficSelector{7, offered.protocol ? offered.protocol : ours.protocol, low, high, be32_bytes(start), be32_bytes(end)};
}


}  // namespace

IkeSa::IkeSa(PeerConfig config, bool initiator) : config_(std::move(config)), initiator_(initiator) {}
IkeSa IkeSa::initiator(PeerConfig config) { return IkeSa(std::move(config), true); }
IkeSa IkeSa::responder(PeerConfig config) { return IkeSa(std::move(config), false); }

Error IkeSa::fail(const std::string& why) {
  state_ = IkeState::kFailed;
  return make_error(Errc::kCrypto, "IKE SA: " + why);
}

Result<Bytes> IkeSa::start() {
  if (!initiator_ || state_ != IkeState::kIdle || config_.ike_suites.empty())
    return make_error(Errc::kInvalidArgument, "IKE SA: start() is the idle initiator's");
  spi_i_ = random_u64();
  auto dh = KeyExchange::generate(static_cast<DhGroup>(config_.ike_suites.front().dh));
  if (!dh) return fail(dh.message());
  dh_.emplace(std::move(*dh));
  ni_ = random_bytes(kNonceLength);
  SaPayload sa;
  for (size_t i = 0; i < config_.ike_suites.size(); ++i)
    sa.proposals.push_back(to_proposal(config_.ike_suites[i], static_cast<uint8_t>(i + 1), 1, {}));
  Message m;
  m.header = {spi_i_, 0, PayloadType::kNone, 0x20, ExchangeType::kIkeSaInit, kFlagInitiator, 0, 0};
  m.payloads = {{PayloadType::kSa, false, sa},
                {PayloadType::kKe, false, KePayload{static_cast<uint16_t>(dh_->group()), dh_->public_value()}},
                {PayloadType::kNonce, false, RawPayload{ni_}}};
  init_request_ = serialize_message(m);
  state_ = IkeState::kInitSent;
  return init_request_;
}

Result<void> IkeSa::derive_keys(ByteView shared_secret) {
  Prf prf = static_cast<Prf>(suite_.prf);
  auto seed = skeyseed(prf, ni_, nr_, shared_secret);
  if (!seed) return seed.error();
  SkSuite sk{suite_.encryption, suite_.key_bits, suite_.integrity};
  auto keys = derive_ike_keys(prf, *seed, ni_, nr_, spi_i_, spi_r_, integrity_key_length(sk), encryption_key_length(sk));
  if (!keys) return keys.error();
  keys_ = std::move(*keys);
  return {};
}

// 2.15: AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>), where the signed
// octets are the sender's IKE_SA_INIT message, the peer's nonce and prf(SK_px, ID body).
Bytes IkeSa::auth_value(bool of_initiator, const IdPayload& id) const {
  Prf prf = static_cast<Prf>(suite_.prf);
  static const char kPad[] = "Key Pad for IKEv2";
  Bytes signed_octets = of_initiator ? init_request_ : init_response_;
  const Bytes& nonce = of_initiator ? nr_ : ni_;
  signed_octets.insert(signed_octets.end(), nonce.begin(), nonce.end());
  auto maced_id = ike::prf(prf, of_initiator ? keys_.sk_pi : keys_.sk_pr, id_body(id));
  if (!maced_id) return {};
  signed_octets.insert(signed_octets.end(), maced_id->begin(), maced_id->end());
  auto key = ike::prf(prf, config_.psk, ByteView(reinterpret_cast<const std::byte*>(kPad), sizeof kPad - 1));
  if (!key) return {};
  auto auth = ike::prf(prf, *key, signed_octets);
  return auth ? *auth : Bytes{};
}

// 2.17: KEYMAT = prf+(SK_d, Ni | Nr); the initiator-to-responder key comes first. Returned as
// (this side's inbound key, its outbound key).
Result<std::pair<Bytes, Bytes>> IkeSa::child_keys(const Suite& esp) const {
  size_t key_length = encryption_key_length(SkSuite{esp.encryption, esp.key_bits, esp.integrity});
  auto keymat = child_keymat(static_cast<Prf>(suite_.prf), keys_.sk_d, {}, ni_, nr_, 2 * key_length);
  if (!keymat) return keymat.error();
  Bytes i_to_r(keymat->begin(), keymat->begin() + static_cast<long>(key_length));
  Bytes r_to_i(keymat->begin() + static_cast<long>(key_length), keymat->end());
  if (initiator_) return std::pair{std::move(r_to_i), std::move(i_to_r)};
  return std::pair{std::move(i_to_r), std::move(r_to_i)};
}

Result<Bytes> IkeSa::seal(ExchangeType exchange, uint32_t message_id, bool response, const std::vector<Payload>& inner) {
  SkSuite sk{suite_.encryption, suite_.key_bits, suite_.integrity};
  Header h{spi_i_, spi_r_, PayloadType::kNone, 0x20, exchange,
           static_cast<uint8_t>((initiator_ ? kFlagInitiator : 0) | (response ? kFlagResponse : 0)), message_id, 0};
  return seal_message(sk, initiator_ ? keys_.sk_ei : keys_.sk_er, initiator_ ? keys_.sk_ai : keys_.sk_ar, h, inner,
                      random_iv_source());
}

Result<std::optional<Bytes>> IkeSa::receive(ByteView datagram) {
  auto parsed = parse_message(datagram);
  if (auto* e = std::get_if<ParseError>(&parsed)) return make_error(Errc::kParse, "IKE SA: dropped: " + e->what);
  const Message& m = std::get<Message>(parsed);
  bool response = (m.header.flags & kFlagResponse) != 0;
  if (initiator_ == response) {
    if (!initiator_ && state_ == IkeState::kIdle && m.header.exchange == ExchangeType::kIkeSaInit && m.header.message_id == 0)
      return respond_init(m, datagram);
    if (!initiator_ && state_ == IkeState::kInitSent && m.header.exchange == ExchangeType::kIkeAuth &&
        m.header.message_id == 1 && m.header.initiator_spi == spi_i_ && m.header.responder_spi == spi_r_)
      return respond_auth(datagram);
    if (initiator_ && state_ == IkeState::kInitSent && m.header.exchange == ExchangeType::kIkeSaInit &&
        m.header.message_id == 0 && m.header.initiator_spi == spi_i_)
      return initiator_auth(m, datagram);
    if (initiator_ && state_ == IkeState::kAuthSent && m.header.exchange == ExchangeType::kIkeAuth &&
        m.header.message_id == 1 && m.header.initiator_spi == spi_i_ && m.header.responder_spi == spi_r_)
      return finish_auth(datagram);
  }
  return make_error(Errc::kInvalidArgument, "IKE SA: dropped: not the message this side waits for");
}

// Responder, IKE_SA_INIT: choose a suite, agree on g^ir, derive the keys, answer.
Result<std::optional<Bytes>> IkeSa::respond_init(const Message& request, ByteView datagram) {
  const auto* sa = find<SaPayload>(request.payloads, PayloadType::kSa);
  const auto* ke = find<KePayload>(request.payloads, PayloadType::kKe);
  const auto* nonce = find<RawPayload>(request.payloads, PayloadType::kNonce);
  if (!sa || !ke || !nonce) return make_error(Errc::kParse, "IKE SA: dropped: IKE_SA_INIT without SA, KE or Ni");
  spi_i_ = request.header.initiator_spi;
  auto chosen = choose(*sa, config_.ike_suites, 1);
  auto refuse = [&](uint16_t notify) -> Result<std::optional<Bytes>> {
    Message m;
    m.header = {spi_i_, 0, PayloadType::kNone, 0x20, ExchangeType::kIkeSaInit, kFlagResponse, 0, 0};
    m.payloads = {{PayloadType::kNotify, false, NotifyPayload{0, {}, notify, {}}}};
    state_ = IkeState::kFailed;
    return std::optional<Bytes>(serialize_message(m));
  };
  if (!chosen || chosen->first.dh != ke->group) return refuse(kNotifyNoProposalChosen);  // (INVALID_KE_PAYLOAD to come)
  suite_ = chosen->first;
  auto dh = KeyExchange::generate(static_cast<DhGroup>(suite_.dh));
  if (!dh) return fail(dh.message());
  dh_.emplace(std::move(*dh));
  auto shared = dh_->shared_secret(ke->data);
  if (!shared) return fail(shared.message());
  ni_ = nonce->data;
  nr_ = random_bytes(kNonceLength);
  spi_r_ = random_u64();
  init_request_.assign(datagram.begin(), datagram.end());
  if (auto r = derive_keys(*shared); !r) return fail(r.message());
  Message m;
  m.header = {spi_i_, spi_r_, PayloadType::kNone, 0x20, ExchangeType::kIkeSaInit, kFlagResponse, 0, 0};
  Proposal accepted = to_proposal(suite_, chosen->second->number, 1, {});
  m.payloads = {{PayloadType::kSa, false, SaPayload{{accepted}}},
                {PayloadType::kKe, false, KePayload{suite_.dh, dh_->public_value()}},
                {PayloadType::kNonce, false, RawPayload{nr_}}};
  init_response_ = serialize_message(m);
  state_ = IkeState::kInitSent;
  return std::optional<Bytes>(init_response_);
}

// Initiator, after IKE_SA_INIT: keys, then IKE_AUTH with the first CHILD_SA's proposal.
Result<std::optional<Bytes>> IkeSa::initiator_auth(const Message& response, ByteView datagram) {
  if (find_notify(response.payloads, kNotifyNoProposalChosen)) return fail("the responder chose no proposal");
  const auto* sa = find<SaPayload>(response.payloads, PayloadType::kSa);
  const auto* ke = find<KePayload>(response.payloads, PayloadType::kKe);
  const auto* nonce = find<RawPayload>(response.payloads, PayloadType::kNonce);
  if (!sa || !ke || !nonce || sa->proposals.size() != 1) return fail("IKE_SA_INIT response without SA, KE or Nr");
  auto chosen = choose(*sa, config_.ike_suites, 1);
  if (!chosen || chosen->first.dh != static_cast<uint16_t>(dh_->group()) || ke->group != chosen->first.dh)
    return fail("the responder chose what was not offered");
  suite_ = chosen->first;
  auto shared = dh_->shared_secret(ke->data);
  if (!shared) return fail(shared.message());
  spi_r_ = response.header.responder_spi;
  nr_ = nonce->data;
  init_response_.assign(datagram.begin(), datagram.end());
  if (auto r = derive_keys(*shared); !r) return fail(r.message());
  child_spi_ = static_cast<uint32_t>(random_u64() | 0x100);
  SaPayload esp;
  for (size_t i = 0; i < config_.esp_suites.size(); ++i)
    esp.proposals.push_back(to_proposal(config_.esp_suites[i], static_cast<uint8_t>(i + 1), 3, be32_bytes(child_spi_)));
  IdPayload id = fqdn(config_.local_id);
  std::vector<Payload> inner = {{PayloadType::kIdi, false, id},
                                {PayloadType::kAuth, false, AuthPayload{kAuthPsk, auth_value(true, id)}},
                                {PayloadType::kSa, false, esp},
                                {PayloadType::kTsi, false, TsPayload{{config_.local_ts}}},
                                {PayloadType::kTsr, false, TsPayload{{config_.remote_ts}}}};
  auto request = seal(ExchangeType::kIkeAuth, 1, false, inner);
  if (!request) return fail(request.message());
  state_ = IkeState::kAuthSent;
  return std::optional<Bytes>(std::move(*request));
}

// Responder, IKE_AUTH: the initiator proves the PSK, then the CHILD_SA is agreed.
Result<std::optional<Bytes>> IkeSa::respond_auth(ByteView datagram) {
  SkSuite sk{suite_.encryption, suite_.key_bits, suite_.integrity};
  auto opened = open_message(sk, keys_.sk_ei, keys_.sk_ai, datagram);
  if (auto* f = std::get_if<SkFailure>(&opened)) return make_error(Errc::kCrypto, "IKE SA: dropped: " + f->what);
  const auto& inner = std::get<std::vector<Payload>>(opened);
  const auto* id = find<IdPayload>(inner, PayloadType::kIdi);
  const auto* auth = find<AuthPayload>(inner, PayloadType::kAuth);
  const auto* esp = find<SaPayload>(inner, PayloadType::kSa);
  const auto* tsi = find<TsPayload>(inner, PayloadType::kTsi);
  const auto* tsr = find<TsPayload>(inner, PayloadType::kTsr);
  auto answer = [&](std::vector<Payload> payloads) -> Result<std::optional<Bytes>> {
    auto response = seal(ExchangeType::kIkeAuth, 1, true, payloads);
    if (!response) return fail(response.message());
    return std::optional<Bytes>(std::move(*response));
  };
  Bytes expected = id ? auth_value(true, *id) : Bytes{};
  bool authentic = id && auth && auth->method == kAuthPsk && id->data == fqdn(config_.remote_id).data &&
                   auth->data.size() == expected.size() && !expected.empty() &&
                   CRYPTO_memcmp(auth->data.data(), expected.data(), expected.size()) == 0;
  if (!authentic) {
    auto sent = answer({{PayloadType::kNotify, false, NotifyPayload{0, {}, kNotifyAuthenticationFailed, {}}}});
    state_ = IkeState::kFailed;
    return sent;
  }
  // From here the IKE SA stands; a CHILD_SA problem is answered with a notify (2.21.2).
  IdPayload our_id = fqdn(config_.local_id);
  std::vector<Payload> payloads = {{PayloadType::kIdr, false, our_id},
                                   {PayloadType::kAuth, false, AuthPayload{kAuthPsk, auth_value(false, our_id)}}};
  state_ = IkeState::kEstablished;
  auto chosen = esp ? choose(*esp, config_.esp_suites, 3) : std::nullopt;
  if (!chosen || chosen->second->spi.size() != 4) {
    payloads.push_back({PayloadType::kNotify, false, NotifyPayload{0, {}, kNotifyNoProposalChosen, {}}});
    return answer(payloads);
  }
  auto local = (tsr && !tsr->selectors.empty()) ? narrow(tsr->selectors[0], config_.local_ts) : std::nullopt;
  auto remote = (tsi && !tsi->selectors.empty()) ? narrow(tsi->selectors[0], config_.remote_ts) : std::nullopt;
  if (!local || !remote) {
    payloads.push_back({PayloadType::kNotify, false, NotifyPayload{0, {}, kNotifyTsUnacceptable, {}}});
    return answer(payloads);
  }
  child_spi_ = static_cast<uint32_t>(random_u64() | 0x100);
  auto keys = child_keys(chosen->first);
  if (!keys) return fail(keys.message());
  child_ = ChildSa{chosen->first, child_spi_, be32_value(chosen->second->spi), keys->first, keys->second, *local, *remote};
  payloads.push_back({PayloadType::kSa, false, SaPayload{{to_proposal(chosen->first, chosen->second->number, 3, be32_bytes(child_spi_))}}});
  payloads.push_back({PayloadType::kTsi, false, TsPayload{{*remote}}});
  payloads.push_back({PayloadType::kTsr, false, TsPayload{{*local}}});
  return answer(payloads);
}

// Initiator, IKE_AUTH response: the responder proves the PSK; the CHILD_SA is what it accepted.
Result<std::optional<Bytes>> IkeSa::finish_auth(ByteView datagram) {
  SkSuite sk{suite_.encryption, suite_.key_bits, suite_.integrity};
  auto opened = open_message(sk, keys_.sk_er, keys_.sk_ar, datagram);
  if (auto* f = std::get_if<SkFailure>(&opened)) return make_error(Errc::kCrypto, "IKE SA: dropped: " + f->what);
  const auto& inner = std::get<std::vector<Payload>>(opened);
  if (find_notify(inner, kNotifyAuthenticationFailed)) return fail("the responder refused our authentication");
  const auto* id = find<IdPayload>(inner, PayloadType::kIdr);
  const auto* auth = find<AuthPayload>(inner, PayloadType::kAuth);
  Bytes expected = id ? auth_value(false, *id) : Bytes{};
  if (!id || !auth || id->data != fqdn(config_.remote_id).data || auth->data.size() != expected.size() ||
      expected.empty() || CRYPTO_memcmp(auth->data.data(), expected.data(), expected.size()) != 0)
    return fail("the responder's AUTH does not verify");
  state_ = IkeState::kEstablished;
  const auto* esp = find<SaPayload>(inner, PayloadType::kSa);
  const auto* tsi = find<TsPayload>(inner, PayloadType::kTsi);
  const auto* tsr = find<TsPayload>(inner, PayloadType::kTsr);
  if (!esp || esp->proposals.size() != 1 || !tsi || !tsr || tsi->selectors.empty() || tsr->selectors.empty())
    return std::optional<Bytes>();  // the IKE SA stands without a CHILD_SA (a notify said why)
  auto chosen = choose(*esp, config_.esp_suites, 3);
  if (!chosen || chosen->second->spi.size() != 4) return fail("the responder chose an ESP suite we did not offer");
  auto keys = child_keys(chosen->first);
  if (!keys) return fail(keys.message());
  child_ = ChildSa{chosen->first, child_spi_, be32_value(chosen->second->spi), keys->first, keys->second, tsi->selectors[0],
                   tsr->selectors[0]};
  return std::optional<Bytes>();
}

}  // namespace rampart::ike
