// CREATE_CHILD_SA (RFC 7296 1.3): rekeying the CHILD_SA (1.3.3, 2.8; with PFS when the ESP suite
// names a group) and the IKE SA itself (1.3.2, 2.18), from either side, and the collision of two
// CHILD_SA rekeys (2.8.1): both complete, and the CHILD_SA made by the exchange with the lowest
// of the four nonces is redundant and deleted by whoever made it.
//
// Make-before-break: the rekey's initiator takes the new CHILD_SA in both directions as soon as
// the response comes, then deletes the old one. The responder takes it inbound at once but keeps
// sending on the old one until that Delete arrives (or a second has passed), so that it never
// sends on an SA the initiator cannot receive on yet.
#include "ike/exchange_support.hpp"
#include "ike/ike_sa.hpp"
#include "ike/sk_crypto.hpp"

namespace rampart::ike {

namespace {

constexpr size_t kNonceLength = 32;
constexpr uint64_t kRetireMs = 30000;  // an old IKE SA whose Delete never comes

// 2.18: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr) with the old IKE SA's PRF; then the keys
// of 2.14 with the new SPIs and the new suite.
Result<IkeKeys> rekeyed_keys(const Suite& old_suite, const IkeKeys& old, const Suite& suite, ByteView shared,
                             const Bytes& ni, const Bytes& nr, uint64_t spi_i, uint64_t spi_r) {
  auto seed = rekey_skeyseed(static_cast<Prf>(old_suite.prf), old.sk_d, shared, ni, nr);
  if (!seed) return seed.error();
  SkSuite sk{suite.encryption, suite.key_bits, suite.integrity};
  return derive_ike_keys(static_cast<Prf>(suite.prf), *seed, ni, nr, spi_i, spi_r, integrity_key_length(sk),
                         encryption_key_length(sk));
}

}  // namespace

void IkeSa::make_current(ChildSa child, Bytes min_nonce) {
  events_.push_back({ChildEventKind::kInboundUp, child});
  events_.push_back({ChildEventKind::kOutboundUp, child});
  child_ = std::move(child);
  child_min_nonce_ = std::move(min_nonce);
  child_from_peer_ = false;
  outbound_waiting_.reset();
}

Result<IkeSa::Request> IkeSa::child_rekey_request(std::vector<Payload>& inner) {
  inner.push_back(notify_payload(notify::kRekeySa, {}, 3, be32_bytes(child_->inbound_spi)));
  auto r = child_request(inner, child_->local_ts, child_->remote_ts);
  if (r) r->rekeyed_spi = child_->inbound_spi;
  return r;
}

Result<IkeSa::Request> IkeSa::ike_rekey_request(std::vector<Payload>& inner) {
  Request r;
  r.new_ike_spi = random_u64();
  r.nonce = random_bytes(kNonceLength);
  auto dh = KeyExchange::generate(static_cast<DhGroup>(gen_.suite.dh));
  if (!dh) return dh.error();
  r.dh.emplace(std::move(*dh));
  inner.push_back({PayloadType::kSa, false, SaPayload{{to_proposal(gen_.suite, 1, 1, be64_bytes(r.new_ike_spi))}}});
  inner.push_back({PayloadType::kNonce, false, RawPayload{r.nonce}});
  inner.push_back({PayloadType::kKe, false, KePayload{gen_.suite.dh, r.dh->public_value()}});
  return r;
}

// The responder's half of agreeing a CHILD_SA, new or a rekey, between `local` and `remote`:
// the suite from the peer's proposals, our nonce and SPI, DH when the suite names a group (PFS),
// the keys; the answer is sent here. Gives the CHILD_SA and our nonce; a refusal is answered
// with its notify and gives nullopt.
Result<IkeSa::ChildAnswer> IkeSa::answer_child(Generation& gen, const Message& request,
                                                                     const std::vector<Payload>& inner,
                                                                     const TrafficSelector& local,
                                                                     const TrafficSelector& remote) {
  const auto* sa = find<SaPayload>(inner, PayloadType::kSa);
  const auto* nonce = find<RawPayload>(inner, PayloadType::kNonce);
  const auto* ke = find<KePayload>(inner, PayloadType::kKe);
  auto chosen = choose(*sa, config_.esp_suites, 3);
  if (!chosen || chosen->second->spi.size() != 4) {
    send_response(gen, request, {notify_payload(notify::kNoProposalChosen)});
    return ChildAnswer{};
  }
  if (chosen->first.dh && (!ke || ke->group != chosen->first.dh)) {
    send_response(gen, request, {notify_payload(notify::kInvalidKePayload, group_bytes(chosen->first.dh))});
    return ChildAnswer{};
  }
  Bytes nr = random_bytes(kNonceLength), shared;
  std::optional<KeyExchange> dh;
  if (chosen->first.dh) {
    auto generated = KeyExchange::generate(static_cast<DhGroup>(chosen->first.dh));
    auto secret = generated ? generated->shared_secret(ke->data) : Result<Bytes>(generated.error());
    if (!secret) {
      send_response(gen, request, {notify_payload(notify::kInvalidSyntax)});
      return make_error(Errc::kCrypto, "IKE SA: CREATE_CHILD_SA: " + secret.message());
    }
    dh.emplace(std::move(*generated));
    shared = std::move(*secret);
  }
  uint32_t spi = random_esp_spi();
  auto keys = child_keys(gen, chosen->first, shared, nonce->data, nr, false);
  if (!keys) return fail(keys.message());
  std::vector<Payload> payloads = {
      {PayloadType::kSa, false, SaPayload{{to_proposal(chosen->first, chosen->second->number, 3, be32_bytes(spi))}}},
      {PayloadType::kNonce, false, RawPayload{nr}}};
  if (dh) payloads.push_back({PayloadType::kKe, false, KePayload{chosen->first.dh, dh->public_value()}});
  payloads.push_back({PayloadType::kTsi, false, TsPayload{{remote}}});
  payloads.push_back({PayloadType::kTsr, false, TsPayload{{local}}});
  send_response(gen, request, payloads);
  ChildSa child{chosen->first, spi, be32_value(chosen->second->spi), keys->first, keys->second, local, remote};
  return ChildAnswer{std::pair{std::move(child), std::move(nr)}};
}

// The initiator's half, from the responder's answer: the suite it chose from ours, its SPI and
// nonce, and the DH shared secret when the suite names a group; nullopt when it cannot be used.
std::optional<IkeSa::ChildAccepted> IkeSa::accepted_child(const Request& request, const std::vector<Payload>& inner) const {
  const auto* sa = find<SaPayload>(inner, PayloadType::kSa);
  const auto* nonce = find<RawPayload>(inner, PayloadType::kNonce);
  const auto* ke = find<KePayload>(inner, PayloadType::kKe);
  auto chosen = sa && sa->proposals.size() == 1 ? choose(*sa, config_.esp_suites, 3) : std::nullopt;
  if (!chosen || chosen->second->spi.size() != 4 || !nonce) return std::nullopt;
  ChildAccepted accepted{chosen->first, be32_value(chosen->second->spi), nonce->data, {}};
  if (accepted.suite.dh) {
    if (!request.dh || !ke || ke->group != accepted.suite.dh) return std::nullopt;
    auto secret = request.dh->shared_secret(ke->data);
    if (!secret) return std::nullopt;
    accepted.shared = std::move(*secret);
  }
  return accepted;
}

Result<void> IkeSa::respond_create_child(Generation& gen, const Message& request, const std::vector<Payload>& inner) {
  const auto* sa = find<SaPayload>(inner, PayloadType::kSa);
  const auto* nonce = find<RawPayload>(inner, PayloadType::kNonce);
  if (!sa || sa->proposals.empty() || !nonce || nonce->data.size() < 16 || nonce->data.size() > 256) {
    send_response(gen, request, {notify_payload(notify::kInvalidSyntax)});
    return make_error(Errc::kParse, "IKE SA: CREATE_CHILD_SA without SA or nonce");
  }
  if (sa->proposals.front().protocol == 1) return respond_ike_rekey(gen, request, inner);
  const NotifyPayload* rekey = find_notify(inner, notify::kRekeySa);
  if (!rekey) {
    // One CHILD_SA per IKE SA: a new one only when there is none (not even one on its way).
    if (!child_ && !collision_ && !outbound_waiting_) return respond_new_child(gen, request, inner);
    send_response(gen, request, {notify_payload(notify::kNoAdditionalSas)});
    return {};
  }
  // The peer names the SA by the SPI it receives on: our outbound SPI.
  uint32_t peer_old = be32_value(rekey->spi);
  const ChildSa* old = nullptr;
  bool already_rekeyed = false;
  if (child_ && child_->outbound_spi == peer_old) {
    old = &*child_;
  } else if (child_) {  // with no current CHILD_SA, an old one is not worth rekeying
    for (const ChildSa& c : replaced_)
      if (c.outbound_spi == peer_old) old = &c;
    already_rekeyed = old != nullptr;
  }
  if (!old) {
    send_response(gen, request, {notify_payload(notify::kChildSaNotFound, {}, 3, rekey->spi)});
    return {};
  }
  uint32_t old_inbound = old->inbound_spi;
  auto answered = answer_child(gen, request, inner, old->local_ts, old->remote_ts);
  if (!answered) return answered.error();
  if (!*answered) return {};  // refused, and told so
  auto [fresh, nr] = std::move(**answered);
  Bytes fresh_min = lower_nonce(nonce->data, nr);
  ++counters_.child_rekeys;
  rearm_child_rekey();

  auto rekeying = [&](const std::optional<Request>& r) {
    return r && r->task == Task::kRekeyChild && r->rekeyed_spi == old_inbound;
  };
  if (rekeying(gen_.pending) || (retiring_ && rekeying(retiring_->pending))) {
    // Our own rekey of the same SA is in flight: its response decides (finish_child_rekey).
    // The peer may win and send on its SA as soon as our answer lands: receive on it already.
    events_.push_back({ChildEventKind::kInboundUp, fresh});
    collision_ = PeerRekey{old_inbound, std::move(fresh), nonce->data, std::move(nr)};
    return {};
  }
  if (already_rekeyed && child_from_peer_) {
    // The peer rekeys again an SA it has rekeyed with us already: our answer never reached it
    // (it went down with a retired IKE SA). What that exchange made is unknown to the peer and
    // never carries its traffic: this one replaces it.
    ChildSa unknown = *child_;
    replaced_.push_back(unknown);
    queue(gen_, Task::kDeleteChild, unknown.inbound_spi);
    take_from_peer(std::move(fresh), std::move(fresh_min));
    return {};
  }
  if (already_rekeyed) {
    // Ours completed first; the lower nonce decides which of the two is redundant.
    if (lower_nonce(fresh_min, child_min_nonce_) == fresh_min) {
      replaced_.push_back(std::move(fresh));  // redundant, and the peer's to delete
    } else {
      ChildSa ours = *child_;
      replaced_.push_back(ours);
      queue(gen_, Task::kDeleteChild, ours.inbound_spi);
      take_from_peer(std::move(fresh), std::move(fresh_min));
    }
    return {};
  }
  replaced_.push_back(*child_);
  take_from_peer(std::move(fresh), std::move(fresh_min));
  return {};
}

// A CHILD_SA the peer made: in at once, out when the peer's Delete of the SA it replaces says
// the peer has our response (or a while after, RespondedRekeyMs).
void IkeSa::take_from_peer(ChildSa child, Bytes min_nonce) {
  events_.push_back({ChildEventKind::kInboundUp, child});
  outbound_waiting_ = child;
  outbound_waiting_since_ = now_ms_;
  child_ = std::move(child);
  child_min_nonce_ = std::move(min_nonce);
  child_from_peer_ = true;
}

// The peer's colliding rekey won: its SA, inbound since we answered it, goes outbound too.
void IkeSa::promote(PeerRekey theirs) {
  events_.push_back({ChildEventKind::kOutboundUp, theirs.child});
  child_min_nonce_ = lower_nonce(theirs.ni, theirs.nr);
  child_ = std::move(theirs.child);
  child_from_peer_ = true;
  outbound_waiting_.reset();
}

void IkeSa::rearm_child_rekey() {
  if (config_.child_rekey_ms) child_rekey_at_ = now_ms_ + jittered(config_.child_rekey_ms);
}

Result<void> IkeSa::finish_child_rekey(Generation& gen, const Request& request, const std::vector<Payload>& inner) {
  auto retry_later = [&] { child_rekey_at_ = now_ms_ + 1000 + random_u64() % 1000; };
  if (const auto* e = find_error(inner)) {
    if (collision_ && collision_->rekeyed_spi == request.rekeyed_spi) {
      // Ours failed, theirs stands: it is simply the rekey.
      PeerRekey theirs = std::move(*collision_);
      collision_.reset();
      if (child_) replaced_.push_back(*child_);
      promote(std::move(theirs));
    } else if (e->type != notify::kChildSaNotFound) {
      retry_later();
    }
    return {};
  }
  auto accepted = accepted_child(request, inner);
  if (!accepted) {
    retry_later();
    return make_error(Errc::kParse, "IKE SA: a CHILD_SA rekey response we cannot use");
  }
  if (!child_ || child_->inbound_spi != request.rekeyed_spi) {
    // The SA went away meanwhile (deleted by the peer): the new one is not wanted either.
    replaced_.push_back({accepted->suite, request.new_spi, accepted->peer_spi, {}, {}, {}, {}});
    queue(gen_, Task::kDeleteChild, request.new_spi);
    return {};
  }
  auto keys = child_keys(gen, accepted->suite, accepted->shared, request.nonce, accepted->nr, true);
  if (!keys) return fail(keys.message());
  ChildSa ours{accepted->suite, request.new_spi, accepted->peer_spi, keys->first, keys->second, child_->local_ts, child_->remote_ts};
  Bytes ours_min = lower_nonce(request.nonce, accepted->nr);
  ++counters_.child_rekeys;
  rearm_child_rekey();
  ChildSa old = *child_;
  replaced_.push_back(old);
  if (collision_ && collision_->rekeyed_spi == request.rekeyed_spi) {
    PeerRekey theirs = std::move(*collision_);
    collision_.reset();
    Bytes theirs_min = lower_nonce(theirs.ni, theirs.nr);
    if (lower_nonce(ours_min, theirs_min) == ours_min) {  // ours is redundant: ours to delete
      replaced_.push_back(ours);
      queue(gen_, Task::kDeleteChild, ours.inbound_spi);
      promote(std::move(theirs));
    } else {  // theirs is redundant (the peer deletes it); the old one is ours to delete
      replaced_.push_back(std::move(theirs.child));
      make_current(std::move(ours), std::move(ours_min));
      queue(gen_, Task::kDeleteChild, old.inbound_spi);
    }
    return {};
  }
  make_current(std::move(ours), std::move(ours_min));
  queue(gen_, Task::kDeleteChild, old.inbound_spi);
  return {};
}

Result<void> IkeSa::respond_ike_rekey(Generation& gen, const Message& request, const std::vector<Payload>& inner) {
  // One IKE rekey at a time: a colliding one (ours in flight, or the last one's Delete still to
  // come) is refused, and its sender tries again a little later (2.25).
  if (&gen != &gen_ || retiring_ || (gen_.pending && gen_.pending->task == Task::kRekeyIke)) {
    send_response(gen, request, {notify_payload(notify::kTemporaryFailure)});
    return {};
  }
  const auto* sa = find<SaPayload>(inner, PayloadType::kSa);
  const auto* nonce = find<RawPayload>(inner, PayloadType::kNonce);
  const auto* ke = find<KePayload>(inner, PayloadType::kKe);
  auto chosen = choose(*sa, config_.ike_suites, 1);
  if (!chosen || chosen->second->spi.size() != 8) {
    send_response(gen, request, {notify_payload(notify::kNoProposalChosen)});
    return {};
  }
  if (!ke || ke->group != chosen->first.dh) {
    send_response(gen, request, {notify_payload(notify::kInvalidKePayload, group_bytes(chosen->first.dh))});
    return {};
  }
  auto dh = KeyExchange::generate(static_cast<DhGroup>(chosen->first.dh));
  auto shared = dh ? dh->shared_secret(ke->data) : Result<Bytes>(dh.error());
  if (!shared) {
    send_response(gen, request, {notify_payload(notify::kInvalidSyntax)});
    return make_error(Errc::kCrypto, "IKE SA: IKE rekey: " + shared.message());
  }
  Bytes nr = random_bytes(kNonceLength);
  Generation next;
  next.spi_i = be64_value(chosen->second->spi);
  next.spi_r = random_u64();
  next.initiator = false;
  next.suite = chosen->first;
  auto keys = rekeyed_keys(gen_.suite, gen_.keys, next.suite, *shared, nonce->data, nr, next.spi_i, next.spi_r);
  if (!keys) return fail(keys.message());
  next.keys = std::move(*keys);
  send_response(gen_, request,
                {{PayloadType::kSa, false, SaPayload{{to_proposal(chosen->first, chosen->second->number, 1, be64_bytes(next.spi_r))}}},
                 {PayloadType::kNonce, false, RawPayload{nr}},
                 {PayloadType::kKe, false, KePayload{chosen->first.dh, dh->public_value()}}});
  next.queued = std::move(gen_.queued);
  retiring_ = std::move(gen_);
  retiring_->queued.clear();
  retiring_->retire_by = now_ms_ + kRetireMs;
  gen_ = std::move(next);
  ++counters_.ike_rekeys;
  if (config_.ike_rekey_ms) ike_rekey_at_ = now_ms_ + jittered(config_.ike_rekey_ms);
  return {};
}

Result<void> IkeSa::finish_ike_rekey(const Request& request, const std::vector<Payload>& inner) {
  if (find_error(inner)) {
    ike_rekey_at_ = now_ms_ + 1000 + random_u64() % 1000;
    return {};
  }
  const auto* sa = find<SaPayload>(inner, PayloadType::kSa);
  const auto* nonce = find<RawPayload>(inner, PayloadType::kNonce);
  const auto* ke = find<KePayload>(inner, PayloadType::kKe);
  auto chosen = sa && sa->proposals.size() == 1 ? choose(*sa, {gen_.suite}, 1) : std::nullopt;
  if (!chosen || chosen->second->spi.size() != 8 || !nonce || !ke || ke->group != chosen->first.dh) {
    ike_rekey_at_ = now_ms_ + 1000;
    return make_error(Errc::kParse, "IKE SA: an IKE rekey response we cannot use");
  }
  auto shared = request.dh->shared_secret(ke->data);
  if (!shared) return make_error(Errc::kCrypto, "IKE SA: IKE rekey: " + shared.message());
  Generation next;
  next.spi_i = request.new_ike_spi;
  next.spi_r = be64_value(chosen->second->spi);
  next.initiator = true;
  next.suite = chosen->first;
  auto keys = rekeyed_keys(gen_.suite, gen_.keys, next.suite, *shared, request.nonce, nonce->data, next.spi_i, next.spi_r);
  if (!keys) return fail(keys.message());
  next.keys = std::move(*keys);
  next.queued = std::move(gen_.queued);
  retiring_ = std::move(gen_);
  retiring_->queued.clear();
  retiring_->retire_by = now_ms_ + kRetireMs;
  gen_ = std::move(next);
  queue(*retiring_, Task::kDeleteIke);  // 2.18: the rekey's initiator deletes the old IKE SA
  ++counters_.ike_rekeys;
  if (config_.ike_rekey_ms) ike_rekey_at_ = now_ms_ + jittered(config_.ike_rekey_ms);
  return {};
}

}  // namespace rampart::ike
