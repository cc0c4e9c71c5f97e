// IkeService on a real Gateway (ring ports, a worker stepped by hand) against an in-process
// peer IKE SA whose datagrams cross the gateway's public port as Ethernet frames: the CHILD_SA
// agreed lands in the data plane, and make-before-break holds IKE's answer until every worker
// has taken the new inbound SA (RFC 7296 2.8: the peer may use it as soon as it reads the answer).
#include <catch2/catch.hpp>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <chrono>
#include <cstring>
#include <optional>

#include "app/ike_service.hpp"
#include "config/config.hpp"
#include "dataplane/gateway.hpp"
#include "dataplane/port.hpp"
#include "dataplane/worker.hpp"
#include "ike/ike_sa.hpp"
#include "ike/proposal.hpp"
#include "tests/support/packets.hpp"
#include "tests/support/ring_site.hpp"
#include "tests/support/specs.hpp"

using namespace rampart;
using test::ip4;
using test::kPeerMac;
using test::Bytes;

namespace {

constexpr const char* kPsk = "a pre-shared key for the IKE service test";

const char* kConfig =
    "connections = ( { name = \"site\"; local = \"198.51.100.1\"; remote = \"198.51.100.2\";\n"
    "  local_id = \"gw1.example.net\"; remote_id = \"gw2.example.net\"; psk = \"a pre-shared key for the IKE service test\";\n"
    "  local_ts = \"192.0.2.0/24\"; remote_ts = \"203.0.113.0/24\"; } );\n";

ike::Bytes bytes(const std::vector<uint8_t>& v) {
  return ike::Bytes(reinterpret_cast<const std::byte*>(v.data()), reinterpret_cast<const std::byte*>(v.data()) + v.size());
}
ike::Bytes ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return {std::byte{a}, std::byte{b}, std::byte{c}, std::byte{d}}; }

ike::PeerConfig peer_config() {
  ike::PeerConfig c;
  c.local_id = "gw2.example.net";
  c.remote_id = "gw1.example.net";
  c.psk = bytes(std::vector<uint8_t>(kPsk, kPsk + std::strlen(kPsk)));
  c.ike_suites = {ike::parse_suite("aes128gcm16-prfsha256-ecp256", 1).value()};
  c.esp_suites = {ike::parse_suite("aes128gcm16", 3).value()};
  c.local_ts = {7, 0, 0, 65535, ipv4(203, 0, 113, 0), ipv4(203, 0, 113, 255)};
  c.remote_ts = {7, 0, 0, 65535, ipv4(192, 0, 2, 0), ipv4(192, 0, 2, 255)};
  return c;
}

uint64_t now_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

class ServiceBench {
 public:
  ServiceBench() {
    auto site = test::RingSite::create("ikes");
    INFO((site.ok() ? "" : site.message()));
    REQUIRE(site.ok());
    site_.emplace(std::move(*site));
    in_ = site_->inside;
    out_ = site_->outside;
    dp::GatewaySpec spec = site_->spec();
    dp::NeighbourSpec peer;
    peer.address = ip4(198, 51, 100, 2);
    std::memcpy(peer.mac.data(), kPeerMac.addr_bytes, 6);
    spec.neighbours = {peer};
    auto gw = dp::Gateway::create(spec);
    INFO((gw.ok() ? "" : gw.message()));
    REQUIRE(gw.ok());
    gw_ = std::move(*gw);
    worker_ = std::make_unique<dp::Worker>(gw_->attach_worker(0), crypto::MbManager::create().value());
    REQUIRE(app::IkeService::listen(*gw_).ok());
    auto config = cfg::load_config_string(kConfig, "ike_service_test.conf");
    INFO((config.ok() ? "" : config.message()));
    REQUIRE(config.ok());
    auto service = app::IkeService::create(*config);
    REQUIRE(service.ok());
    service_.emplace(std::move(*service));
    rte_eth_macaddr_get(out_.a, &gateway_mac_);
  }
  ~ServiceBench() {
    service_.reset();
    receive_all();
    CHECK(gw_->shutdown() == 0);
    site_->close();
    worker_.reset();
    gw_.reset();
  }

  // The peer's datagrams as frames to the gateway's public port, UDP 500 -> 500.
  void send_from_peer() {
    for (const ike::Bytes& d : peer_.take_outbox()) {
      test::UdpSpec spec{test::v4(198, 51, 100, 2), test::v4(198, 51, 100, 1), static_cast<uint16_t>(d.size())};
      Bytes ip = test::ipv4_udp(spec);
      auto* iph = reinterpret_cast<rte_ipv4_hdr*>(ip.data());
      auto* udp = reinterpret_cast<rte_udp_hdr*>(iph + 1);
      udp->src_port = udp->dst_port = rte_cpu_to_be_16(500);
      std::memcpy(ip.data() + 28, d.data(), d.size());
      udp->dgram_cksum = 0;
      udp->dgram_cksum = rte_ipv4_udptcp_cksum(iph, udp);
      Bytes frame(14 + ip.size());
      std::memcpy(frame.data(), gateway_mac_.addr_bytes, 6);
      std::memcpy(frame.data() + 6, kPeerMac.addr_bytes, 6);
      frame[12] = 0x08;
      std::copy(ip.begin(), ip.end(), frame.begin() + 14);
      rte_mbuf* m = test::to_mbuf(frame);
      REQUIRE(m != nullptr);
      REQUIRE(rte_eth_tx_burst(out_.b, 0, &m, 1) == 1);
    }
  }
  // IKE the gateway sent, to the peer.
  size_t receive_all() {
    size_t n = 0;
    rte_mbuf* m[32];
    uint16_t got;
    while ((got = rte_eth_rx_burst(out_.b, 0, m, 32)) > 0) {
      for (uint16_t i = 0; i < got; ++i) {
        Bytes frame = test::from_mbuf(m[i]);
        if (frame.size() > 14 + 28 && frame[12] == 0x08 && frame[14 + 9] == IPPROTO_UDP) {
          ike::Bytes payload = bytes(Bytes(frame.begin() + 14 + 28, frame.end()));
          (void)peer_.receive(payload, {ipv4(198, 51, 100, 2), ipv4(198, 51, 100, 1), 500, 500}, now_ms());
          ++n;
        }
      }
      rte_pktmbuf_free_bulk(m, got);
    }
    in_rx_drain();
    return n;
  }
  void in_rx_drain() {
    rte_mbuf* m[32];
    uint16_t got;
    while ((got = rte_eth_rx_burst(in_.b, 0, m, 32)) > 0) rte_pktmbuf_free_bulk(m, got);
  }
  // One round: the peer's datagrams in, the worker, the control core and IKE, the worker again
  // (it sends what the control core queued), the gateway's answers to the peer.
  void round() {
    send_from_peer();
    worker_->poll_once();
    gw_->control_poll();
    service_->poll(*gw_);
    worker_->poll_once();
    receive_all();
    peer_.tick(now_ms());
  }
  bool has_sa(uint32_t spi) {
    for (const dp::SaSnapshot& s : gw_->sa_snapshot())
      if (s.params->spi == spi && !s.lingering) return true;
    return false;
  }

  std::optional<test::RingSite> site_;
  dp::PortPair in_{}, out_{};  // site_'s, for short
  std::unique_ptr<dp::Gateway> gw_;
  std::unique_ptr<dp::Worker> worker_;
  std::optional<app::IkeService> service_;
  ike::IkeSa peer_ = ike::IkeSa::initiator(peer_config(), {ipv4(198, 51, 100, 2), ipv4(198, 51, 100, 1), 500, 500});
  rte_ether_addr gateway_mac_{};
};

}  // namespace

TEST_CASE_METHOD(ServiceBench, "IKE's answers leave only once the SAs they announce are in every worker", "[app][ike]") {
  // --> IKE_SA_INIT, <-- IKE_SA_INIT: nothing installed, nothing held.
  REQUIRE(peer_.start(now_ms()).ok());
  for (int i = 0; i < 50 && peer_.state() != ike::IkeState::kAuthSent; ++i) round();
  REQUIRE(peer_.state() == ike::IkeState::kAuthSent);
  CHECK(service_->held_datagrams() == 0);

  // IKE_AUTH { IDi, AUTH, SA, TSi, TSr } -->: the CHILD_SA's SAs and policies are installed; the
  // policies and the outbound SA reach the worker over its ring, so the answer waits for it.
  send_from_peer();
  worker_->poll_once();  // the request to the control core
  gw_->control_poll();
  service_->poll(*gw_);
  CHECK(gw_->sa_snapshot().size() == 2);
  CHECK(service_->held_datagrams() == 1);
  CHECK_FALSE(gw_->updates_delivered());
  gw_->control_poll();
  service_->poll(*gw_);  // still held: the worker has not taken the change
  CHECK(service_->held_datagrams() == 1);
  worker_->poll_once();  // takes the change first thing in its pass
  CHECK(gw_->updates_delivered());
  service_->poll(*gw_);  // <-- IKE_AUTH { IDr, AUTH, SA, TSi, TSr }, now
  CHECK(service_->held_datagrams() == 0);
  worker_->poll_once();
  CHECK(receive_all() == 1);
  REQUIRE(peer_.state() == ike::IkeState::kEstablished);
  REQUIRE(peer_.child().has_value());
  CHECK(has_sa(peer_.child()->outbound_spi));  // the gateway receives on what the peer sends with

  // CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, TSi, TSr } -->: the new inbound SA goes into the
  // SAD, which workers read directly, before the answer is handed to the gateway.
  uint32_t old_spi = peer_.child()->outbound_spi;
  peer_.rekey_child();
  send_from_peer();
  worker_->poll_once();
  gw_->control_poll();
  service_->poll(*gw_);
  CHECK(gw_->sa_snapshot().size() == 3);  // the new inbound SA beside the old pair
  worker_->poll_once();  // <-- CREATE_CHILD_SA { SA, Nr, TSi, TSr }
  CHECK(receive_all() == 1);
  REQUIRE(peer_.child().has_value());
  CHECK(peer_.child()->outbound_spi != old_spi);
  CHECK(has_sa(peer_.child()->outbound_spi));
  for (int i = 0; i < 5; ++i) round();  // the old SA's Delete and its answer
  CHECK(service_->held_datagrams() == 0);
}

namespace {
std::vector<std::string> g_lines;  // what the service told the operator, while a test listens
void keep_line(LogLevel, const char* module, const char* message) noexcept {
  g_lines.push_back(std::string(module) + ": " + message);
}
}  // namespace

TEST_CASE_METHOD(ServiceBench, "A CP request the gateway does not serve is counted and logged, and the tunnel stands",
                 "[app][ike]") {
  ike::PeerConfig client = peer_config();
  client.request_address = true;
  peer_ = ike::IkeSa::initiator(client, {ipv4(198, 51, 100, 2), ipv4(198, 51, 100, 1), 500, 500});
  g_lines.clear();
  set_log_sink(keep_line);
  REQUIRE(peer_.start(now_ms()).ok());
  for (int i = 0; i < 50 && peer_.state() != ike::IkeState::kEstablished; ++i) round();
  set_log_sink(nullptr);
  REQUIRE(peer_.state() == ike::IkeState::kEstablished);
  CHECK(peer_.child().has_value());  // 3.15.4: no CP in the answer, the CHILD_SA all the same
  auto status = service_->status();
  REQUIRE(status.size() == 1);
  CHECK(status[0].state == "established");
  CHECK(status[0].counters.cp_unanswered == 1);
  CHECK(std::count_if(g_lines.begin(), g_lines.end(), [](const std::string& l) {
          return l.find("ike: site: the peer asked for an inside address") == 0;
        }) == 1);
}

TEST_CASE_METHOD(ServiceBench, "A refused IKE_SA_INIT is counted and logged", "[app][ike]") {
  ike::PeerConfig stranger = peer_config();
  stranger.ike_suites = {ike::parse_suite("aes256gcm16-prfsha384-ecp384", 1).value()};  // the gateway offers ecp256 only
  peer_ = ike::IkeSa::initiator(stranger, {ipv4(198, 51, 100, 2), ipv4(198, 51, 100, 1), 500, 500});
  g_lines.clear();
  set_log_sink(keep_line);
  REQUIRE(peer_.start(now_ms()).ok());
  for (int i = 0; i < 10 && service_->totals().bad_init == 0; ++i) round();
  set_log_sink(nullptr);
  CHECK(service_->totals().bad_init == 1);
  CHECK(peer_.state() != ike::IkeState::kEstablished);
  CHECK(std::count_if(g_lines.begin(), g_lines.end(), [](const std::string& l) {
          return l.find("ike: site: an IKE_SA_INIT refused") == 0;
        }) == 1);
}
