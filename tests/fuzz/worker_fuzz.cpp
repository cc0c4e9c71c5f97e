// libFuzzer target for the worker pipeline as a whole: one gateway (site-to-site, IPv4 and IPv6
// addresses, an SA each way, protect/bypass/discard policies, static neighbours) on two ring
// ports, and each input a handful of Ethernet frames for either port. The worker parses them,
// reassembles fragments addressed to it, answers echo, hands IKE and ARP to the control core,
// classifies, opens and seals ESP, routes. Whatever comes in, it must not crash or read out of
// bounds (ASan, UBSan), and every mbuf must be back in the pool once the gateway shuts down.
//
// Input: records of [port (bit 0: 0 protected, 1 public)] [length, 2 bytes big-endian] [frame],
// at most 32 frames; a record longer than what is left takes what is left.
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "crypto/mb_manager.hpp"
#include "dataplane/eal.hpp"
#include "dataplane/gateway.hpp"
#include "dataplane/port.hpp"
#include "dataplane/worker.hpp"
#include "tests/support/specs.hpp"

namespace {

using namespace rampart;

using test::ip4;
using test::policy;

struct World {
  dp::PortPair inside{}, outside{};
  std::unique_ptr<dp::Gateway> gateway;
  std::unique_ptr<dp::Worker> worker;
  rte_mempool* generator = nullptr;
};

World* world;
std::string g_prefix;

void shut_down() {
  if (world->gateway->shutdown() != 0) std::abort();  // an mbuf lost somewhere
  dp::close_ring_port_pair(world->inside);
  dp::close_ring_port_pair(world->outside);
  world->worker.reset();
  world->gateway.reset();
  if (rte_mempool_in_use_count(world->generator) != 0) std::abort();  // the frames we sent, too
  std::filesystem::remove_all(std::filesystem::path("/var/run/dpdk") / g_prefix);
}

void drain(uint16_t port) {
  rte_mbuf* m[32];
  uint16_t n;
  while ((n = rte_eth_rx_burst(port, 0, m, 32)) > 0) rte_pktmbuf_free_bulk(m, n);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_prefix = "rampart_wfuzz_" + std::to_string(getpid());
  if (!dp::eal_init(dp::eal_args_without_hugepages(g_prefix))) std::abort();
  world = new World;
  world->inside = dp::create_ring_port_pair("wf_in", SOCKET_ID_ANY).value();
  world->outside = dp::create_ring_port_pair("wf_out", SOCKET_ID_ANY).value();
  world->generator = dp::create_packet_pool("wf_gen", 1023, static_cast<int>(rte_socket_id())).value();
  if (!dp::start_port(world->inside.b, world->generator, 1).ok() || !dp::start_port(world->outside.b, world->generator, 1).ok())
    std::abort();
  dp::GatewaySpec spec;
  spec.worker_lcores = {1};
  spec.mbufs = 2047;
  spec.ports = {dp::ipv4_port("inside", world->inside.a_name, dp::PortRole::kProtected, {ip4(192, 0, 2, 1), 24}),
                dp::ipv4_port("outside", world->outside.a_name, dp::PortRole::kPublic, {ip4(198, 51, 100, 1), 24})};
  spec.ports[1].has_address6 = true;
  spec.ports[1].address6 = {{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 64};
  spec.routes = {dp::ipv4_route({ip4(203, 0, 113, 0), 24}, ip4(198, 51, 100, 2), 1)};
  spec.sas = {test::tunnel_sa("to-peer", 0x1001, dp::SaDirection::kOutbound, ip4(198, 51, 100, 1), ip4(198, 51, 100, 2)),
              test::tunnel_sa("from-peer", 0x2001, dp::SaDirection::kInbound, ip4(198, 51, 100, 2), ip4(198, 51, 100, 1))};
  using dp::SaDirection::kInbound;
  using dp::SaDirection::kOutbound;
  spec.policies = {
      policy(kOutbound, {ip4(192, 0, 2, 99), 32}, {0, 0}, dp::PolicyAction::kDiscard),
      policy(kOutbound, {ip4(192, 0, 2, 0), 24}, {ip4(203, 0, 113, 0), 24}, dp::PolicyAction::kProtect, "to-peer"),
      policy(kOutbound, {ip4(192, 0, 2, 0), 24}, {ip4(198, 51, 100, 0), 24}, dp::PolicyAction::kBypass),
      policy(kInbound, {ip4(203, 0, 113, 0), 24}, {ip4(192, 0, 2, 0), 24}, dp::PolicyAction::kProtect, "from-peer"),
      policy(kInbound, {ip4(198, 51, 100, 0), 24}, {ip4(192, 0, 2, 0), 24}, dp::PolicyAction::kBypass),
  };
  dp::NeighbourSpec peer, host;
  peer.address = ip4(198, 51, 100, 2);
  peer.mac = {0x02, 0, 0, 0, 0, 0x02};
  host.address = ip4(192, 0, 2, 10);
  host.mac = {0x02, 0, 0, 0, 0, 0x10};
  spec.neighbours = {peer, host};
  auto gateway = dp::Gateway::create(spec);
  if (!gateway) std::abort();
  world->gateway = std::move(*gateway);
  world->worker = std::make_unique<dp::Worker>(world->gateway->attach_worker(0), crypto::MbManager::create().value());
  for (uint16_t port : {500, 4500})  // as IKE does: local delivery is fuzzed too
    if (!world->gateway->listen_udp(port)) std::abort();
  // libFuzzer ends with exit(): the gateway's shutdown then checks that no mbuf went missing.
  std::atexit(shut_down);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  size_t at = 0;
  for (unsigned frames = 0; frames < 32 && at + 3 <= size; ++frames) {
    bool public_side = data[at] & 1;
    size_t length = std::min<size_t>(static_cast<size_t>(data[at + 1]) << 8 | data[at + 2], size - at - 3);
    length = std::min<size_t>(length, 1600);
    at += 3;
    rte_mbuf* m = rte_pktmbuf_alloc(world->generator);
    if (m == nullptr) std::abort();
    char* room = rte_pktmbuf_append(m, static_cast<uint16_t>(length));
    if (room == nullptr) std::abort();
    if (length) std::memcpy(room, data + at, length);
    at += length;
    uint16_t port = public_side ? world->outside.b : world->inside.b;
    if (rte_eth_tx_burst(port, 0, &m, 1) != 1) rte_pktmbuf_free(m);
  }
  world->worker->poll_once();
  world->gateway->control_poll();
  world->worker->poll_once();
  drain(world->inside.b);
  drain(world->outside.b);
  return 0;
}
