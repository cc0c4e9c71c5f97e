// libFuzzer target for the inbound ESP path. The first input byte picks one of the SAs below and
// how to use the rest:
//   even: the rest is a whole packet as received (outer headers, NAT-T, ESP framing, lengths);
//   odd:  the rest is a plaintext ESP payload with whatever trailer it has, sealed here with the
//         SA's key into a well-formed packet, so that decryption succeeds and the fuzzer reaches
//         the trailer, padding and inner-packet checks that a forged ICV never gets to.
// Whatever comes in, esp_inbound_burst must return, count every drop once and leak no mbuf.
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <memory>
#include <vector>

#include "crypto/aes_gcm.hpp"
#include "dataplane/eal.hpp"
#include "dataplane/esp_inbound.hpp"
#include "dataplane/port.hpp"
#include "dataplane/sa.hpp"
#include "dataplane/wire_headers.hpp"

namespace {

using namespace rampart;

struct World {
  rte_mempool* pool;
  std::unique_ptr<crypto::MbManager> mb;
  std::unique_ptr<CounterTable> drops;
  std::vector<std::unique_ptr<dp::SaRuntime>> sas;
  dp::EspContext ctx;
};

World* world;

dp::SaParams params(dp::SaMode mode, dp::IpFamily family, bool esn, bool nat_t, uint32_t window) {
  dp::SaParams p;
  p.spi = 0x1001;
  p.direction = dp::SaDirection::kInbound;
  p.mode = mode;
  p.family = family;
  p.esn = esn;
  p.nat_t = nat_t;
  p.replay_window = window;
  p.key_length = 16;
  return p;
}

// Wraps a plaintext into an IPv4 (or IPv6) ESP packet for sa, sealed with its key.
std::vector<uint8_t> seal(const dp::SaRuntime& sa, const uint8_t* plain, size_t length, uint32_t seq) {
  bool v6 = sa.params.family == dp::IpFamily::kIpv6;
  size_t ip = v6 ? 40 : 20;
  size_t udp = sa.nat_t() ? 8 : 0;
  length &= ~size_t{3};  // the payload of a well-formed packet ends 4-aligned
  std::vector<uint8_t> p(ip + udp + 16 + length + 16);
  if (v6) {
    p[0] = 0x60;
    p[4] = static_cast<uint8_t>((p.size() - 40) >> 8);
    p[5] = static_cast<uint8_t>(p.size() - 40);
    p[6] = sa.nat_t() ? dp::ip_proto::kUdp : dp::ip_proto::kEsp;
    p[7] = 64;
  } else {
    p[0] = 0x45;
    p[2] = static_cast<uint8_t>(p.size() >> 8);
    p[3] = static_cast<uint8_t>(p.size());
    p[8] = 64;
    p[9] = sa.nat_t() ? dp::ip_proto::kUdp : dp::ip_proto::kEsp;
  }
  if (udp) {
    p[ip + 2] = 0x11;  // port 4500
    p[ip + 3] = 0x94;
    p[ip + 4] = static_cast<uint8_t>((p.size() - ip) >> 8);
    p[ip + 5] = static_cast<uint8_t>(p.size() - ip);
  }
  uint8_t* esp = p.data() + ip + udp;
  std::memcpy(esp, &sa.spi, 4);
  uint32_t seq_be = rte_cpu_to_be_32(seq);
  std::memcpy(esp + 4, &seq_be, 4);
  std::memcpy(esp + 16, plain, length);
  uint8_t aad[12];
  std::memcpy(aad, esp, 4);
  std::memset(aad + 4, 0, 4);
  std::memcpy(aad + 8, esp + 4, 4);
  crypto::AeadOp op{&sa.key, esp + 16, esp + 16, static_cast<uint32_t>(length), esp + 8,
                    sa.esn ? aad : esp, sa.esn ? 12u : 8u, esp + 16 + length};
  crypto::gcm_seal_burst(*world->mb, {&op, 1});
  return p;
}

}  // namespace

std::string g_prefix;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_prefix = "rampart_fuzz_" + std::to_string(getpid());
  if (!dp::eal_init(dp::eal_args_without_hugepages(g_prefix))) std::abort();
  // libFuzzer ends with exit(): take EAL's run directory (/var/run/dpdk/<prefix>) with it.
  std::atexit([] { std::filesystem::remove_all(std::filesystem::path("/var/run/dpdk") / g_prefix); });
  world = new World;
  world->pool = dp::create_packet_pool("fuzz_pool", 1023, static_cast<int>(rte_socket_id())).value();
  world->mb = std::make_unique<crypto::MbManager>(crypto::MbManager::create().value());
  world->drops = std::make_unique<CounterTable>(dp::kDropReasonDefs, 1);
  for (auto p : {params(dp::SaMode::kTunnel, dp::IpFamily::kIpv4, false, false, 64),
                 params(dp::SaMode::kTunnel, dp::IpFamily::kIpv6, true, true, 4096),
                 params(dp::SaMode::kTransport, dp::IpFamily::kIpv4, false, true, 32),
                 params(dp::SaMode::kTransport, dp::IpFamily::kIpv6, true, false, 1024),
                 params(dp::SaMode::kTunnel, dp::IpFamily::kIpv4, false, true, 0)})  // anti-replay off
    world->sas.push_back(std::move(dp::create_sa(*world->mb, p).value()));
  world->ctx = dp::EspContext{world->mb.get(), &world->drops->lane(0), nullptr};
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 1900) return -1;
  dp::SaRuntime& sa = *world->sas[(data[0] >> 1) % world->sas.size()];
  std::vector<uint8_t> packet;
  static uint32_t seq = 1;
  if (data[0] & 1)
    packet = seal(sa, data + 1, size - 1, seq++);
  else
    packet.assign(data + 1, data + size);

  dp::Burst burst;
  rte_mbuf* m = rte_pktmbuf_alloc(world->pool);
  char* room = rte_pktmbuf_append(m, static_cast<uint16_t>(packet.size()));
  if (room == nullptr) std::abort();
  if (!packet.empty()) std::memcpy(room, packet.data(), packet.size());
  burst.pkts[0] = m;
  burst.sa[0] = &sa;
  burst.count = 1;
  uint16_t good = dp::esp_inbound_burst(world->ctx, burst);
  if (good > 1) std::abort();
  if (good == 1 && rte_pktmbuf_data_len(burst.pkts[0]) > packet.size()) std::abort();  // output never grows
  rte_pktmbuf_free_bulk(burst.pkts, burst.count);
  if (rte_mempool_in_use_count(world->pool) != 0) std::abort();
  return 0;
}
