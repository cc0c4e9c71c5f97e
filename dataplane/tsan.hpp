// ThreadSanitizer and DPDK. DPDK's libraries are not built with TSan, and its rings synchronise
// with volatile accesses and fences (rte_smp_wmb) that TSan does not model: an mbuf passed
// through a ring, a ring port or a mempool, and an object published through an update ring,
// carry no happens-before TSan can see. Where a thread hands such a thing to another, these mark
// the hand-over (release before it leaves, acquire once it arrived), so TSan checks everything
// else; tests/tsan.supp silences the rings' own index and slot accesses. In other builds they are
// nothing at all.
#pragma once

#include <rte_mbuf.h>

#if defined(__SANITIZE_THREAD__)
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace rampart::dp {

#if defined(__SANITIZE_THREAD__)
inline constexpr bool kTsan = true;
inline void tsan_release(const void* object) noexcept { __tsan_release(const_cast<void*>(object)); }
inline void tsan_acquire(const void* object) noexcept { __tsan_acquire(const_cast<void*>(object)); }
#else
inline constexpr bool kTsan = false;
inline void tsan_release(const void*) noexcept {}
inline void tsan_acquire(const void*) noexcept {}
#endif

// Packets leaving this thread (before the enqueue or tx burst), and arriving (after the dequeue
// or rx burst).
inline void tsan_release_packets(rte_mbuf* const* pkts, unsigned count) noexcept {
  if constexpr (kTsan)
    for (unsigned i = 0; i < count; ++i) tsan_release(pkts[i]);
}
inline void tsan_acquire_packets(rte_mbuf* const* pkts, unsigned count) noexcept {
  if constexpr (kTsan)
    for (unsigned i = 0; i < count; ++i) tsan_acquire(pkts[i]);
}

// In TSan builds every packet pool hands its mbufs over this way too (eal_init selects the
// "rampart_tsan" mempool ops: the ring's, plus a release on put and an acquire on get).
void use_tsan_mempool_ops() noexcept;

}  // namespace rampart::dp
