#include "dataplane/update_channel.hpp"

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <atomic>
#include <string>

#include "common/log.hpp"
#include "dataplane/tsan.hpp"

namespace rampart::dp {

namespace {
constexpr unsigned kUpdateRingSize = 4096;
std::atomic<unsigned> channel_count{0};  // ring names must be unique in the process
}  // namespace

Result<std::unique_ptr<UpdateChannel>> UpdateChannel::create(unsigned workers) {
  std::unique_ptr<UpdateChannel> channel(new UpdateChannel);
  size_t size = rte_rcu_qsbr_get_memsize(workers);
  channel->qsbr_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc("rampart_qsbr", size, RTE_CACHE_LINE_SIZE));
  if (channel->qsbr_ == nullptr || rte_rcu_qsbr_init(channel->qsbr_, workers) != 0)
    return make_error(Errc::kNoMemory, "cannot create the QSBR variable");
  unsigned id = channel_count.fetch_add(1);
  for (unsigned w = 0; w < workers; ++w) {
    std::string name = "rampart_upd_" + std::to_string(id) + "_" + std::to_string(w);
    rte_ring* ring = rte_ring_create_elem(name.c_str(), sizeof(Update), kUpdateRingSize, SOCKET_ID_ANY,
                                          RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (ring == nullptr) return make_error(Errc::kNoMemory, "cannot create update ring " + name + ": " + rte_strerror(rte_errno));
    channel->rings_.push_back(ring);
    channel->attached_.push_back(false);
  }
  return channel;
}

UpdateChannel::~UpdateChannel() {
  for (Retired& r : retired_) r.free();
  for (rte_ring* ring : rings_) rte_ring_free(ring);
  rte_free(qsbr_);
}

void UpdateChannel::attach(unsigned worker) {
  Update stale;
  while (rte_ring_dequeue_elem(rings_[worker], &stale, sizeof stale) == 0) {
  }
  rte_rcu_qsbr_thread_register(qsbr_, worker);
  rte_rcu_qsbr_thread_online(qsbr_, worker);
  attached_[worker] = true;
}

void UpdateChannel::detach(unsigned worker) {
  rte_rcu_qsbr_thread_offline(qsbr_, worker);
  rte_rcu_qsbr_thread_unregister(qsbr_, worker);
  attached_[worker] = false;
}

void UpdateChannel::broadcast(const Update& message) {
  Update update = message;  // rte_ring_enqueue_elem takes a non-const pointer
  for (size_t w = 0; w < rings_.size(); ++w) {
    if (!attached_[w]) continue;
    uint64_t next_warning = rte_get_tsc_cycles() + rte_get_tsc_hz();
    tsan_release(rings_[w]);  // the object the update points at is built
    while (rte_ring_enqueue_elem(rings_[w], &update, sizeof update) != 0) {
      if (rte_get_tsc_cycles() > next_warning) {
        LOG_WARN("updates", "worker %zu has not taken its updates for a second", w);
        next_warning += rte_get_tsc_hz();
      }
      rte_pause();
    }
  }
}

void UpdateChannel::retire(std::function<void()> free) { retired_.push_back({std::move(free), 0, false}); }

bool UpdateChannel::delivered() const noexcept {
  for (size_t w = 0; w < rings_.size(); ++w)
    if (attached_[w] && !rte_ring_empty(rings_[w])) return false;
  return true;
}

size_t UpdateChannel::reclaim() {
  if (retired_.empty()) return 0;
  if (!retired_.back().started && delivered()) {
    uint64_t token = rte_rcu_qsbr_start(qsbr_);
    for (auto it = retired_.rbegin(); it != retired_.rend() && !it->started; ++it) {
      it->token = token;
      it->started = true;
    }
  }
  size_t done = 0;
  while (done < retired_.size() && retired_[done].started && rte_rcu_qsbr_check(qsbr_, retired_[done].token, false) == 1) {
    retired_[done].free();
    ++done;
  }
  retired_.erase(retired_.begin(), retired_.begin() + static_cast<long>(done));
  return retired_.size();
}

}  // namespace rampart::dp
