#include "dataplane/routes.hpp"

#include "dataplane/sad.hpp"

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>

#include <algorithm>

#include <cstring>

namespace rampart::dp {

RouteTable::~RouteTable() {
  rte_lpm_free(lpm_);
  rte_lpm6_free(lpm6_);
}

Result<std::unique_ptr<RouteTable>> RouteTable::build(const std::string& name, const std::vector<RouteSpec>& routes) {
  std::unique_ptr<RouteTable> table(new RouteTable);
  rte_lpm_config config{};
  config.max_rules = static_cast<uint32_t>(routes.size() + 16);
  config.number_tbl8s = 256;
  table->lpm_ = rte_lpm_create(name.c_str(), SOCKET_ID_ANY, &config);
  if (table->lpm_ == nullptr) return make_error(Errc::kNoMemory, "routes " + name + ": " + rte_strerror(rte_errno));
  rte_lpm6_config config6{};
  config6.max_rules = static_cast<uint32_t>(routes.size() + 16);
  config6.number_tbl8s = 1u << 12;
  table->lpm6_ = rte_lpm6_create((name + "_v6").c_str(), SOCKET_ID_ANY, &config6);
  if (table->lpm6_ == nullptr) return make_error(Errc::kNoMemory, "routes " + name + "_v6: " + rte_strerror(rte_errno));
  for (const RouteSpec& r : routes) {
    if (r.family == IpFamily::kIpv4) {
      auto index = static_cast<uint32_t>(table->hops_.size());
      table->hops_.push_back(NextHop{r.port, r.gateway});
      if (rte_lpm_add(table->lpm_, r.destination.address, r.destination.length, index) != 0)
        return make_error(Errc::kInvalidArgument, "routes " + name + ": cannot add a route");
    } else {
      auto index = static_cast<uint32_t>(table->hops6_.size());
      bool on_link = std::all_of(r.gateway6.begin(), r.gateway6.end(), [](uint8_t b) { return b == 0; });
      table->hops6_.push_back(NextHop6{r.port, on_link, r.gateway6});
      if (rte_lpm6_add(table->lpm6_, r.destination6.address.data(), r.destination6.length, index) != 0)
        return make_error(Errc::kInvalidArgument, "routes " + name + ": cannot add an IPv6 route");
    }
  }
  return table;
}

const NextHop* RouteTable::lookup(uint32_t destination) const noexcept {
  uint32_t index;
  if (rte_lpm_lookup(lpm_, destination, &index) != 0) return nullptr;
  return &hops_[index];
}

const NextHop6* RouteTable::lookup6(const uint8_t* destination) const noexcept {
  uint32_t index;
  if (rte_lpm6_lookup(lpm6_, destination, &index) != 0) return nullptr;
  return &hops6_[index];
}

NeighbourTable::~NeighbourTable() {
  rte_hash_free(hash_);
  rte_hash_free(hash6_);
}

Result<std::unique_ptr<NeighbourTable>> NeighbourTable::create(const std::string& name, uint32_t capacity) {
  std::unique_ptr<NeighbourTable> table(new NeighbourTable);
  table->hash_ = create_lf_hash(name, capacity, sizeof(uint32_t));
  table->hash6_ = create_lf_hash(name + "6", capacity, 16);
  if (table->hash_ == nullptr || table->hash6_ == nullptr) return make_error(Errc::kNoMemory, "neighbours " + name + ": " + rte_strerror(rte_errno));
  return table;
}

// The MAC address travels as the hash's data pointer value: six bytes fit in a pointer, so a
// lookup is one read and an update one atomic store, with nothing to free.
void NeighbourTable::learn(uint32_t address, const rte_ether_addr& mac) noexcept {
  uintptr_t packed = 0;
  std::memcpy(&packed, mac.addr_bytes, RTE_ETHER_ADDR_LEN);
  rte_hash_add_key_data(hash_, &address, reinterpret_cast<void*>(packed | (uintptr_t{1} << 63)));
}

// rte_jhash reads keys a 32-bit word at a time: addresses taken from packets are copied to an
// aligned key first.
void NeighbourTable::learn6(const uint8_t* address, const rte_ether_addr& mac) noexcept {
  alignas(4) uint8_t key[16];
  std::memcpy(key, address, sizeof key);
  uintptr_t packed = 0;
  std::memcpy(&packed, mac.addr_bytes, RTE_ETHER_ADDR_LEN);
  rte_hash_add_key_data(hash6_, key, reinterpret_cast<void*>(packed | (uintptr_t{1} << 63)));
}

bool NeighbourTable::lookup6(const uint8_t* address, rte_ether_addr& mac) const noexcept {
  alignas(4) uint8_t key[16];
  std::memcpy(key, address, sizeof key);
  void* data = nullptr;
  if (rte_hash_lookup_data(hash6_, key, &data) < 0) return false;
  auto packed = reinterpret_cast<uintptr_t>(data);
  std::memcpy(mac.addr_bytes, &packed, RTE_ETHER_ADDR_LEN);
  return true;
}

bool NeighbourTable::lookup(uint32_t address, rte_ether_addr& mac) const noexcept {
  void* data = nullptr;
  if (rte_hash_lookup_data(hash_, &address, &data) < 0) return false;
  auto packed = reinterpret_cast<uintptr_t>(data);
  std::memcpy(mac.addr_bytes, &packed, RTE_ETHER_ADDR_LEN);
  return true;
}

}  // namespace rampart::dp
