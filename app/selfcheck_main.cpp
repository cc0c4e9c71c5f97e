// rampart-selfcheck: proves this machine can run Rampart. It brings up EAL (hugepages if the
// kernel has them, else --no-huge), ipsec-mb (reporting the code path it chose), a pair of
// virtual ports joined by rings, and sends AES-GCM sealed packets from one port to the other,
// opening and checking every one on arrival. It is the stand-in main job until rampartd exists.
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <string>
#include <unistd.h>

#include "common/counters.hpp"
#include "common/log.hpp"
#include "console/counter_format.hpp"
#include "crypto/aes_gcm.hpp"
#include "crypto/mb_manager.hpp"
#include "dataplane/eal.hpp"
#include "dataplane/port.hpp"
#include "dataplane/udp_headers.hpp"

namespace {

using namespace rampart;

enum class Check : size_t { kSealed, kSent, kReceived, kOpened, kIcvFailed, kPayloadMismatch, kCount };
constexpr std::array<CounterDef, static_cast<size_t>(Check::kCount)> kCheckCounters{{
    {"sealed", "packets encrypted with AES-GCM-128 on port a"},
    {"sent", "packets port a transmitted"},
    {"received", "packets port b received"},
    {"opened", "packets whose ICV verified and whose payload matched"},
    {"icv_failed", "packets whose ICV did not verify"},
    {"payload_mismatch", "packets that verified but did not decrypt to what was sent"},
}};

constexpr unsigned kPackets = 4096;
constexpr uint16_t kBurst = 32;
constexpr uint16_t kPayloadLen = 1000;
constexpr size_t kHeaders = sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr);

uint8_t payload_byte(unsigned packet, size_t i) { return static_cast<uint8_t>(packet * 31 + i); }

// An IPv4/UDP frame from 192.0.2.1 to 198.51.100.1 (documentation ranges) whose payload is
// sealed in place: [iv 8][ciphertext][icv 16], with the packet number as the IV.
rte_mbuf* build_sealed(rte_mempool* pool, const crypto::MbManager& mgr, const crypto::GcmKey& key,
                       unsigned n) {
  constexpr size_t kUdpLen = sizeof(rte_udp_hdr) + crypto::kGcmIvLen + kPayloadLen + crypto::kGcmIcvLen;
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (m == nullptr) return nullptr;
  auto* frame = rte_pktmbuf_mtod(m, uint8_t*);
  if (rte_pktmbuf_append(m, kHeaders + kUdpLen - sizeof(rte_udp_hdr)) == nullptr) {
    rte_pktmbuf_free(m);
    return nullptr;
  }
  auto* eth = reinterpret_cast<rte_ether_hdr*>(frame);
  *eth = {};
  eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
  static const uint8_t kFrom[4] = {192, 0, 2, 1}, kTo[4] = {198, 51, 100, 1};
  auto* l3 = reinterpret_cast<uint8_t*>(eth + 1);
  dp::write_ipv4_udp(l3, {kFrom, kTo, 4500, 4500}, static_cast<uint16_t>(kUdpLen - sizeof(rte_udp_hdr)));
  auto* iv = l3 + dp::kIpv4UdpHeaders;
  uint64_t iv_value = n;
  std::memcpy(iv, &iv_value, sizeof iv_value);
  uint8_t* body = iv + crypto::kGcmIvLen;
  for (size_t i = 0; i < kPayloadLen; ++i) body[i] = payload_byte(n, i);
  const uint8_t aad[8] = {0, 0, 0x10, 0, 0, 0, 0, 1};
  crypto::AeadOp op{&key, body, body, kPayloadLen, iv, aad, sizeof aad, body + kPayloadLen};
  crypto::gcm_seal_burst(mgr, {&op, 1});
  return m;
}

void open_and_check(const crypto::MbManager& mgr, const crypto::GcmKey& key, rte_mbuf* m,
                    CounterTable::Lane& counters) {
  auto* udp = rte_pktmbuf_mtod_offset(m, rte_udp_hdr*, sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr));
  auto* iv = reinterpret_cast<uint8_t*>(udp + 1);
  uint8_t* body = iv + crypto::kGcmIvLen;
  const uint8_t aad[8] = {0, 0, 0x10, 0, 0, 0, 0, 1};
  crypto::AeadOp op{&key, body, body, kPayloadLen, iv, aad, sizeof aad, body + kPayloadLen};
  bool ok = false;
  crypto::gcm_open_burst(mgr, {&op, 1}, &ok);
  if (!ok) {
    counters.add(Check::kIcvFailed);
    return;
  }
  uint64_t n = 0;
  std::memcpy(&n, iv, sizeof n);
  for (size_t i = 0; i < kPayloadLen; ++i) {
    if (body[i] != payload_byte(static_cast<unsigned>(n), i)) {
      counters.add(Check::kPayloadMismatch);
      return;
    }
  }
  counters.add(Check::kOpened);
}

int run() {
  std::string prefix = "rampart_selfcheck_" + std::to_string(getpid());
  bool huge = dp::hugepages_available();
  std::vector<std::string> args = huge ? std::vector<std::string>{"rampart", "-l", "0", "--in-memory",
                                                                  "--no-pci", "--iova-mode=va",
                                                                  "--no-telemetry", "--log-level=lib.eal:error"}
                                       : dp::eal_args_without_hugepages(prefix);
  if (auto r = dp::eal_init(args); !r) {
    LOG_ERROR("selfcheck", "%s", r.message().c_str());
    return 1;
  }
  std::printf("EAL up: %u lcore(s), %s\n", rte_lcore_count(),
              huge ? "hugepages, in memory" : "no hugepages (--no-huge)");

  auto mgr = crypto::MbManager::create();
  if (!mgr) {
    LOG_ERROR("selfcheck", "%s", mgr.message().c_str());
    return 1;
  }
  std::printf("ipsec-mb %s: chose the %s code path\n", crypto::ipsec_mb_version(), mgr->arch_name());

  static crypto::GcmKey key;  // 64-byte aligned, larger than a stack frame should carry
  const std::byte raw_key[16] = {};
  const std::byte salt[4] = {std::byte{0xca}, std::byte{0xfe}, std::byte{0xba}, std::byte{0xbe}};
  if (auto r = crypto::gcm_key_init(*mgr, raw_key, salt, key); !r) {
    LOG_ERROR("selfcheck", "%s", r.message().c_str());
    return 1;
  }

  auto pool = dp::create_packet_pool("selfcheck_pool", 8191, static_cast<int>(rte_socket_id()));
  auto pair = dp::create_ring_port_pair("selfcheck", static_cast<int>(rte_socket_id()));
  if (!pool || !pair) {
    LOG_ERROR("selfcheck", "%s", (!pool ? pool.message() : pair.message()).c_str());
    return 1;
  }
  for (uint16_t port : {pair->a, pair->b}) {
    if (auto r = dp::start_port(port, *pool, 1); !r) {
      LOG_ERROR("selfcheck", "%s", r.message().c_str());
      return 1;
    }
  }
  std::printf("ports %u and %u up, joined by rings\n", pair->a, pair->b);

  CounterTable counters(kCheckCounters, 1);
  auto& lane = counters.lane(0);
  for (unsigned sent = 0; sent < kPackets; sent += kBurst) {
    rte_mbuf* burst[kBurst];
    uint16_t n = 0;
    for (; n < kBurst; ++n) {
      burst[n] = build_sealed(*pool, *mgr, key, sent + n);
      if (burst[n] == nullptr) break;
      lane.add(Check::kSealed);
    }
    uint16_t tx = rte_eth_tx_burst(pair->a, 0, burst, n);
    lane.add(Check::kSent, tx);
    rte_pktmbuf_free_bulk(burst + tx, n - tx);
    rte_mbuf* rx[kBurst];
    uint16_t got = rte_eth_rx_burst(pair->b, 0, rx, kBurst);
    lane.add(Check::kReceived, got);
    for (uint16_t i = 0; i < got; ++i) open_and_check(*mgr, key, rx[i], lane);
    rte_pktmbuf_free_bulk(rx, got);
  }

  std::printf("%s", console::format_counters_table(counters.snapshot(), true).c_str());
  bool passed = counters.sum(Check::kOpened) == kPackets;
  unsigned in_use = rte_mempool_in_use_count(*pool);
  dp::close_ring_port_pair(*pair);
  rte_mempool_free(*pool);
  dp::eal_cleanup(prefix);
  if (in_use != 0) {
    std::printf("FAIL: %u mbufs not returned to the pool\n", in_use);
    return 1;
  }
  std::printf("%s: %llu of %u packets sealed, carried between the ports and opened intact.\n",
              passed ? "PASS" : "FAIL", static_cast<unsigned long long>(counters.sum(Check::kOpened)), kPackets);
  std::printf("This is the self-check of EAL, ipsec-mb and ring ports; scripts/demo runs the gateways themselves.\n");
  return passed ? 0 : 1;
}

}  // namespace

int main() {
  try {
    return run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rampart-selfcheck: %s\n", e.what());
    return 1;
  }
}
