// One ipsec-mb manager per lcore. A manager holds per-thread job queues and scratch state, so
// it is never shared: each worker owns one, built at start-up (alloc + init is not for the hot
// path), and the control core builds its own for key expansion.
#pragma once

#include <memory>

#include "common/result.hpp"
#include "crypto/ipsec_mb.hpp"

namespace rampart::crypto {

class MbManager {
 public:
  // Allocates a manager and lets ipsec-mb choose the best code path for this CPU.
  static Result<MbManager> create();

  IMB_MGR* get() const noexcept { return mgr_.get(); }
  IMB_ARCH arch() const noexcept { return arch_; }
  const char* arch_name() const noexcept;

 private:
  struct Free {
    void operator()(IMB_MGR* m) const noexcept { free_mb_mgr(m); }
  };
  MbManager(IMB_MGR* mgr, IMB_ARCH arch) : mgr_(mgr), arch_(arch) {}

  std::unique_ptr<IMB_MGR, Free> mgr_;
  IMB_ARCH arch_;
};

const char* arch_name(IMB_ARCH arch) noexcept;
// The ipsec-mb library version, e.g. "1.3.0".
const char* ipsec_mb_version() noexcept;

}  // namespace rampart::crypto
