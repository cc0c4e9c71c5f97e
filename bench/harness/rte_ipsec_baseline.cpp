#include "bench/harness/rte_ipsec_baseline.hpp"

#include <rte_bus_vdev.h>
#include <rte_cryptodev.h>
#include <rte_cycles.h>
#include <rte_ip.h>
#include <rte_ipsec.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "dataplane/esp_outbound.hpp"

namespace rampart::bench {

namespace {

constexpr const char* kDevice = "crypto_aesni_gcm_bench";
constexpr uint16_t kIvOffset = sizeof(rte_crypto_op) + sizeof(rte_crypto_sym_op);

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "rampart-bench: rte_ipsec baseline: %s\n", what);
  std::exit(1);
}

// The aesni_gcm crypto device, once per process.
struct CryptoDevice {
  uint8_t id = 0;
  static CryptoDevice& get() {
    static CryptoDevice device = [&] {
      CryptoDevice d;
      if (rte_vdev_init(kDevice, nullptr) != 0) fail("cannot create the crypto_aesni_gcm device");
      int id = rte_cryptodev_get_dev_id(kDevice);
      if (id < 0) fail("no crypto device");
      d.id = static_cast<uint8_t>(id);
      rte_cryptodev_config conf{};
      conf.socket_id = SOCKET_ID_ANY;
      conf.nb_queue_pairs = 1;
      if (rte_cryptodev_configure(d.id, &conf) != 0) fail("cannot configure the crypto device");
      rte_cryptodev_qp_conf qp{};
      qp.nb_descriptors = 2048;
      if (rte_cryptodev_queue_pair_setup(d.id, 0, &qp, SOCKET_ID_ANY) != 0) fail("no queue pair");
      if (rte_cryptodev_start(d.id) != 0) fail("cannot start the crypto device");
      return d;
    }();
    return device;
  }
};

}  // namespace

struct RteIpsecBaseline::Side {
  std::vector<rte_ipsec_sa*> sas;
  std::vector<rte_ipsec_session> sessions;
  std::vector<void*> crypto_sessions;
  rte_mempool* session_pool = nullptr;
  ~Side() {
    for (void* s : crypto_sessions) rte_cryptodev_sym_session_free(CryptoDevice::get().id, s);
    rte_mempool_free(session_pool);
    for (rte_ipsec_sa* sa : sas) {
      rte_ipsec_sa_fini(sa);
      rte_free(sa);
    }
  }
};

RteIpsecBaseline::RteIpsecBaseline(const RunConfig& config, rte_mempool* pool)
    : config_(config), flows_(config_), pool_(pool) {
  CryptoDevice::get();
  outbound_ = make_side(Direction::kOutbound);
  if (config.mode == dp::SaMode::kTunnel) {
    inbound_ = make_side(Direction::kInbound);
    mb_ = std::make_unique<crypto::MbManager>(crypto::MbManager::create().value());
    for (unsigned i = 0; i < config.sas; ++i)
      peer_.push_back(std::move(dp::create_sa(*mb_, flows_.sa(i, dp::SaDirection::kOutbound, true)).value()));
  }
}

RteIpsecBaseline::~RteIpsecBaseline() = default;

std::unique_ptr<RteIpsecBaseline::Side> RteIpsecBaseline::make_side(Direction direction) {
  auto side = std::make_unique<Side>();
  CryptoDevice& device = CryptoDevice::get();
  static unsigned pools = 0;
  std::string pool_name = "rb_sessions_" + std::to_string(pools++);
  side->session_pool = rte_cryptodev_sym_session_pool_create(pool_name.c_str(), config_.sas + 64,
                                                             rte_cryptodev_sym_get_private_session_size(device.id),
                                                             0, 0, SOCKET_ID_ANY);
  if (side->session_pool == nullptr) fail("no session pool");
  bool out = direction == Direction::kOutbound;
  bool v4 = config_.family == dp::IpFamily::kIpv4;
  side->sessions.resize(config_.sas);
  for (unsigned i = 0; i < config_.sas; ++i) {
    dp::SaParams p = flows_.sa(i, out ? dp::SaDirection::kOutbound : dp::SaDirection::kInbound, false);
    rte_crypto_sym_xform aead{};
    aead.type = RTE_CRYPTO_SYM_XFORM_AEAD;
    aead.aead.op = out ? RTE_CRYPTO_AEAD_OP_ENCRYPT : RTE_CRYPTO_AEAD_OP_DECRYPT;
    aead.aead.algo = RTE_CRYPTO_AEAD_AES_GCM;
    aead.aead.key.data = reinterpret_cast<const uint8_t*>(p.key.data());
    aead.aead.key.length = p.key_length;
    aead.aead.iv.offset = kIvOffset;
    aead.aead.iv.length = 12;
    aead.aead.digest_length = 16;
    aead.aead.aad_length = 8;

    // The outer header rte_ipsec puts in front (tunnel mode), as our SA's template has it.
    uint8_t header[40] = {};
    uint8_t header_length = 0;
    if (v4) {
      auto* ip = reinterpret_cast<rte_ipv4_hdr*>(header);
      ip->version_ihl = 0x45;
      ip->time_to_live = 64;
      ip->next_proto_id = IPPROTO_ESP;
      std::memcpy(&ip->src_addr, p.tunnel_source.data(), 4);
      std::memcpy(&ip->dst_addr, p.tunnel_destination.data(), 4);
      header_length = 20;
    } else {
      auto* ip = reinterpret_cast<rte_ipv6_hdr*>(header);
      ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
      ip->proto = IPPROTO_ESP;
      ip->hop_limits = 64;
      std::memcpy(ip->src_addr, p.tunnel_source.data(), 16);
      std::memcpy(ip->dst_addr, p.tunnel_destination.data(), 16);
      header_length = 40;
    }
    rte_ipsec_sa_prm prm{};
    prm.ipsec_xform.spi = p.spi;
    std::memcpy(&prm.ipsec_xform.salt, p.salt.data(), 4);  // memory order
    prm.ipsec_xform.direction = out ? RTE_SECURITY_IPSEC_SA_DIR_EGRESS : RTE_SECURITY_IPSEC_SA_DIR_INGRESS;
    prm.ipsec_xform.proto = RTE_SECURITY_IPSEC_SA_PROTO_ESP;
    prm.ipsec_xform.replay_win_sz = out ? 0 : 4096;
    prm.crypto_xform = &aead;
    if (config_.mode == dp::SaMode::kTunnel) {
      prm.ipsec_xform.mode = RTE_SECURITY_IPSEC_SA_MODE_TUNNEL;
      prm.ipsec_xform.tunnel.type = v4 ? RTE_SECURITY_IPSEC_TUNNEL_IPV4 : RTE_SECURITY_IPSEC_TUNNEL_IPV6;
      prm.tun.hdr = header;
      prm.tun.hdr_len = header_length;
      prm.tun.hdr_l3_off = 0;
      prm.tun.next_proto = v4 ? IPPROTO_IPIP : IPPROTO_IPV6;
    } else {
      prm.ipsec_xform.mode = RTE_SECURITY_IPSEC_SA_MODE_TRANSPORT;
      prm.trs.proto = v4 ? IPPROTO_IPIP : IPPROTO_IPV6;  // rte_ipsec reads the IP version from it
    }
    int size = rte_ipsec_sa_size(&prm);
    if (size < 0) fail("rte_ipsec_sa_size refused the SA");
    auto* sa = static_cast<rte_ipsec_sa*>(rte_zmalloc("rb_ipsec_sa", static_cast<size_t>(size), RTE_CACHE_LINE_SIZE));
    if (sa == nullptr || rte_ipsec_sa_init(sa, &prm, static_cast<uint32_t>(size)) < 0) fail("rte_ipsec_sa_init failed");
    side->sas.push_back(sa);
    void* session = rte_cryptodev_sym_session_create(device.id, &aead, side->session_pool);
    if (session == nullptr) fail("no crypto session");
    side->crypto_sessions.push_back(session);
    rte_ipsec_session& ss = side->sessions[i];
    ss.sa = sa;
    ss.type = RTE_SECURITY_ACTION_TYPE_CPU_CRYPTO;
    ss.crypto.ses = static_cast<rte_cryptodev_sym_session*>(session);
    ss.crypto.dev_id = device.id;
    if (rte_ipsec_session_prepare(&ss) != 0) fail("rte_ipsec_session_prepare failed");
  }
  return side;
}

Measurement RteIpsecBaseline::run(Direction direction, const SizeSpec& size, const Slice& slice) {
  Measurement m;
  bool out = direction == Direction::kOutbound;
  Side& side = out ? *outbound_ : *inbound_;
  uint64_t budget = static_cast<uint64_t>(slice.seconds * static_cast<double>(rte_get_tsc_hz()));
  CounterTable peer_drops(dp::kDropReasonDefs, 1);
  dp::EspContext peer{mb_.get(), &peer_drops.lane(0), nullptr};
  uint8_t l3 = config_.family == dp::IpFamily::kIpv4 ? 20 : 40;
  const unsigned burst = config_.burst;
  uint64_t flow = slice.first_flow;
  while (m.cycles < budget) {
    rte_mbuf* pkts[dp::kMaxBurst];
    unsigned sa_of[dp::kMaxBurst];
    if (rte_pktmbuf_alloc_bulk(pool_, pkts, burst) != 0) std::abort();
    for (unsigned i = 0; i < burst; ++i, ++flow) {
      uint16_t length = size.lengths[flow % size.lengths.size()];
      m.ip_bytes += length;
      sa_of[i] = static_cast<unsigned>(flow % config_.sas);
      auto* inner = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(pkts[i], length));
      flows_.inner_packet(inner, length, static_cast<unsigned>(flow), out);
      if (!out) {
        dp::Burst one;
        one.pkts[0] = pkts[i];
        one.sa[0] = peer_[sa_of[i]].get();
        one.count = 1;
        if (dp::esp_outbound_burst(peer, one) != 1) std::abort();
      }
      pkts[i]->l2_len = 0;
      pkts[i]->l3_len = l3;
    }
    m.sent += burst;
    uint64_t t0 = rte_rdtsc_precise();
    for (unsigned begin = 0, end; begin < burst; begin = end) {  // runs of one SA, in order
      end = begin + 1;
      while (end < burst && sa_of[end] == sa_of[begin]) ++end;
      const rte_ipsec_session& ss = side.sessions[sa_of[begin]];
      auto n = static_cast<uint16_t>(end - begin);
      uint16_t prepared = rte_ipsec_pkt_cpu_prepare(&ss, pkts + begin, n);
      uint16_t done = rte_ipsec_pkt_process(&ss, pkts + begin, prepared);
      m.packets += done;
      m.dropped += n - done;
    }
    m.cycles += rte_rdtsc_precise() - t0;
    rte_pktmbuf_free_bulk(pkts, burst);
  }
  return m;
}

}  // namespace rampart::bench
