// The ESP packets of draft-mcgrew-gcm-test-01: our inbound decrypts each to the published inner
// packet, and our outbound, given the same SA, SPI, sequence number and IV, produces the published
// ESP packet byte for byte. The draft's packets carry next header 1 whatever they hold, so they
// run through transport-mode SAs behind an IPv4 header made up here (192.0.2.1 -> 192.0.2.2).
// Packet 4 uses SPI 0, which RFC 4303 section 2.1 reserves; installing it must fail, and does.
#include <catch2/catch.hpp>

#include "dataplane/wire_headers.hpp"
#include "tests/dataplane/esp_harness.hpp"
#include "tests/vectors/esp_gcm_packet_vectors.hpp"

using namespace rampart;
using namespace rampart::test;

namespace {

Bytes ipv4_header(uint8_t protocol, size_t payload_length) {
  Bytes h(20);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(h.data());
  ip->version_ihl = 0x45;
  ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(20 + payload_length));
  ip->time_to_live = 64;
  ip->next_proto_id = protocol;
  ip->src_addr = rte_cpu_to_be_32(RTE_IPV4(192, 0, 2, 1));
  ip->dst_addr = rte_cpu_to_be_32(RTE_IPV4(192, 0, 2, 2));
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  return h;
}

Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

dp::SaParams params_for(const EspGcmPacketVector& v, dp::SaDirection direction) {
  dp::SaParams p;
  p.spi = v.spi;
  p.direction = direction;
  p.mode = dp::SaMode::kTransport;
  p.family = dp::IpFamily::kIpv4;
  Bytes key = hex_bytes(v.key);
  Bytes salt = hex_bytes(v.salt);
  p.key_length = static_cast<uint8_t>(key.size());
  std::memcpy(p.key.data(), key.data(), key.size());
  std::memcpy(p.salt.data(), salt.data(), 4);
  p.esn = v.esn;
  p.initial_seq = v.seq - 1;  // outbound: the next packet is v.seq; inbound: the window sits just below it
  Bytes iv = hex_bytes(v.iv);
  uint64_t iv_value = 0;
  for (uint8_t b : iv) iv_value = iv_value << 8 | b;
  p.iv_offset = iv_value - v.seq;  // IV = seq + offset, so this SA reproduces the draft's IV
  return p;
}

// SPI || low 32 bits of seq || IV || ciphertext || ICV: the ESP packet as the draft prints it.
Bytes esp_packet(const EspGcmPacketVector& v) {
  Bytes esp(8);
  for (int i = 0; i < 4; ++i) esp[i] = static_cast<uint8_t>(v.spi >> (24 - 8 * i));
  for (int i = 0; i < 4; ++i) esp[4 + i] = static_cast<uint8_t>(v.seq >> (24 - 8 * i));
  return concat(concat(esp, hex_bytes(v.iv)), hex_bytes(v.ciphertext_and_icv));
}

bool reserved_spi(const EspGcmPacketVector& v) { return v.spi < 256; }

}  // namespace

TEST_CASE("the vector with a reserved SPI is refused at install, and it is the only one", "[dp][esp][vectors]") {
  EspHarness h;
  size_t refused = 0;
  for (const auto& v : kEspGcmPacketVectors) {
    auto r = dp::create_sa(h.mb(), params_for(v, dp::SaDirection::kInbound));
    if (!reserved_spi(v)) continue;
    ++refused;
    REQUIRE_FALSE(r.ok());
    CHECK(r.message() == "SPI 0 is reserved (RFC 4303 section 2.1)");
  }
  CHECK(refused == 1);
}

TEST_CASE("draft-mcgrew-gcm-test-01 packets decrypt to the published inner packets", "[dp][esp][vectors]") {
  for (const auto& v : kEspGcmPacketVectors) {
    if (reserved_spi(v)) continue;
    DYNAMIC_SECTION(v.name) {
      EspHarness h;
      auto in = h.sa(params_for(v, dp::SaDirection::kInbound));
      Bytes esp = esp_packet(v);
      Processed p = h.inbound(*in, {concat(ipv4_header(dp::ip_proto::kEsp, esp.size()), esp)});
      REQUIRE(p.dropped.empty());
      REQUIRE(p.good.size() == 1);
      Bytes inner = hex_bytes(v.inner_packet);
      CHECK(p.good[0] == concat(ipv4_header(v.next_header, inner.size()), inner));
      CHECK(in->window->top() == v.seq);
      CHECK(mbufs_in_use() == 0);
    }
  }
}

TEST_CASE("our outbound reproduces the published ESP packets byte for byte", "[dp][esp][vectors]") {
  for (const auto& v : kEspGcmPacketVectors) {
    if (reserved_spi(v)) continue;
    DYNAMIC_SECTION(v.name) {
      EspHarness h;
      auto out = h.sa(params_for(v, dp::SaDirection::kOutbound));
      Bytes inner = hex_bytes(v.inner_packet);
      Processed p = h.outbound(*out, {concat(ipv4_header(v.next_header, inner.size()), inner)});
      REQUIRE(p.dropped.empty());
      REQUIRE(p.good.size() == 1);
      Bytes esp = esp_packet(v);
      CHECK(p.good[0] == concat(ipv4_header(dp::ip_proto::kEsp, esp.size()), esp));
      CHECK(mbufs_in_use() == 0);
    }
  }
}

TEST_CASE("a vector with one bit flipped anywhere is refused", "[dp][esp][vectors]") {
  const auto& v = kEspGcmPacketVectors[0];
  Bytes esp = esp_packet(v);
  for (size_t at = 4; at < esp.size(); at += 7) {  // every 7th byte past the SPI
    EspHarness h;
    auto in = h.sa(params_for(v, dp::SaDirection::kInbound));
    Bytes forged = esp;
    forged[at] ^= 0x01;
    Processed p = h.inbound(*in, {concat(ipv4_header(dp::ip_proto::kEsp, forged.size()), forged)});
    CHECK(p.good.empty());
    CHECK(in->window->top() == v.seq - 1);
  }
  CHECK(mbufs_in_use() == 0);
}
