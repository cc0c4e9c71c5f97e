// CREATE_CHILD_SA without REKEY_SA (RFC 7296 1.3.1): a CHILD_SA made anew on an established IKE
// SA. Until an IKE SA holds several (the remote-access issue), only when it holds none: after the
// peer deleted its CHILD_SA, after a rekey race left none, or when IKE_AUTH made none. The side
// whose connection keeps its tunnel up (start or trap) makes it again; an IKE SA that stays
// without one for PeerConfig::childless_ms is deleted rather than kept as a husk.
#include <algorithm>

#include "ike/exchange_support.hpp"
#include "ike/ike_sa.hpp"

namespace rampart::ike {

namespace {

constexpr size_t kNonceLength = 32;

}  // namespace

// CREATE_CHILD_SA's request for a CHILD_SA between local and remote, new or a rekey (whose
// REKEY_SA notify the caller puts first): our proposals with our new SPI, Ni, KE with PFS.
Result<IkeSa::Request> IkeSa::child_request(std::vector<Payload>& inner, const TrafficSelector& local,
                                            const TrafficSelector& remote) {
  Request r;
  r.new_spi = random_esp_spi();
  r.nonce = random_bytes(kNonceLength);
  r.esp = config_.esp_suites.front();
  SaPayload sa;
  for (size_t i = 0; i < config_.esp_suites.size(); ++i)
    sa.proposals.push_back(to_proposal(config_.esp_suites[i], static_cast<uint8_t>(i + 1), 3, be32_bytes(r.new_spi)));
  inner.push_back({PayloadType::kSa, false, sa});
  inner.push_back({PayloadType::kNonce, false, RawPayload{r.nonce}});
  if (r.esp.dh) {
    auto dh = KeyExchange::generate(static_cast<DhGroup>(r.esp.dh));
    if (!dh) return dh.error();
    r.dh.emplace(std::move(*dh));
    inner.push_back({PayloadType::kKe, false, KePayload{r.esp.dh, r.dh->public_value()}});
  }
  inner.push_back({PayloadType::kTsi, false, TsPayload{{local}}});
  inner.push_back({PayloadType::kTsr, false, TsPayload{{remote}}});
  return r;
}

// The responder's side: the suite and selectors as IKE_AUTH would agree them, keys from this
// exchange's nonces (and DH, if the suite names a group).
Result<void> IkeSa::respond_new_child(Generation& gen, const Message& request, const std::vector<Payload>& inner) {
  auto local = narrow_first(find<TsPayload>(inner, PayloadType::kTsr), config_.local_ts);
  auto remote = narrow_first(find<TsPayload>(inner, PayloadType::kTsi), config_.remote_ts);
  if (!local || !remote) {
    send_response(gen, request, {notify_payload(notify::kTsUnacceptable)});
    return {};
  }
  auto answered = answer_child(gen, request, inner, *local, *remote);
  if (!answered) return answered.error();
  if (!*answered) return {};  // refused, and told so
  // Nothing to replace: the peer sends on it as soon as it has our answer, which the caller
  // sends only once the inbound half is in the data plane.
  const auto* nonce = find<RawPayload>(inner, PayloadType::kNonce);
  make_current(std::move((*answered)->first), lower_nonce(nonce->data, (*answered)->second));
  child_from_peer_ = true;
  rearm_child_rekey();
  return {};
}

Result<void> IkeSa::finish_child_create(Generation& gen, const Request& request, const std::vector<Payload>& inner) {
  auto retry_later = [&] { child_create_at_ = now_ms_ + 5000 + random_u64() % 1000; };
  if (find_error(inner) != nullptr) {
    retry_later();
    return {};
  }
  const auto* tsi = find<TsPayload>(inner, PayloadType::kTsi);
  const auto* tsr = find<TsPayload>(inner, PayloadType::kTsr);
  auto accepted = accepted_child(request, inner);
  if (!accepted || !tsi || !tsr || tsi->selectors.empty() || tsr->selectors.empty()) {
    retry_later();
    return make_error(Errc::kParse, "IKE SA: a CREATE_CHILD_SA response we cannot use");
  }
  // 2.9: the responder may only narrow what we offered.
  auto local = narrow(tsi->selectors[0], config_.local_ts), remote = narrow(tsr->selectors[0], config_.remote_ts);
  if (!local || *local != tsi->selectors[0] || !remote || *remote != tsr->selectors[0])
    return fail("the responder's traffic selectors are wider than what we offered");
  if (child_) {  // the peer made one meanwhile: this one is not wanted
    replaced_.push_back({accepted->suite, request.new_spi, accepted->peer_spi, {}, {}, {}, {}});
    queue(gen_, Task::kDeleteChild, request.new_spi);
    return {};
  }
  auto keys = child_keys(gen, accepted->suite, accepted->shared, request.nonce, accepted->nr, true);
  if (!keys) return fail(keys.message());
  make_current({accepted->suite, request.new_spi, accepted->peer_spi, keys->first, keys->second, tsi->selectors[0],
                tsr->selectors[0]},
               lower_nonce(request.nonce, accepted->nr));
  rearm_child_rekey();
  return {};
}

// On each tick of an established IKE SA: without a CHILD_SA, make one again if this side keeps
// its tunnel up, and give the IKE SA up after childless_ms.
void IkeSa::watch_childless() {
  if (child_ || collision_ || outbound_waiting_) {
    childless_since_ = 0;
    return;
  }
  if (childless_since_ == 0) {
    childless_since_ = now_ms_;
    // A second's grace (and some jitter), so that a rekey race settling does not meet a new SA.
    child_create_at_ = config_.keep_child ? now_ms_ + 1000 + random_u64() % 500 : 0;
  }
  if (config_.childless_ms && now_ms_ >= childless_since_ + config_.childless_ms) {
    failure_ = "no CHILD_SA for " + std::to_string(config_.childless_ms / 1000) + " s";
    childless_since_ = now_ms_;  // once
    close();
    return;
  }
  auto creating = [](const Generation& g) {
    return (g.pending && g.pending->task == Task::kCreateChild) ||
           std::any_of(g.queued.begin(), g.queued.end(), [](const Request& r) { return r.task == Task::kCreateChild; });
  };
  if (child_create_at_ && now_ms_ >= child_create_at_ && !creating(gen_)) {
    child_create_at_ = 0;
    queue(gen_, Task::kCreateChild);
  }
}

}  // namespace rampart::ike
