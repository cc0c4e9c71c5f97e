// IKE_SA_INIT (RFC 7296 1.2): SA, KE and nonces, the keys of 2.14; NAT detection (2.23); a
// responder's COOKIE (2.6) and INVALID_KE_PAYLOAD (1.2, 3.10.1), which the initiator answers by
// sending the request again.
#include "ike/exchange_support.hpp"
#include "ike/ike_sa.hpp"
#include "ike/sk_crypto.hpp"

namespace rampart::ike {

namespace {

constexpr size_t kNonceLength = 32;
// SIGNATURE_HASH_ALGORITHMS (RFC 7427 4, RFC 7427's IANA registry): SHA2-256, -384, -512.
const Bytes kHashAlgorithms{std::byte{0}, std::byte{2}, std::byte{0}, std::byte{3}, std::byte{0}, std::byte{4}};

void put_be64(Bytes& out, uint64_t v) {
  Bytes b = be64_bytes(v);
  out.insert(out.end(), b.begin(), b.end());
}

// 2.23: SHA-1(SPIi | SPIr | IP | Port).
Bytes nat_hash(uint64_t spi_i, uint64_t spi_r, const Bytes& address, uint16_t port) {
  Bytes data;
  put_be64(data, spi_i);
  put_be64(data, spi_r);
  data.insert(data.end(), address.begin(), address.end());
  data.push_back(static_cast<std::byte>(port >> 8));
  data.push_back(static_cast<std::byte>(port));
  return sha1(data);
}

Result<IkeKeys> derive(const Suite& suite, ByteView shared, const Bytes& ni, const Bytes& nr, uint64_t spi_i,
                       uint64_t spi_r) {
  Prf prf = static_cast<Prf>(suite.prf);
  auto seed = skeyseed(prf, ni, nr, shared);
  if (!seed) return seed.error();
  SkSuite sk{suite.encryption, suite.key_bits, suite.integrity};
  return derive_ike_keys(prf, *seed, ni, nr, spi_i, spi_r, integrity_key_length(sk), encryption_key_length(sk));
}

}  // namespace

std::vector<Payload> IkeSa::nat_detection(uint64_t spi_r) const {
  // Forced encapsulation: a source hash that cannot match makes the peer see a NAT in front of us.
  Bytes source = config_.force_encapsulation ? random_bytes(20)
                                             : nat_hash(gen_.spi_i, spi_r, path_.local, path_.local_port);
  return {notify_payload(notify::kNatDetectionSourceIp, std::move(source)),
          notify_payload(notify::kNatDetectionDestinationIp, nat_hash(gen_.spi_i, spi_r, path_.remote, path_.remote_port))};
}

// The peer's hashes against the addresses this datagram really had. A peer that sends none has
// no NAT-T: nothing changes.
void IkeSa::check_nat(const std::vector<Payload>& payloads, uint64_t spi_r) {
  bool any = false, source_seen = false, destination_seen = false;
  Bytes source = nat_hash(gen_.spi_i, spi_r, path_.remote, path_.remote_port);
  Bytes destination = nat_hash(gen_.spi_i, spi_r, path_.local, path_.local_port);
  for (const Payload& p : payloads)
    if (const auto* n = std::get_if<NotifyPayload>(&p.body)) {
      if (n->type == notify::kNatDetectionSourceIp) {
        any = true;
        source_seen |= n->data == source;
      } else if (n->type == notify::kNatDetectionDestinationIp) {
        any = true;
        destination_seen |= n->data == destination;
      }
    }
  if (!any) return;
  nat_remote_ = !source_seen;
  nat_local_ = !destination_seen;
}

Bytes IkeSa::init_request() const {
  SaPayload sa;
  for (size_t i = 0; i < config_.ike_suites.size(); ++i)
    sa.proposals.push_back(to_proposal(config_.ike_suites[i], static_cast<uint8_t>(i + 1), 1, {}));
  Message m;
  m.header = {gen_.spi_i, 0, PayloadType::kNone, 0x20, ExchangeType::kIkeSaInit, kFlagInitiator, 0, 0};
  if (!peer_cookie_.empty()) m.payloads.push_back(notify_payload(notify::kCookie, peer_cookie_));  // first (2.6)
  m.payloads.push_back({PayloadType::kSa, false, sa});
  m.payloads.push_back({PayloadType::kKe, false, KePayload{static_cast<uint16_t>(dh_->group()), dh_->public_value()}});
  m.payloads.push_back({PayloadType::kNonce, false, RawPayload{ni_}});
  for (Payload& p : nat_detection(0)) m.payloads.push_back(std::move(p));
  if (config_.credentials) m.payloads.push_back(notify_payload(notify::kSignatureHashAlgorithms, kHashAlgorithms));
  return serialize_message(m);
}

Result<void> IkeSa::start(uint64_t now_ms) {
  now_ms_ = now_ms;
  if (!gen_.initiator || state_ != IkeState::kIdle || config_.ike_suites.empty())
    return make_error(Errc::kInvalidArgument, "IKE SA: start() is the idle initiator's");
  gen_.spi_i = random_u64();
  auto dh = KeyExchange::generate(static_cast<DhGroup>(config_.ike_suites.front().dh));
  if (!dh) return fail(dh.message());
  dh_ = std::make_shared<const KeyExchange>(std::move(*dh));
  ni_ = random_bytes(kNonceLength);
  send_init();
  gen_.next_id = 1;
  state_ = IkeState::kInitSent;
  return {};
}

// IKE_SA_INIT as it stands now (first, or again with a cookie or another group): the request in
// flight, retransmitted like any other.
void IkeSa::send_init() {
  init_request_ = init_request();
  Request r;
  r.task = Task::kInit;
  r.datagram = init_request_;
  r.resend_at = now_ms_ + config_.retransmit_timeout_ms;
  outbox_.push_back(init_request_);
  ++counters_.requests_sent;
  gen_.pending = std::move(r);
}

// Responder: choose a suite, agree on g^ir, derive the keys, answer.
// The hashes the peer accepts in signatures (RFC 7427 4: SIGNATURE_HASH_ALGORITHMS, 2 bytes each).
std::vector<uint16_t> IkeSa::signature_hashes(const std::vector<Payload>& payloads) {
  std::vector<uint16_t> hashes;
  if (const auto* n = find_notify(payloads, notify::kSignatureHashAlgorithms))
    for (size_t i = 0; i + 1 < n->data.size() && hashes.size() < 16; i += 2)
      hashes.push_back(static_cast<uint16_t>(static_cast<uint8_t>(n->data[i]) << 8 | static_cast<uint8_t>(n->data[i + 1])));
  return hashes;
}

Result<void> IkeSa::respond_init(const Message& request, ByteView datagram) {
  peer_hashes_ = signature_hashes(request.payloads);
  const auto* sa = find<SaPayload>(request.payloads, PayloadType::kSa);
  const auto* ke = find<KePayload>(request.payloads, PayloadType::kKe);
  const auto* nonce = find<RawPayload>(request.payloads, PayloadType::kNonce);
  if (!sa || !ke || !nonce || nonce->data.size() < 16 || nonce->data.size() > 256)
    return make_error(Errc::kParse, "IKE SA: dropped: IKE_SA_INIT without SA, KE or a proper Ni");
  gen_.spi_i = request.header.initiator_spi;
  auto chosen = choose(*sa, config_.ike_suites, 1);
  // Refusals are answered without keeping state: NO_PROPOSAL_CHOSEN ends this IKE SA;
  // after INVALID_KE_PAYLOAD it stays idle for the initiator's next try.
  auto refuse = [&](uint16_t type, Bytes data) {
    Message m;
    m.header = {gen_.spi_i, 0, PayloadType::kNone, 0x20, ExchangeType::kIkeSaInit, kFlagResponse, 0, 0};
    m.payloads = {notify_payload(type, std::move(data))};
    send_plain(serialize_message(m));
    gen_.spi_i = 0;
  };
  if (!chosen) {
    refuse(notify::kNoProposalChosen, {});
    fail("no IKE proposal in common");
    return {};
  }
  if (chosen->first.dh != ke->group) {
    refuse(notify::kInvalidKePayload, {static_cast<std::byte>(chosen->first.dh >> 8), static_cast<std::byte>(chosen->first.dh)});
    return {};
  }
  gen_.suite = chosen->first;
  if (config_.dh_reuse_ms) {
    auto dh = KeyExchange::reused(static_cast<DhGroup>(gen_.suite.dh), now_ms_, config_.dh_reuse_ms);
    if (!dh) return fail(dh.message());
    dh_ = std::move(*dh);
  } else {
    auto dh = KeyExchange::generate(static_cast<DhGroup>(gen_.suite.dh));
    if (!dh) return fail(dh.message());
    dh_ = std::make_shared<const KeyExchange>(std::move(*dh));
  }
  auto shared = dh_->shared_secret(ke->data);
  if (!shared) return make_error(Errc::kCrypto, "IKE SA: dropped: " + shared.message());
  check_nat(request.payloads, 0);
  ni_ = nonce->data;
  nr_ = random_bytes(kNonceLength);
  gen_.spi_r = random_u64();
  init_request_.assign(datagram.begin(), datagram.end());
  auto keys = derive(gen_.suite, *shared, ni_, nr_, gen_.spi_i, gen_.spi_r);
  if (!keys) return fail(keys.message());
  gen_.keys = std::move(*keys);
  Message m;
  m.header = {gen_.spi_i, gen_.spi_r, PayloadType::kNone, 0x20, ExchangeType::kIkeSaInit, kFlagResponse, 0, 0};
  Proposal accepted = to_proposal(gen_.suite, chosen->second->number, 1, {});
  m.payloads = {{PayloadType::kSa, false, SaPayload{{accepted}}},
                {PayloadType::kKe, false, KePayload{gen_.suite.dh, dh_->public_value()}},
                {PayloadType::kNonce, false, RawPayload{nr_}}};
  if (find_notify(request.payloads, notify::kNatDetectionSourceIp))
    for (Payload& p : nat_detection(gen_.spi_r)) m.payloads.push_back(std::move(p));
  if (config_.credentials) {  // which CA we trust, and how we can sign (RFC 7427)
    m.payloads.push_back({PayloadType::kCertReq, false, CertPayload{kCertX509Signature, config_.credentials->authority()}});
    m.payloads.push_back(notify_payload(notify::kSignatureHashAlgorithms, kHashAlgorithms));
  }
  init_response_ = serialize_message(m);
  gen_.last_response = init_response_;
  gen_.last_response_id = 0;
  gen_.last_request.assign(current_datagram_.begin(), current_datagram_.end());
  gen_.peer_next_id = 1;
  send_plain(init_response_);
  state_ = IkeState::kInitSent;
  return {};
}

// Initiator: the response, or a request to send IKE_SA_INIT again (a cookie, another group).
Result<void> IkeSa::finish_init(const Message& response, ByteView datagram) {
  peer_hashes_ = signature_hashes(response.payloads);
  auto again = [&]() -> Result<void> {
    send_init();
    return {};
  };
  if (const auto* cookie = find_notify(response.payloads, notify::kCookie)) {
    if (cookie->data.empty() || cookie->data.size() > 64 || cookie->data == peer_cookie_)
      return fail("the responder's cookie is unusable");
    peer_cookie_ = cookie->data;
    return again();
  }
  if (const auto* invalid_ke = find_notify(response.payloads, notify::kInvalidKePayload)) {
    uint16_t group = invalid_ke->data.size() == 2
                         ? static_cast<uint16_t>(static_cast<uint8_t>(invalid_ke->data[0]) << 8 | static_cast<uint8_t>(invalid_ke->data[1]))
                         : 0;
    bool ours = std::any_of(config_.ike_suites.begin(), config_.ike_suites.end(), [&](const Suite& s) { return s.dh == group; });
    if (!ours || group == static_cast<uint16_t>(dh_->group())) return fail("the responder wants a group we do not offer");
    auto dh = KeyExchange::generate(static_cast<DhGroup>(group));
    if (!dh) return fail(dh.message());
    dh_ = std::make_shared<const KeyExchange>(std::move(*dh));
    return again();
  }
  if (find_notify(response.payloads, notify::kNoProposalChosen)) return fail("the responder chose no proposal");
  const auto* sa = find<SaPayload>(response.payloads, PayloadType::kSa);
  const auto* ke = find<KePayload>(response.payloads, PayloadType::kKe);
  const auto* nonce = find<RawPayload>(response.payloads, PayloadType::kNonce);
  if (!sa || !ke || !nonce || sa->proposals.size() != 1 || response.header.responder_spi == 0)
    return fail("IKE_SA_INIT response without SA, KE or Nr");
  auto chosen = choose(*sa, config_.ike_suites, 1);
  if (!chosen || chosen->first.dh != static_cast<uint16_t>(dh_->group()) || ke->group != chosen->first.dh)
    return fail("the responder chose what was not offered");
  gen_.suite = chosen->first;
  auto shared = dh_->shared_secret(ke->data);
  if (!shared) return fail(shared.message());
  gen_.spi_r = response.header.responder_spi;
  nr_ = nonce->data;
  init_response_.assign(datagram.begin(), datagram.end());
  check_nat(response.payloads, gen_.spi_r);
  auto keys = derive(gen_.suite, *shared, ni_, nr_, gen_.spi_i, gen_.spi_r);
  if (!keys) return fail(keys.message());
  gen_.keys = std::move(*keys);
  // 2.23: behind a NAT (or told to encapsulate), everything after IKE_SA_INIT uses port 4500.
  if (udp_encapsulation()) path_.local_port = path_.remote_port = kIkeNatTPort;
  return send_auth();
}

}  // namespace rampart::ike
