// Two IKE SAs joined by a fake link with a clock: datagrams take a step to cross, and the link can
// lose, duplicate and reorder them (seeded, so a failure repeats). Each side's CHILD_SA events
// drive a model of its data plane: the SPI it receives on, the ones still lingering after a
// rekey (2 s, as dp::Gateway keeps them), and the SPI it sends with; `deliverable` checks, at any
// moment, that whatever each side sends the other can receive.
#pragma once

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "ike/ike_sa.hpp"

namespace rampart::test {

struct PlaneModel {
  uint32_t inbound = 0, outbound = 0;
  std::map<uint32_t, uint64_t> lingering;  // SPI -> until (ms)
  int ups = 0, downs = 0;

  void apply(const ike::ChildEvent& e, uint64_t now) {
    switch (e.kind) {
      case ike::ChildEventKind::kInboundUp:
        if (inbound) lingering[inbound] = now + 2000;
        inbound = e.child.inbound_spi;
        ++ups;
        break;
      case ike::ChildEventKind::kOutboundUp:
        outbound = e.child.outbound_spi;
        break;
      case ike::ChildEventKind::kDown:
        if (e.child.inbound_spi == inbound) {
          inbound = outbound = 0;
          ++downs;
        }
        break;
    }
  }
  bool accepts(uint32_t spi, uint64_t now) const {
    if (spi == inbound) return true;
    auto it = lingering.find(spi);
    return it != lingering.end() && it->second > now;
  }
};

struct LinkFaults {
  double loss = 0, duplicate = 0, reorder = 0;
};

class IkeLink {
 public:
  IkeLink(ike::IkeSa a, ike::IkeSa b, LinkFaults faults = {}, unsigned seed = 1)
      : a_(std::move(a)), b_(std::move(b)), faults_(faults), random_(seed) {}

  ike::IkeSa& a() { return a_; }
  ike::IkeSa& b() { return b_; }
  PlaneModel& plane_a() { return plane_a_; }
  PlaneModel& plane_b() { return plane_b_; }
  uint64_t now() const { return now_; }
  size_t datagrams() const { return moved_; }
  void set_faults(LinkFaults f) { faults_ = f; }
  void cut(bool cut) { cut_ = cut; }  // nothing crosses while cut
  // The next datagram to `a` that `matches` is lost.
  void lose_next_to_a(std::function<bool(const ike::Bytes&)> matches) { lose_to_a_ = std::move(matches); }

  // Collects what both sides want to send and what happened to their CHILD_SAs.
  void collect() {
    for (auto& d : a_.take_outbox()) send(to_b_, std::move(d));
    for (auto& d : b_.take_outbox()) {
      if (lose_to_a_ && lose_to_a_(d)) {
        lose_to_a_ = nullptr;
        continue;
      }
      send(to_a_, std::move(d));
    }
    for (auto& e : a_.take_events()) plane_a_.apply(e, now_);
    for (auto& e : b_.take_events()) plane_b_.apply(e, now_);
  }

  // One step of `step_ms`: everything in flight arrives, then both sides' timers run.
  void step(uint64_t step_ms = 50) {
    collect();
    now_ += step_ms;
    auto deliver = [&](std::deque<ike::Bytes>& queue, ike::IkeSa& to, const ike::Path& from) {
      std::deque<ike::Bytes> now_arriving = std::exchange(queue, {});
      for (auto& d : now_arriving) {
        ++moved_;
        (void)to.receive(d, from, now_);
      }
    };
    deliver(to_b_, b_, flip(a_.path()));
    deliver(to_a_, a_, flip(b_.path()));
    collect();
    a_.tick(now_);
    b_.tick(now_);
    collect();
  }

  // Steps until `done` holds or `limit_ms` passes; checks `deliverable` at each step when asked.
  template <typename Done>
  bool run_until(Done done, uint64_t limit_ms, bool check_delivery = false) {
    uint64_t end = now_ + limit_ms;
    while (now_ < end) {
      step();
      if (check_delivery && !deliverable()) return false;
      if (done()) return true;
    }
    return done();
  }
  bool run_for(uint64_t ms, bool check_delivery = false) {
    return run_until([] { return false; }, ms, check_delivery) || !check_delivery || deliverable();
  }

  bool deliverable() const {
    return (plane_a_.outbound == 0 || plane_b_.accepts(plane_a_.outbound, now_)) &&
           (plane_b_.outbound == 0 || plane_a_.accepts(plane_b_.outbound, now_));
  }
  bool mirrored() const {
    return plane_a_.outbound != 0 && plane_a_.outbound == plane_b_.inbound && plane_b_.outbound == plane_a_.inbound;
  }

 private:
  static ike::Path flip(const ike::Path& p) { return {p.remote, p.local, p.remote_port, p.local_port}; }
  void send(std::deque<ike::Bytes>& queue, ike::Bytes d) {
    if (cut_) return;
    std::uniform_real_distribution<double> u(0, 1);
    if (u(random_) < faults_.loss) return;
    if (u(random_) < faults_.duplicate) queue.push_back(d);
    if (!queue.empty() && u(random_) < faults_.reorder)
      queue.push_front(std::move(d));
    else
      queue.push_back(std::move(d));
  }

  ike::IkeSa a_, b_;
  LinkFaults faults_;
  std::mt19937 random_;
  std::deque<ike::Bytes> to_a_, to_b_;
  PlaneModel plane_a_, plane_b_;
  uint64_t now_ = 1000;
  size_t moved_ = 0;
  bool cut_ = false;
  std::function<bool(const ike::Bytes&)> lose_to_a_;
};

}  // namespace rampart::test
