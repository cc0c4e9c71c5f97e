// Ports for real: a ring-joined port pair under EAL (--no-huge --no-pci) carries packets from
// one port to the other, and every mbuf is back in its pool afterwards.
#include <catch2/catch.hpp>

#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <cstring>

#include "dataplane/eal.hpp"
#include "dataplane/port.hpp"

using namespace rampart;

TEST_CASE("the EAL arguments for CI have no hugepages and no PCI", "[dp][eal]") {
  auto args = dp::eal_args_without_hugepages("x");
  auto has = [&](const char* a) { return std::find(args.begin(), args.end(), a) != args.end(); };
  CHECK(has("--no-huge"));
  CHECK(has("--no-pci"));
  CHECK(has("--file-prefix"));
}

TEST_CASE("a ring port pair carries a burst both ways and returns every mbuf", "[dp][port]") {
  int socket = static_cast<int>(rte_socket_id());
  auto pool = dp::create_packet_pool("port_test_pool", 2047, socket);
  REQUIRE(pool.ok());
  auto pair = dp::create_ring_port_pair("port_test", socket);
  REQUIRE(pair.ok());
  REQUIRE(dp::start_port(pair->a, *pool, 1).ok());
  REQUIRE(dp::start_port(pair->b, *pool, 1).ok());

  constexpr uint16_t kBurst = 32;
  for (auto [from, to] : {std::pair{pair->a, pair->b}, std::pair{pair->b, pair->a}}) {
    rte_mbuf* tx[kBurst];
    REQUIRE(rte_pktmbuf_alloc_bulk(*pool, tx, kBurst) == 0);
    for (uint16_t i = 0; i < kBurst; ++i) {
      char* data = rte_pktmbuf_append(tx[i], 64);
      REQUIRE(data != nullptr);
      std::memset(data, i, 64);
    }
    REQUIRE(rte_eth_tx_burst(from, 0, tx, kBurst) == kBurst);
    rte_mbuf* rx[kBurst];
    uint16_t got = rte_eth_rx_burst(to, 0, rx, kBurst);
    REQUIRE(got == kBurst);
    for (uint16_t i = 0; i < got; ++i) {
      CHECK(rte_pktmbuf_pkt_len(rx[i]) == 64);
      CHECK(*rte_pktmbuf_mtod(rx[i], uint8_t*) == i);  // order kept
    }
    rte_pktmbuf_free_bulk(rx, got);
  }

  // Packets still in flight when the pair closes go back to the pool too.
  rte_mbuf* stranded[4];
  REQUIRE(rte_pktmbuf_alloc_bulk(*pool, stranded, 4) == 0);
  REQUIRE(rte_eth_tx_burst(pair->a, 0, stranded, 4) == 4);
  dp::close_ring_port_pair(*pair);
  CHECK(rte_mempool_in_use_count(*pool) == 0);
  rte_mempool_free(*pool);
}

TEST_CASE("a port pair name can be reused once the pair is closed", "[dp][port]") {
  int socket = static_cast<int>(rte_socket_id());
  for (int round = 0; round < 2; ++round) {
    auto pair = dp::create_ring_port_pair("reused", socket);
    INFO((pair.ok() ? "" : pair.message()));
    REQUIRE(pair.ok());
    dp::close_ring_port_pair(*pair);
  }
}
