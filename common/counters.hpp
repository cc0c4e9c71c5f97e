// Counter tables: every counter is declared once, with a name and help text, in a constexpr
// array next to the enum that indexes it. Storage is one cache-aligned lane per lcore, written
// only by that lcore (no atomics read-modify-write, no false sharing) and summed when read.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "common/cache.hpp"

namespace rampart {

struct CounterDef {
  std::string_view name;  // stable, snake_case: scripts match on it
  std::string_view help;  // one line for the operator
};

struct CounterValue {
  std::string_view name;
  std::string_view help;
  uint64_t value;
};

// One counter with a single writer (the lcore that owns the object it sits in) and any number
// of readers. The same relaxed load+store as a lane: a plain add on x86, never torn.
class OwnedCounter {
 public:
  void add(uint64_t n = 1) noexcept { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }
  void set(uint64_t n) noexcept { v_.store(n, std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class CounterTable {
 public:
  // One lane: the counters of one lcore. The hot path keeps a Lane* and bumps through it.
  class Lane {
   public:
    // Single writer per lane: a relaxed load and store compile to a plain add, and a reader on
    // another core sees a whole (if slightly old) value, never a torn one.
    void add(size_t index, uint64_t n = 1) noexcept {
      auto& c = slots_[index];
      c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    template <typename E>
    void add(E counter, uint64_t n = 1) noexcept {
      add(static_cast<size_t>(counter), n);
    }
    uint64_t get(size_t index) const noexcept { return slots_[index].load(std::memory_order_relaxed); }
    const void* storage() const noexcept { return slots_; }

   private:
    friend class CounterTable;
    std::atomic<uint64_t>* slots_ = nullptr;
  };

  CounterTable(std::span<const CounterDef> defs, unsigned lanes);
  CounterTable(const CounterTable&) = delete;
  CounterTable& operator=(const CounterTable&) = delete;

  Lane& lane(unsigned index) noexcept { return lanes_[index]; }
  const Lane& lane(unsigned index) const noexcept { return lanes_[index]; }
  unsigned lane_count() const noexcept { return static_cast<unsigned>(lanes_.size()); }
  size_t size() const noexcept { return defs_.size(); }
  std::span<const CounterDef> defs() const noexcept { return defs_; }

  uint64_t sum(size_t index) const noexcept;
  template <typename E>
  uint64_t sum(E counter) const noexcept {
    return sum(static_cast<size_t>(counter));
  }
  // Every counter summed over all lanes, in declaration order.
  std::vector<CounterValue> snapshot() const;
  // Zeroes every lane; only safe while no lane is being written.
  void reset() noexcept;

 private:
  struct AlignedDelete {
    void operator()(std::atomic<uint64_t>* p) const noexcept;
  };

  std::span<const CounterDef> defs_;
  size_t lane_stride_;  // counters per lane, rounded up to whole cache lines
  std::unique_ptr<std::atomic<uint64_t>[], AlignedDelete> storage_;
  std::vector<Lane> lanes_;
};

}  // namespace rampart
