#include "dataplane/sad.hpp"

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_jhash.h>

namespace rampart::dp {

rte_hash* create_lf_hash(const std::string& name, uint32_t capacity, uint32_t key_length) {
  rte_hash_parameters params{};
  params.name = name.c_str();
  params.entries = capacity < 64 ? 64 : capacity;
  params.key_len = key_length;
  params.hash_func = rte_jhash;
  params.socket_id = SOCKET_ID_ANY;
  params.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF;
  return rte_hash_create(&params);
}

Sad::~Sad() { rte_hash_free(hash_); }

Result<std::unique_ptr<Sad>> Sad::create(const std::string& name, uint32_t capacity) {
  std::unique_ptr<Sad> sad(new Sad);
  sad->hash_ = create_lf_hash(name, capacity, sizeof(uint32_t));
  if (sad->hash_ == nullptr) return make_error(Errc::kNoMemory, "SAD " + name + ": " + rte_strerror(rte_errno));
  return sad;
}

Result<void> Sad::add(uint32_t spi, SaRuntime* sa) {
  int rc = rte_hash_add_key_data(hash_, &spi, sa);
  if (rc < 0) return make_error(Errc::kNoMemory, "SAD: cannot add SPI " + std::to_string(spi));
  return {};
}

bool Sad::contains(uint32_t spi) const noexcept { return rte_hash_lookup(hash_, &spi) >= 0; }

Result<int32_t> Sad::remove(uint32_t spi) {
  int32_t position = rte_hash_del_key(hash_, &spi);
  if (position < 0) return make_error(Errc::kNotFound, "SAD: no SPI " + std::to_string(spi));
  return position;
}

void Sad::free_position(int32_t position) noexcept { rte_hash_free_key_with_position(hash_, position); }

void Sad::lookup(const uint32_t* spis, SaRuntime** out, uint32_t count) const noexcept {
  const void* keys[64];
  void* data[64];
  for (uint32_t at = 0; at < count; at += 64) {
    uint32_t n = count - at < 64 ? count - at : 64;
    for (uint32_t i = 0; i < n; ++i) keys[i] = &spis[at + i];
    uint64_t hits = 0;
    rte_hash_lookup_bulk_data(hash_, keys, n, &hits, data);
    for (uint32_t i = 0; i < n; ++i) out[at + i] = (hits >> i) & 1 ? static_cast<SaRuntime*>(data[i]) : nullptr;
  }
}

}  // namespace rampart::dp
