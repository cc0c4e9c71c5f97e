#include "common/counters.hpp"

#include <new>

namespace rampart {

void CounterTable::AlignedDelete::operator()(std::atomic<uint64_t>* p) const noexcept {
  ::operator delete[](p, std::align_val_t{kCacheLine});
}

CounterTable::CounterTable(std::span<const CounterDef> defs, unsigned lanes)
    : defs_(defs),
      lane_stride_(round_up_to_cache_line(defs.size() * sizeof(uint64_t)) / sizeof(uint64_t)) {
  static_assert(sizeof(std::atomic<uint64_t>) == sizeof(uint64_t));
  static_assert(std::atomic<uint64_t>::is_always_lock_free);
  size_t total = lane_stride_ * lanes;
  if (total == 0) total = 1;
  void* raw = ::operator new[](total * sizeof(uint64_t), std::align_val_t{kCacheLine});
  auto* slots = static_cast<std::atomic<uint64_t>*>(raw);
  for (size_t i = 0; i < total; ++i) new (&slots[i]) std::atomic<uint64_t>(0);
  storage_.reset(slots);
  lanes_.resize(lanes);
  for (unsigned l = 0; l < lanes; ++l) lanes_[l].slots_ = slots + l * lane_stride_;
}

uint64_t CounterTable::sum(size_t index) const noexcept {
  uint64_t total = 0;
  for (const Lane& lane : lanes_) total += lane.get(index);
  return total;
}

std::vector<CounterValue> CounterTable::snapshot() const {
  std::vector<CounterValue> out;
  out.reserve(defs_.size());
  for (size_t i = 0; i < defs_.size(); ++i) out.push_back({defs_[i].name, defs_[i].help, sum(i)});
  return out;
}

void CounterTable::reset() noexcept {
  for (Lane& lane : lanes_)
    for (size_t i = 0; i < lane_stride_; ++i) lane.slots_[i].store(0, std::memory_order_relaxed);
}

}  // namespace rampart
