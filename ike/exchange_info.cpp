// INFORMATIONAL (RFC 7296 1.4): Delete of CHILD_SAs (answered with the Deletes of their other
// halves, 1.4.1) and of the IKE SA; the empty request that checks the peer is alive (2.4, DPD).
#include <algorithm>

#include "ike/exchange_support.hpp"
#include "ike/ike_sa.hpp"

namespace rampart::ike {

Result<void> IkeSa::respond_informational(Generation& gen, const Message& request, const std::vector<Payload>& inner) {
  bool retiring = &gen != &gen_;
  bool delete_ike = false;
  const char* fatal = fatal_notify(inner);
  std::vector<Payload> answer;
  for (const Payload& p : inner) {
    const auto* d = std::get_if<DeletePayload>(&p.body);
    if (d == nullptr) continue;
    if (d->protocol == 1) {
      delete_ike = true;
      continue;
    }
    if (d->protocol != 3) continue;
    DeletePayload ours{3, 4, {}};
    for (const Bytes& spi : d->spis) {
      uint32_t outbound = be32_value(spi);  // the peer names what it receives on
      if (child_ && child_->outbound_spi == outbound) {
        ours.spis.push_back(be32_bytes(child_->inbound_spi));
        if (collision_ && collision_->rekeyed_spi == child_->inbound_spi) {
          // The peer deletes the SA both of us rekeyed: its rekey won (2.8.1); ours, in flight,
          // will find the old SA gone and delete what it made.
          PeerRekey theirs = std::move(*collision_);
          collision_.reset();
          replaced_.push_back(*child_);
          promote(std::move(theirs));
          continue;
        }
        events_.push_back({ChildEventKind::kDown, *child_});
        child_.reset();
        outbound_waiting_.reset();
        continue;
      }
      auto old = std::find_if(replaced_.begin(), replaced_.end(), [&](const ChildSa& c) { return c.outbound_spi == outbound; });
      if (old == replaced_.end()) continue;  // gone already
      ours.spis.push_back(be32_bytes(old->inbound_spi));
      replaced_.erase(old);
      // The rekey's initiator has moved over: so may this side's outbound traffic.
      if (outbound_waiting_) {
        events_.push_back({ChildEventKind::kOutboundUp, *outbound_waiting_});
        outbound_waiting_.reset();
      }
    }
    if (!ours.spis.empty()) answer.push_back({PayloadType::kDelete, false, std::move(ours)});
  }
  send_response(gen, request, answer);
  if (fatal != nullptr && !retiring) {
    (void)fail(std::string("the peer sent ") + fatal);  // its CHILD_SA goes too
    return {};
  }
  if (delete_ike) {
    if (retiring) {
      end_retiring();  // `gen` is gone
    } else {
      state_ = IkeState::kClosed;
      failure_ = "deleted by the peer";
      gen_.pending.reset();
      gen_.queued.clear();
      children_down();
    }
  }
  return {};
}

void IkeSa::finish_informational(Generation& gen, const Request& request, const std::vector<Payload>&) {
  switch (request.task) {
    case Task::kDeleteIke:
      if (&gen != &gen_) {
        retiring_.reset();
      } else {
        state_ = IkeState::kClosed;
        failure_ = "closed";
        children_down();
      }
      break;
    case Task::kDeleteChild:
      std::erase_if(replaced_, [&](const ChildSa& c) { return c.inbound_spi == request.rekeyed_spi; });
      break;
    default:  // a liveness check: the answer is all it wanted
      break;
  }
}

}  // namespace rampart::ike
