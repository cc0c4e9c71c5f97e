#include "dataplane/port.hpp"

#include <rte_bus_vdev.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

namespace rampart::dp {

Result<rte_mempool*> create_packet_pool(const std::string& name, unsigned mbufs, int socket) {
  // 256-mbuf per-lcore cache: a burst-sized refill without touching the shared ring each time.
  rte_mempool* pool = rte_pktmbuf_pool_create(name.c_str(), mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, socket);
  if (pool == nullptr)
    return make_error(Errc::kNoMemory, "cannot create mbuf pool " + name + ": " + rte_strerror(rte_errno));
  return pool;
}

Result<void> start_port(uint16_t port_id, rte_mempool* pool, uint16_t queues) {
  rte_eth_conf conf{};
  int rc = rte_eth_dev_configure(port_id, queues, queues, &conf);
  if (rc < 0)
    return make_error(Errc::kIo, "port " + std::to_string(port_id) + ": configure failed: " + rte_strerror(-rc));
  int socket = rte_eth_dev_socket_id(port_id);
  for (uint16_t q = 0; q < queues; ++q) {
    rc = rte_eth_rx_queue_setup(port_id, q, kRxDescriptors, socket, nullptr, pool);
    if (rc < 0)
      return make_error(Errc::kIo, "port " + std::to_string(port_id) + ": rx queue setup: " + rte_strerror(-rc));
    rc = rte_eth_tx_queue_setup(port_id, q, kTxDescriptors, socket, nullptr);
    if (rc < 0)
      return make_error(Errc::kIo, "port " + std::to_string(port_id) + ": tx queue setup: " + rte_strerror(-rc));
  }
  rc = rte_eth_dev_start(port_id);
  if (rc < 0)
    return make_error(Errc::kIo, "port " + std::to_string(port_id) + ": start failed: " + rte_strerror(-rc));
  rte_eth_promiscuous_enable(port_id);  // virtual ports may refuse; that is harmless
  return {};
}

Result<PortPair> create_ring_port_pair(const std::string& name, int socket, uint16_t queues) {
  PortPair pair{};
  auto free_rings = [&pair] {
    for (rte_ring* ring : pair.a_to_b) rte_ring_free(ring);
    for (rte_ring* ring : pair.b_to_a) rte_ring_free(ring);
  };
  // Single producer and consumer: each ring has one queue sending and one receiving.
  for (uint16_t q = 0; q < queues; ++q) {
    std::string suffix = q == 0 ? "" : "_" + std::to_string(q);
    rte_ring* ab = rte_ring_create((name + "_ab" + suffix).c_str(), 4096, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
    rte_ring* ba = rte_ring_create((name + "_ba" + suffix).c_str(), 4096, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (ab != nullptr) pair.a_to_b.push_back(ab);
    if (ba != nullptr) pair.b_to_a.push_back(ba);
    if (ab == nullptr || ba == nullptr) {
      free_rings();
      return make_error(Errc::kNoMemory, "cannot create rings for port pair " + name);
    }
  }
  std::string a_name = name + "_a";
  std::string b_name = name + "_b";
  int a = rte_eth_from_rings(a_name.c_str(), pair.b_to_a.data(), queues, pair.a_to_b.data(), queues,
                             static_cast<unsigned>(socket));
  int b = rte_eth_from_rings(b_name.c_str(), pair.a_to_b.data(), queues, pair.b_to_a.data(), queues,
                             static_cast<unsigned>(socket));
  if (a < 0 || b < 0) {
    if (a >= 0) close_port(static_cast<uint16_t>(a));
    if (b >= 0) close_port(static_cast<uint16_t>(b));
    free_rings();
    return make_error(Errc::kIo, "rte_eth_from_rings failed for " + name);
  }
  // The ring PMD names its vdevs "net_ring_<name>": take the names it chose, for uninit.
  char a_device[RTE_ETH_NAME_MAX_LEN] = {};
  char b_device[RTE_ETH_NAME_MAX_LEN] = {};
  rte_eth_dev_get_name_by_port(static_cast<uint16_t>(a), a_device);
  rte_eth_dev_get_name_by_port(static_cast<uint16_t>(b), b_device);
  pair.a = static_cast<uint16_t>(a);
  pair.b = static_cast<uint16_t>(b);
  pair.a_name = a_device;
  pair.b_name = b_device;
  return pair;
}

void close_port(uint16_t port_id) {
  rte_eth_dev_stop(port_id);
  rte_eth_dev_close(port_id);
}

}  // namespace rampart::dp

namespace rampart::dp {

void close_ring_port_pair(const PortPair& pair) {
  // rte_eth_from_rings creates each port as a vdev; uninit closes it (if nobody has yet) and
  // frees its name for reuse.
  for (auto [port, name] : {std::pair{pair.a, &pair.a_name}, std::pair{pair.b, &pair.b_name}}) {
    if (rte_eth_dev_is_valid_port(port)) rte_eth_dev_stop(port);
    if (rte_vdev_uninit(name->c_str()) != 0 && rte_eth_dev_is_valid_port(port)) rte_eth_dev_close(port);
  }
  for (const std::vector<rte_ring*>* rings : {&pair.a_to_b, &pair.b_to_a}) {
    for (rte_ring* ring : *rings) {
      void* mbuf = nullptr;
      while (rte_ring_dequeue(ring, &mbuf) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(mbuf));
      rte_ring_free(ring);
    }
  }
}

}  // namespace rampart::dp
