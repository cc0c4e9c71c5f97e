// Interop with scapy's ESP (Debian python3-scapy), a peer nobody here wrote: for every mode and
// family (4in4 and 6in4, 4in6 and 6in6, IPv4 and IPv6 transport), AES-GCM-128 and -256, with and
// without ESN, with and without NAT-T, scapy encrypts and we decrypt, and we encrypt and scapy
// decrypts; both must give back the original packets byte for byte. All the scapy work runs in one
// Python process (tests/interop/scapy_esp.py batch), since importing scapy takes a second.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/dataplane/esp_harness.hpp"

using namespace rampart;
using namespace rampart::test;
namespace fs = std::filesystem;

namespace {

struct Case {
  dp::SaMode mode;
  dp::IpFamily family;
  unsigned key_length;
  bool esn;
  bool nat_t;
  std::string name;
  SaPair pair;
  std::vector<Bytes> plain;
  std::vector<Bytes> ours;  // our outbound's output
};

std::string ip_text(const std::array<uint8_t, 16>& a, dp::IpFamily family) {
  char buf[64];
  if (family == dp::IpFamily::kIpv4) {
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
  } else {
    std::snprintf(buf, sizeof buf, "2001:db8:%x::%x", a[4] << 8 | a[5], a[15]);
  }
  return buf;
}

std::string spec_json(const Case& c, uint64_t seq_start) {
  const dp::SaParams& p = c.pair.out;
  Bytes key(reinterpret_cast<const uint8_t*>(p.key.data()), reinterpret_cast<const uint8_t*>(p.key.data()) + p.key_length);
  for (std::byte b : p.salt) key.push_back(static_cast<uint8_t>(b));
  std::ostringstream j;
  j << "{\"spi\": " << p.spi << ", \"cipher\": \"aes-gcm-" << p.key_length * 8 << "\", \"key\": \"" << to_hex(key)
    << "\", \"mode\": \"" << (p.mode == dp::SaMode::kTunnel ? "tunnel" : "transport") << "\"";
  if (p.mode == dp::SaMode::kTunnel)
    j << ", \"tunnel_src\": \"" << ip_text(p.tunnel_source, p.family) << "\", \"tunnel_dst\": \""
      << ip_text(p.tunnel_destination, p.family) << "\"";
  j << ", \"esn\": " << (p.esn ? "true" : "false") << ", \"seq_start\": " << seq_start;
  if (p.nat_t) j << ", \"nat_t\": {\"sport\": 4500, \"dport\": 4500}";
  j << "}";
  return j.str();
}

void write_lines(const fs::path& path, const std::vector<Bytes>& packets) {
  std::ofstream f(path);
  for (const Bytes& p : packets) f << to_hex(p) << "\n";
}

std::vector<std::string> read_lines(const fs::path& path) {
  std::ifstream f(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(f, line);) lines.push_back(line);
  return lines;
}

std::vector<Bytes> packets_for(dp::SaMode mode, dp::IpFamily family) {
  std::vector<Bytes> out;
  for (uint16_t i = 0; i < 4; ++i) {
    UdpSpec v4spec{v4(192, 0, 2, 10), v4(203, 0, 113, 20), static_cast<uint16_t>(100 + 7 * i)};
    UdpSpec v6spec{v6(1, 0x10), v6(2, 0x20), static_cast<uint16_t>(100 + 7 * i)};
    bool inner_v6 = mode == dp::SaMode::kTunnel ? i % 2 == 1 : family == dp::IpFamily::kIpv6;
    out.push_back(inner_v6 ? ipv6_udp(v6spec) : ipv4_udp(v4spec));
  }
  return out;
}

}  // namespace

TEST_CASE("interop with scapy's ESP both ways, every mode, family, key size, ESN and NAT-T", "[dp][esp][scapy]") {
  constexpr uint64_t kPlainStart = 1;
  constexpr uint64_t kEsnStart = 0x1'00000005ull;  // ESN: high bits 1, so the AAD differs from non-ESN
  EspHarness h;
  fs::path dir = fs::temp_directory_path() / ("rampart_scapy_" + std::to_string(getpid()));
  fs::create_directories(dir);

  std::vector<Case> cases;
  std::ofstream jobs(dir / "jobs");
  for (auto [mode, family] : {std::pair{dp::SaMode::kTunnel, dp::IpFamily::kIpv4}, std::pair{dp::SaMode::kTunnel, dp::IpFamily::kIpv6},
                              std::pair{dp::SaMode::kTransport, dp::IpFamily::kIpv4},
                              std::pair{dp::SaMode::kTransport, dp::IpFamily::kIpv6}})
    for (unsigned key_length : {16u, 32u})
      for (bool esn : {false, true})
        for (bool nat_t : {false, true}) {
          Case c{mode, family, key_length, esn, nat_t, "", make_sa_pair(mode, family, key_length, esn, nat_t), {}, {}};
          c.name = std::string(mode == dp::SaMode::kTunnel ? "tunnel" : "transport") +
                   (family == dp::IpFamily::kIpv4 ? "4" : "6") + "_aes" + std::to_string(key_length * 8) +
                   (esn ? "_esn" : "") + (nat_t ? "_natt" : "");
          uint64_t start = esn ? kEsnStart : kPlainStart;
          c.pair.out.initial_seq = c.pair.in.initial_seq = start - 1;
          c.plain = packets_for(mode, family);
          auto out = h.sa(c.pair.out);
          Processed sealed = h.outbound(*out, c.plain);
          REQUIRE(sealed.good.size() == c.plain.size());
          c.ours = sealed.good;
          std::ofstream(dir / (c.name + ".json")) << spec_json(c, start);
          write_lines(dir / (c.name + ".plain"), c.plain);
          write_lines(dir / (c.name + ".ours"), c.ours);
          jobs << "encrypt " << (dir / (c.name + ".json")).string() << " " << (dir / (c.name + ".plain")).string() << " "
               << (dir / (c.name + ".scapy_esp")).string() << "\n";
          jobs << "decrypt " << (dir / (c.name + ".json")).string() << " " << (dir / (c.name + ".ours")).string() << " "
               << (dir / (c.name + ".scapy_plain")).string() << "\n";
          cases.push_back(std::move(c));
        }
  jobs.close();

  std::string command = "/usr/bin/python3 " RAMPART_SOURCE_DIR "/tests/interop/scapy_esp.py batch --jobs " +
                        (dir / "jobs").string();
  int status = std::system(command.c_str());
  REQUIRE(status == 0);

  // Plain loops, not SECTIONs: Catch2 reruns a test case per section, which would rerun Python.
  for (Case& c : cases) {
    INFO(c.name);
    // We encrypted, scapy decrypted.
    auto scapy_plain = read_lines(dir / (c.name + ".scapy_plain"));
    CHECK(scapy_plain.size() == c.plain.size());
    for (size_t i = 0; i < c.plain.size() && i < scapy_plain.size(); ++i) CHECK(scapy_plain[i] == to_hex(c.plain[i]));

    // Scapy encrypted, we decrypt.
    std::vector<Bytes> theirs;
    for (const std::string& line : read_lines(dir / (c.name + ".scapy_esp"))) theirs.push_back(hex_bytes(line.c_str()));
    CHECK(theirs.size() == c.plain.size());
    auto in = h.sa(c.pair.in);
    Processed opened = h.inbound(*in, theirs);
    CHECK(opened.dropped.empty());
    CHECK(opened.good == c.plain);
  }
  fs::remove_all(dir);
  CHECK(mbufs_in_use() == 0);
}
