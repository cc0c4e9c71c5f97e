// IPv4 routing: longest-prefix match in DPDK rte_lpm to a next hop (port, gateway), plus the
// neighbour table that maps next hops to Ethernet addresses. The control core writes both;
// workers read them without locks.
#pragma once

#include <rte_ether.h>
#include <rte_hash.h>

#include <cstring>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "dataplane/gateway_spec.hpp"

struct rte_lpm;
struct rte_lpm6;
struct rte_hash;

namespace rampart::dp {

struct NextHop {
  uint16_t port;
  uint32_t gateway;  // host order; 0: the destination is on link
};

struct NextHop6 {
  uint16_t port;
  bool on_link;
  std::array<uint8_t, 16> gateway;
};

class RouteTable {
 public:
  static Result<std::unique_ptr<RouteTable>> build(const std::string& name, const std::vector<RouteSpec>& routes);
  ~RouteTable();
  // The next hop for a destination (host order), or nullptr.
  const NextHop* lookup(uint32_t destination) const noexcept;
  const NextHop6* lookup6(const uint8_t* destination) const noexcept;

 private:
  RouteTable() = default;
  rte_lpm* lpm_ = nullptr;
  rte_lpm6* lpm6_ = nullptr;
  std::vector<NextHop> hops_;
  std::vector<NextHop6> hops6_;
};

class NeighbourTable {
 public:
  static Result<std::unique_ptr<NeighbourTable>> create(const std::string& name, uint32_t capacity);
  ~NeighbourTable();
  // Control core only.
  void learn(uint32_t address, const rte_ether_addr& mac) noexcept;
  void learn6(const uint8_t* address, const rte_ether_addr& mac) noexcept;
  // Any worker. False if not known.
  bool lookup(uint32_t address, rte_ether_addr& mac) const noexcept;
  bool lookup6(const uint8_t* address, rte_ether_addr& mac) const noexcept;
  // Every entry, for the console. Control core only (the one writer), so it sees a settled table.
  template <typename F>
  void for_each(F&& f) const;

 private:
  NeighbourTable() = default;
  rte_hash* hash_ = nullptr;
  rte_hash* hash6_ = nullptr;
};

template <typename F>
void NeighbourTable::for_each(F&& f) const {
  for (rte_hash* hash : {hash_, hash6_}) {
    const void* key;
    void* data;
    uint32_t next = 0;
    while (rte_hash_iterate(hash, &key, &data, &next) >= 0) {
      rte_ether_addr mac;
      auto packed = reinterpret_cast<uintptr_t>(data);
      std::memcpy(mac.addr_bytes, &packed, RTE_ETHER_ADDR_LEN);
      f(hash == hash6_, static_cast<const uint8_t*>(key), mac);
    }
  }
}

}  // namespace rampart::dp
