#include "ike/ike_sa.hpp"

#include <algorithm>

#include "ike/exchange_support.hpp"
#include "ike/sk_crypto.hpp"

namespace rampart::ike {

namespace {

SkSuite sk_suite(const Suite& s) { return {s.encryption, s.key_bits, s.integrity}; }

uint64_t read_be64(ByteView b, size_t at) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = v << 8 | static_cast<uint8_t>(b[at + i]);
  return v;
}

// A responder's rekeyed CHILD_SA goes outbound when the old one's Delete comes, or after this
// (past the initiator's first retransmissions of a lost exchange).
constexpr uint64_t kRespondedRekeyMs = 3000;

}  // namespace


IkeSa::IkeSa(PeerConfig config, Path path, bool initiator) : config_(std::move(config)), path_(std::move(path)) {
  gen_.initiator = initiator;
}
IkeSa IkeSa::initiator(PeerConfig config, Path path) { return IkeSa(std::move(config), std::move(path), true); }
IkeSa IkeSa::responder(PeerConfig config, Path path) { return IkeSa(std::move(config), std::move(path), false); }

Error IkeSa::fail(const std::string& why) {
  state_ = IkeState::kFailed;
  failure_ = why;
  gen_.pending.reset();
  gen_.queued.clear();
  children_down();
  return make_error(Errc::kCrypto, "IKE SA: " + why);
}

void IkeSa::children_down() {
  if (child_) events_.push_back({ChildEventKind::kDown, *child_});
  child_.reset();
  replaced_.clear();
  outbound_waiting_.reset();
  collision_.reset();
}

void IkeSa::established(uint64_t now_ms) {
  state_ = IkeState::kEstablished;
  last_heard_ms_ = now_ms;
  child_rekey_at_ = config_.child_rekey_ms ? now_ms + jittered(config_.child_rekey_ms) : 0;
  ike_rekey_at_ = config_.ike_rekey_ms ? now_ms + jittered(config_.ike_rekey_ms) : 0;
}

bool IkeSa::owns(ByteView datagram) const {
  if (datagram.size() < kHeaderLength) return false;
  uint64_t spi_i = read_be64(datagram, 0), spi_r = read_be64(datagram, 8);
  if (spi_i == gen_.spi_i && (spi_r == gen_.spi_r || gen_.spi_r == 0 || spi_r == 0)) return true;
  return retiring_ && spi_i == retiring_->spi_i && spi_r == retiring_->spi_r;
}

Result<Bytes> IkeSa::seal(const Generation& gen, ExchangeType exchange, uint32_t message_id, bool response,
                          const std::vector<Payload>& inner) {
  Header h{gen.spi_i, gen.spi_r, PayloadType::kNone, 0x20, exchange,
           static_cast<uint8_t>((gen.initiator ? kFlagInitiator : 0) | (response ? kFlagResponse : 0)), message_id, 0};
  return seal_message(sk_suite(gen.suite), gen.initiator ? gen.keys.sk_ei : gen.keys.sk_er,
                      gen.initiator ? gen.keys.sk_ai : gen.keys.sk_ar, h, inner, random_iv_source());
}

std::variant<std::vector<Payload>, SkFailure> IkeSa::open(const Generation& gen, ByteView datagram, bool from_initiator) {
  return open_message(sk_suite(gen.suite), from_initiator ? gen.keys.sk_ei : gen.keys.sk_er,
                      from_initiator ? gen.keys.sk_ai : gen.keys.sk_ar, datagram);
}

// 2.1: a request is sent again, unchanged, after 0.5, 1, 2, 4... s until the response comes or
// the tries run out; the ID is the next of ours (2.2).
void IkeSa::send_request(Generation& gen, Task task, Request request, ExchangeType exchange,
                         const std::vector<Payload>& inner) {
  request.task = task;
  request.id = gen.next_id;
  auto sealed = seal(gen, exchange, request.id, false, inner);
  if (!sealed) {
    fail(sealed.message());
    return;
  }
  ++gen.next_id;
  request.datagram = std::move(*sealed);
  request.sent = 1;
  request.resend_at = now_ms_ + config_.retransmit_timeout_ms;
  outbox_.push_back(request.datagram);
  ++counters_.requests_sent;
  gen.pending = std::move(request);
}

// The response is kept: a retransmitted request gets it again, never a second answer (2.1).
void IkeSa::send_response(Generation& gen, const Message& request, const std::vector<Payload>& inner) {
  auto sealed = seal(gen, request.header.exchange, request.header.message_id, true, inner);
  if (!sealed) {
    fail(sealed.message());
    return;
  }
  gen.last_response = std::move(*sealed);
  gen.last_response_id = request.header.message_id;
  gen.last_request.assign(current_datagram_.begin(), current_datagram_.end());
  gen.peer_next_id = request.header.message_id + 1;
  outbox_.push_back(gen.last_response);
}

void IkeSa::queue(Generation& gen, Task task, uint32_t spi) {
  for (const Request& r : gen.queued)
    if (r.task == task && r.rekeyed_spi == spi) return;
  if (gen.pending && gen.pending->task == task && gen.pending->rekeyed_spi == spi) return;
  Request r;
  r.task = task;
  r.rekeyed_spi = spi;
  gen.queued.push_back(std::move(r));
}

// The rekeyed IKE SA ends. A CHILD_SA rekey or Delete of ours still in flight on it may or may
// not have reached the peer, whose answer can no longer come: it is asked again over the current
// IKE SA (a peer that answered the first is told by the second that it went unheard).
void IkeSa::end_retiring() {
  const std::optional<Request>& lost = retiring_->pending;
  if (lost && (lost->task == Task::kRekeyChild || lost->task == Task::kDeleteChild)) queue(gen_, lost->task, lost->rekeyed_spi);
  retiring_.reset();
}

void IkeSa::rekey_child() {
  if (child_) queue(gen_, Task::kRekeyChild, child_->inbound_spi);
  start_next(gen_, now_ms_);
}
void IkeSa::rekey_ike() {
  queue(gen_, Task::kRekeyIke);
  start_next(gen_, now_ms_);
}
void IkeSa::delete_child() {
  if (!child_ || state_ != IkeState::kEstablished) return;
  events_.push_back({ChildEventKind::kDown, *child_});
  replaced_.push_back(*child_);  // until the peer answers the Delete
  queue(gen_, Task::kDeleteChild, child_->inbound_spi);
  child_.reset();
  outbound_waiting_.reset();
  start_next(gen_, now_ms_);
}

void IkeSa::close() {
  queue(gen_, Task::kDeleteIke);
  start_next(gen_, now_ms_);
}

// Our window holds one request (no SET_WINDOW_SIZE is sent, 2.3): the next waits for the response.
void IkeSa::start_next(Generation& gen, uint64_t now_ms) {
  now_ms_ = std::max(now_ms_, now_ms);
  bool retiring = &gen != &gen_;
  while (!gen.pending && !gen.queued.empty() && (state_ == IkeState::kEstablished || retiring)) {
    Request next = std::move(gen.queued.front());
    gen.queued.pop_front();
    std::vector<Payload> inner;
    switch (next.task) {
      case Task::kRekeyChild: {
        if (!child_ || child_->inbound_spi != next.rekeyed_spi) break;  // gone or rekeyed meanwhile
        auto r = child_rekey_request(inner);
        if (r) send_request(gen, Task::kRekeyChild, std::move(*r), ExchangeType::kCreateChildSa, inner);
        break;
      }
      case Task::kCreateChild: {
        if (child_) break;  // the peer made one meanwhile
        auto r = child_request(inner, config_.local_ts, config_.remote_ts);
        if (r) send_request(gen, Task::kCreateChild, std::move(*r), ExchangeType::kCreateChildSa, inner);
        break;
      }
      case Task::kRekeyIke: {
        if (retiring_) {  // the last rekey's Delete is still under way: later
          ike_rekey_at_ = now_ms_ + 1000;
          break;
        }
        auto r = ike_rekey_request(inner);
        if (r) send_request(gen, Task::kRekeyIke, std::move(*r), ExchangeType::kCreateChildSa, inner);
        break;
      }
      case Task::kDeleteChild: {
        DeletePayload d{3, 4, {be32_bytes(next.rekeyed_spi)}};
        inner.push_back({PayloadType::kDelete, false, d});
        send_request(gen, Task::kDeleteChild, std::move(next), ExchangeType::kInformational, inner);
        break;
      }
      case Task::kDeleteIke:
        inner.push_back({PayloadType::kDelete, false, DeletePayload{1, 0, {}}});
        send_request(gen, Task::kDeleteIke, std::move(next), ExchangeType::kInformational, inner);
        break;
      case Task::kDpd:
        ++counters_.dpd_checks;
        send_request(gen, Task::kDpd, std::move(next), ExchangeType::kInformational, inner);
        break;
      case Task::kInit:
      case Task::kAuth:
        break;
    }
  }
}

void IkeSa::tick(uint64_t now_ms) {
  now_ms_ = std::max(now_ms_, now_ms);
  auto retransmit = [&](Generation& gen) {
    if (!gen.pending || now_ms_ < gen.pending->resend_at) return true;
    Request& r = *gen.pending;
    if (r.sent >= config_.retransmit_tries) return false;
    outbox_.push_back(r.datagram);
    ++counters_.retransmits;
    r.resend_at = now_ms_ + (config_.retransmit_timeout_ms << std::min(r.sent, 16u));
    ++r.sent;
    return true;
  };
  if (retiring_ && (!retransmit(*retiring_) || now_ms_ >= retiring_->retire_by)) end_retiring();
  if (state_ != IkeState::kInitSent && state_ != IkeState::kAuthSent && state_ != IkeState::kEstablished) return;
  if (!retransmit(gen_)) {
    fail(state_ == IkeState::kEstablished ? "the peer stopped answering (dead peer)" : "the peer did not answer");
    return;
  }
  if (state_ != IkeState::kEstablished) return;
  if (outbound_waiting_ && now_ms_ >= outbound_waiting_since_ + kRespondedRekeyMs) {
    events_.push_back({ChildEventKind::kOutboundUp, *outbound_waiting_});
    outbound_waiting_.reset();
  }
  if (child_rekey_at_ && now_ms_ >= child_rekey_at_) {
    child_rekey_at_ = 0;
    if (child_) queue(gen_, Task::kRekeyChild, child_->inbound_spi);
  }
  // A rekey that was lost (its IKE SA retired, or refused) must not end rekeying: try again.
  auto rekeying = [](const Generation& g) {
    return (g.pending && g.pending->task == Task::kRekeyChild) ||
           std::any_of(g.queued.begin(), g.queued.end(), [](const Request& r) { return r.task == Task::kRekeyChild; });
  };
  if (config_.child_rekey_ms && child_ && child_rekey_at_ == 0 && !rekeying(gen_) && !(retiring_ && rekeying(*retiring_)))
    child_rekey_at_ = now_ms_ + 1000;
  if (ike_rekey_at_ && now_ms_ >= ike_rekey_at_) {
    ike_rekey_at_ = 0;
    queue(gen_, Task::kRekeyIke);
  }
  watch_childless();
  if (state_ != IkeState::kEstablished) return;
  if (config_.dpd_ms && !gen_.pending && gen_.queued.empty() && now_ms_ >= last_heard_ms_ + config_.dpd_ms)
    queue(gen_, Task::kDpd);
  start_next(gen_, now_ms_);
  if (nat_local_ && config_.keepalive_ms && outbox_.empty() && now_ms_ >= last_sent_ms_ + config_.keepalive_ms)
    outbox_.push_back(Bytes{std::byte{0xff}});
}

Result<void> IkeSa::receive(ByteView datagram, const Path& from, uint64_t now_ms) {
  now_ms_ = std::max(now_ms_, now_ms);
  auto parsed = parse_message(datagram);
  if (auto* e = std::get_if<ParseError>(&parsed)) {
    ++counters_.dropped;
    // A malformed IKE_SA_INIT request to an idle responder is answered in the clear with what was
    // wrong (RFC 7296 2.21.1: INVALID_SYNTAX, UNSUPPORTED_CRITICAL_PAYLOAD, INVALID_MAJOR_VERSION);
    // anything else malformed outside an SA's keys is dropped.
    if (e->notify != Notify::kNone && !gen_.initiator && state_ == IkeState::kIdle && datagram.size() >= kHeaderLength &&
        datagram[18] == std::byte{34} && (static_cast<uint8_t>(datagram[19]) & kFlagResponse) == 0) {
      Message m;
      m.header = {read_be64(datagram, 0), 0, PayloadType::kNone, 0x20, ExchangeType::kIkeSaInit, kFlagResponse, 0, 0};
      Bytes data;
      if (e->notify == Notify::kUnsupportedCriticalPayload) data.push_back(std::byte{e->payload});
      m.payloads = {notify_payload(static_cast<uint16_t>(e->notify), std::move(data))};
      send_plain(serialize_message(m));
    }
    return make_error(Errc::kParse, "IKE SA: dropped: " + e->what);
  }
  const Message& m = std::get<Message>(parsed);
  Generation* gen = nullptr;
  if (retiring_ && m.header.initiator_spi == retiring_->spi_i && m.header.responder_spi == retiring_->spi_r)
    gen = &*retiring_;
  else if (m.header.exchange == ExchangeType::kIkeSaInit ? (m.header.initiator_spi == gen_.spi_i || state_ == IkeState::kIdle)
                                                         : (m.header.initiator_spi == gen_.spi_i && m.header.responder_spi == gen_.spi_r))
    gen = &gen_;
  if (gen == nullptr) {
    ++counters_.dropped;
    return make_error(Errc::kNotFound, "IKE SA: dropped: not this IKE SA's SPIs");
  }
  Path before = path_;
  // NAT detection hashes what the packet came from, so the path is the datagram's while it is
  // handled; it stays only when the message proved authentic (2.23: a NAT may move the peer),
  // and only then does the peer count as heard from.
  path_ = from;
  authentic_ = false;
  auto r = dispatch(*gen, m, datagram);
  if (!r) ++counters_.dropped;
  if (!r || !authentic_) {
    path_ = before;
  } else {
    last_heard_ms_ = now_ms_;
  }
  return r;
}

Result<void> IkeSa::dispatch(Generation& gen, const Message& m, ByteView datagram) {
  current_datagram_ = datagram;
  bool response = (m.header.flags & kFlagResponse) != 0;
  bool retiring = &gen != &gen_;
  if (auto wrong = check_payloads(m.header.exchange, m.payloads))
    return make_error(Errc::kParse, "IKE SA: dropped: " + *wrong);
  if (response) {
    if (!gen.pending || m.header.message_id != gen.pending->id)
      return make_error(Errc::kInvalidArgument, "IKE SA: dropped: a response to no request of ours");
    if (gen.pending->task == Task::kInit) {
      if (m.header.exchange != ExchangeType::kIkeSaInit)
        return make_error(Errc::kInvalidArgument, "IKE SA: dropped: not an IKE_SA_INIT response");
      gen.pending.reset();
      authentic_ = true;  // as far as IKE_SA_INIT can be
      return finish_init(m, datagram);
    }
    auto opened = open(gen, datagram, !gen.initiator);
    if (auto* f = std::get_if<SkFailure>(&opened)) return make_error(Errc::kCrypto, "IKE SA: dropped: " + f->what);
    authentic_ = true;
    const auto& inner = std::get<std::vector<Payload>>(opened);
    if (auto wrong = check_inner_payloads(m.header.exchange, inner))
      return make_error(Errc::kParse, "IKE SA: dropped: " + *wrong);  // the request stays in flight
    Request request = std::move(*gen.pending);
    gen.pending.reset();
    // In any answer (IKE_AUTH's own refusal is finish_auth's to tell): the IKE SA cannot go on.
    if (const char* fatal = request.task == Task::kAuth ? nullptr : fatal_notify(inner)) {
      if (retiring) {
        end_retiring();
        return {};
      }
      return fail(std::string("the peer answered with ") + fatal);
    }
    Result<void> r;
    switch (request.task) {
      case Task::kAuth: r = finish_auth(inner); break;
      case Task::kRekeyChild: r = finish_child_rekey(gen, request, inner); break;
      case Task::kCreateChild: r = finish_child_create(gen, request, inner); break;
      case Task::kRekeyIke: r = finish_ike_rekey(request, inner); break;
      default: finish_informational(gen, request, inner); break;  // may end `gen` (a retiring one)
    }
    start_next(gen_, now_ms_);
    if (retiring_ && !retiring) start_next(*retiring_, now_ms_);
    return r;
  }

  // A request. The one we answered last, again: the same answer (2.1). But only to the request
  // itself, byte for byte, or to one whose integrity checks out: anyone can forge the SPIs and
  // message ID, and answering each copy would make us a reflector.
  if (gen.last_response_id && m.header.message_id == *gen.last_response_id) {
    bool same = std::equal(datagram.begin(), datagram.end(), gen.last_request.begin(), gen.last_request.end());
    if (!same && m.header.exchange != ExchangeType::kIkeSaInit)
      same = std::holds_alternative<std::vector<Payload>>(open(gen, datagram, !gen.initiator));
    if (!same) {
      ++counters_.resends_refused;
      return make_error(Errc::kCrypto, "IKE SA: dropped: a copy of the last request that is not it");
    }
    outbox_.push_back(gen.last_response);
    ++counters_.responses_resent;
    return {};
  }
  if (m.header.exchange == ExchangeType::kIkeSaInit) {
    if (gen.initiator || state_ != IkeState::kIdle || m.header.message_id != 0)
      return make_error(Errc::kInvalidArgument, "IKE SA: dropped: an IKE_SA_INIT request this side cannot take");
    authentic_ = true;  // as far as IKE_SA_INIT can be
    return respond_init(m, datagram);
  }
  if (m.header.message_id != gen.peer_next_id)
    return make_error(Errc::kInvalidArgument, "IKE SA: dropped: message ID " + std::to_string(m.header.message_id) +
                                                  " outside the window (expected " + std::to_string(gen.peer_next_id) + ")");
  auto opened = open(gen, datagram, !gen.initiator);
  if (auto* f = std::get_if<SkFailure>(&opened)) {
    // Authentic but malformed inside: INVALID_SYNTAX (2.21.2). A bad ICV is dropped silently.
    if (!f->integrity) send_response(gen, m, {notify_payload(notify::kInvalidSyntax)});
    return make_error(Errc::kCrypto, "IKE SA: dropped: " + f->what);
  }
  authentic_ = true;
  const auto& inner = std::get<std::vector<Payload>>(opened);
  if (auto wrong = check_inner_payloads(m.header.exchange, inner)) {
    send_response(gen, m, {notify_payload(notify::kInvalidSyntax)});
    return make_error(Errc::kParse, "IKE SA: " + *wrong);
  }
  Result<void> r;
  switch (m.header.exchange) {
    case ExchangeType::kIkeAuth:
      if (gen.initiator || state_ != IkeState::kInitSent || retiring)
        return make_error(Errc::kInvalidArgument, "IKE SA: dropped: IKE_AUTH out of turn");
      r = respond_auth(m, inner);
      break;
    case ExchangeType::kCreateChildSa:
      if (state_ != IkeState::kEstablished) return make_error(Errc::kInvalidArgument, "IKE SA: dropped: not established");
      r = respond_create_child(gen, m, inner);
      break;
    case ExchangeType::kInformational:
      r = respond_informational(gen, m, inner);  // may end `gen` (a retiring one)
      break;
    default:
      return make_error(Errc::kInvalidArgument, "IKE SA: dropped: unknown exchange type");
  }
  start_next(gen_, now_ms_);
  return r;
}

}  // namespace rampart::ike
