// How the control core changes what workers use while they run: each worker has its own
// single-producer/single-consumer ring of small plain messages, which it applies at the start of
// every pass, before it touches a packet; objects a message replaces are freed only after every
// worker has passed a quiescent point (DPDK rte_rcu QSBR). Workers never block or lock.
//
// Why a retired object waits for two things: a worker reports quiescence after applying the
// messages it dequeued, so once its ring is seen empty, its next report proves it has let go of
// what those messages replaced. The control core therefore starts the grace period (takes the QSBR
// token) only when every ring has been drained, and frees when every worker has reported since.
// Objects readers find through shared tables (the SAD) need only the grace period, and get it
// the same way.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "common/result.hpp"

struct rte_ring;
struct rte_rcu_qsbr;

namespace rampart::dp {

enum class UpdateKind : uint32_t {
  kTables,    // object: the new const Tables* (SPD, routes)
  kBindSlot,  // object: the SaRuntime* that slot's policies now protect with (nullptr: none)
  kLocalPorts,  // object: the new const LocalPorts* (UDP ports local services listen on)
};

struct Update {
  UpdateKind kind;
  uint32_t slot;
  const void* object;
};
static_assert(sizeof(Update) == 16, "ring elements must be a multiple of 4 bytes");

class UpdateChannel {
 public:
  static Result<std::unique_ptr<UpdateChannel>> create(unsigned workers);
  ~UpdateChannel();  // frees whatever is still retired: call only when no worker runs

  // Control core, before a worker starts and after it stops: from attach() on, the worker gets
  // every message (its ring is emptied first: the worker copies the current state instead) and
  // takes part in grace periods.
  void attach(unsigned worker);
  void detach(unsigned worker);
  // Control core: sends the message to every attached worker, waiting (the control core may)
  // while a ring is full.
  void broadcast(const Update& update);
  // Control core: free() runs on the control core once no worker can hold what it frees.
  void retire(std::function<void()> free);
  // Control core: runs the frees whose grace period is over. Returns how many are still waiting.
  size_t reclaim();
  size_t pending() const noexcept { return retired_.size(); }
  // Every attached worker has taken every message; it applies them before its next packet.
  bool delivered() const noexcept;

  // Worker side.
  rte_ring* ring(unsigned worker) const noexcept { return rings_[worker]; }
  rte_rcu_qsbr* qsbr() const noexcept { return qsbr_; }
  unsigned workers() const noexcept { return static_cast<unsigned>(rings_.size()); }

 private:
  UpdateChannel() = default;

  struct Retired {
    std::function<void()> free;
    uint64_t token = 0;
    bool started = false;  // the grace period has a token
  };
  std::vector<rte_ring*> rings_;
  std::vector<bool> attached_;
  rte_rcu_qsbr* qsbr_ = nullptr;
  std::vector<Retired> retired_;  // in retirement order; tokens never decrease along it
};

}  // namespace rampart::dp
