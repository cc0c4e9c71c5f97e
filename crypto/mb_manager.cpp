#include "crypto/mb_manager.hpp"

#include <string>

namespace rampart::crypto {

const char* arch_name(IMB_ARCH arch) noexcept {
  switch (arch) {
    case IMB_ARCH_NONE: return "none";
    case IMB_ARCH_NOAESNI: return "no-aesni";
    case IMB_ARCH_SSE: return "sse";
    case IMB_ARCH_AVX: return "avx";
    case IMB_ARCH_AVX2: return "avx2";
    case IMB_ARCH_AVX512: return "avx512";
    case IMB_ARCH_NUM: break;
  }
  return "unknown";
}

const char* MbManager::arch_name() const noexcept { return crypto::arch_name(arch_); }

const char* ipsec_mb_version() noexcept { return imb_get_version_str(); }

Result<MbManager> MbManager::create() {
  IMB_MGR* mgr = alloc_mb_mgr(0);
  if (mgr == nullptr) return make_error(Errc::kNoMemory, "ipsec-mb: alloc_mb_mgr failed");
  IMB_ARCH arch = IMB_ARCH_NONE;
  init_mb_mgr_auto(mgr, &arch);
  int err = imb_get_errno(mgr);
  if (err != 0 || arch == IMB_ARCH_NONE) {
    free_mb_mgr(mgr);
    return make_error(Errc::kUnsupported,
                      std::string("ipsec-mb: init_mb_mgr_auto failed: ") + imb_get_strerror(err));
  }
  return MbManager(mgr, arch);
}

}  // namespace rampart::crypto
