// The inbound security association database: SPI to SA, in a DPDK rte_hash that workers read in
// bulk without locks while the control core writes (RW_CONCURRENCY_LF).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/result.hpp"

struct rte_hash;

namespace rampart::dp {

struct SaRuntime;

// A DPDK rte_hash with lock-free readers (RW_CONCURRENCY_LF): what the SAD and the neighbour
// tables are built on. The control core is the one writer.
rte_hash* create_lf_hash(const std::string& name, uint32_t capacity, uint32_t key_length);

class Sad {
 public:
  static Result<std::unique_ptr<Sad>> create(const std::string& name, uint32_t capacity);
  ~Sad();

  // Control core. A reader may still hold what remove() took out: the caller frees the SA and
  // then the key's slot (free_position) after the QSBR grace period.
  Result<void> add(uint32_t spi, SaRuntime* sa);  // an SPI present is pointed at sa (readers see either)
  bool contains(uint32_t spi) const noexcept;
  Result<int32_t> remove(uint32_t spi);
  void free_position(int32_t position) noexcept;
  // For each SPI (host order), the SA or nullptr.
  void lookup(const uint32_t* spis, SaRuntime** out, uint32_t count) const noexcept;

 private:
  Sad() = default;
  rte_hash* hash_ = nullptr;
};

}  // namespace rampart::dp
