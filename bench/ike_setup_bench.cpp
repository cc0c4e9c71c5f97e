// ike-bench: IKE SA + CHILD_SA setups per second on one core, as the responder sees them.
// An in-process initiator (ike::IkeSa, the same code) drives IKE_SA_INIT and IKE_AUTH with a
// pre-shared key against a fresh responder each time; only the responder's work is timed (its two
// receive() calls: DH, key derivation, the SK payload both ways, AUTH, the CHILD_SA's keys), so
// the figure is what one control core could answer. The initiator's share is reported beside it.
// Each suite twice: a fresh responder key pair per setup, and one reused for up to a second (RFC
// 7296 2.12, PeerConfig::dh_reuse_ms).
//   ike-bench [--seconds S] [--json]
// Suites: PSK with x25519, ecp256 and modp2048, and ECDSA P-256 certificates (RFC 7427, the
// example PKI in config/examples/certs) with x25519 (IKE: AES-GCM-128, PRF HMAC-SHA2-256).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <openssl/opensslv.h>

#include "ike/ike_sa.hpp"

namespace {

using namespace rampart::ike;
using Clock = std::chrono::steady_clock;

Bytes bytes(std::initializer_list<uint8_t> b) {
  Bytes out;
  for (uint8_t x : b) out.push_back(std::byte{x});
  return out;
}

// ECDSA P-256 certificates from config/examples/certs: gw1 initiates, gw2 answers.
std::shared_ptr<const Credentials> certificate(bool initiator) {
  std::string dir = RAMPART_CERTS;
  std::string who = initiator ? "gw1" : "gw2-ecdsa";
  auto c = Credentials::load(dir + "/ca.pem", dir + "/" + who + ".pem", dir + "/" + who + ".key");
  if (!c) {
    std::fprintf(stderr, "ike-bench: %s\n", c.message().c_str());
    std::exit(1);
  }
  return *c;
}

PeerConfig peer(bool initiator, const char* ike, bool certificates) {
  PeerConfig c;
  c.local_id = initiator ? "gw1.example.net" : "gw2.example.net";
  c.remote_id = initiator ? "gw2.example.net" : "gw1.example.net";
  if (certificates) c.credentials = certificate(initiator);
  const char* psk = "a documentation-only pre-shared key";
  c.psk.assign(reinterpret_cast<const std::byte*>(psk), reinterpret_cast<const std::byte*>(psk) + std::strlen(psk));
  c.ike_suites = {parse_suite(ike, 1).value()};
  c.esp_suites = {parse_suite("aes128gcm16", 3).value()};
  TrafficSelector inside{7, 0, 0, 65535, bytes({192, 0, 2, 0}), bytes({192, 0, 2, 255})};
  TrafficSelector outside{7, 0, 0, 65535, bytes({203, 0, 113, 0}), bytes({203, 0, 113, 255})};
  c.local_ts = initiator ? outside : inside;
  c.remote_ts = initiator ? inside : outside;
  return c;
}

struct Row {
  std::string suite;
  bool certificates = false;
  bool reuse = false;
  unsigned setups = 0;
  double responder_s = 0, initiator_s = 0;
};

Row measure(const char* ike, bool certificates, bool reuse, double seconds) {
  Row row{ike, certificates, reuse};
  Path to_gw{bytes({203, 0, 113, 10}), bytes({198, 51, 100, 1}), 500, 500};
  Path at_gw{bytes({198, 51, 100, 1}), bytes({203, 0, 113, 10}), 500, 500};
  PeerConfig client = peer(true, ike, certificates), gateway = peer(false, ike, certificates);
  gateway.dh_reuse_ms = reuse ? 1000 : 0;
  uint64_t now_ms = 0;
  auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    IkeSa a = IkeSa::initiator(client, to_gw);
    IkeSa b = IkeSa::responder(gateway, at_gw);
    auto t0 = Clock::now();
    if (!a.start(0)) std::abort();
    Bytes init = a.take_outbox().at(0);
    auto t1 = Clock::now();
    now_ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(t1.time_since_epoch()).count());
    (void)b.receive(init, at_gw, now_ms);
    Bytes init_response = b.take_outbox().at(0);
    auto t2 = Clock::now();
    (void)a.receive(init_response, to_gw, 0);
    Bytes auth = a.take_outbox().at(0);
    auto t3 = Clock::now();
    (void)b.receive(auth, at_gw, 0);
    Bytes auth_response = b.take_outbox().at(0);
    auto t4 = Clock::now();
    (void)a.receive(auth_response, to_gw, 0);
    auto t5 = Clock::now();
    if (a.state() != IkeState::kEstablished || b.state() != IkeState::kEstablished || !b.child()) {
      std::fprintf(stderr, "ike-bench: %s: the setup failed: %s\n", ike, b.failure().c_str());
      std::exit(1);
    }
    row.responder_s += std::chrono::duration<double>((t2 - t1) + (t4 - t3)).count();
    row.initiator_s += std::chrono::duration<double>((t1 - t0) + (t3 - t2) + (t5 - t4)).count();
    ++row.setups;
  }
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 2;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (a == "--json") {
      json = true;
    } else {
      std::fprintf(stderr, "usage: ike-bench [--seconds S] [--json]\n");
      return 2;
    }
  }
  std::vector<Row> rows;
  for (bool reuse : {false, true}) {
    for (const char* suite : {"aes128gcm16-prfsha256-x25519", "aes128gcm16-prfsha256-ecp256", "aes128gcm16-prfsha256-modp2048"})
      rows.push_back(measure(suite, false, reuse, seconds));
    rows.push_back(measure("aes128gcm16-prfsha256-x25519", true, reuse, seconds));
  }
  if (json) {
    std::printf("{\"openssl\": \"%s\", \"rows\": [", OPENSSL_VERSION_TEXT);
    for (size_t i = 0; i < rows.size(); ++i)
      std::printf("%s{\"suite\": \"%s\", \"auth\": \"%s\", \"dh_reuse_ms\": %d, \"setups\": %u, "
                  "\"responder_setups_per_s\": %.0f, \"responder_us_per_setup\": %.1f, \"initiator_us_per_setup\": %.1f}",
                  i ? ", " : "", rows[i].suite.c_str(), rows[i].certificates ? "ecdsa-p256" : "psk", rows[i].reuse ? 1000 : 0, rows[i].setups, rows[i].setups / rows[i].responder_s,
                  1e6 * rows[i].responder_s / rows[i].setups, 1e6 * rows[i].initiator_s / rows[i].setups);
    std::printf("]}\n");
    return 0;
  }
  std::printf("IKE SA + CHILD_SA setups (IKE_SA_INIT + IKE_AUTH), one core, %s\n", OPENSSL_VERSION_TEXT);
  std::printf("%-32s %-11s %-14s %8s %18s %16s %16s\n", "suite", "auth", "responder DH", "setups", "responder setups/s",
              "responder us", "initiator us");
  for (const Row& r : rows)
    std::printf("%-32s %-11s %-14s %8u %18.0f %16.1f %16.1f\n", r.suite.c_str(), r.certificates ? "ECDSA P-256" : "PSK",
                r.reuse ? "reused for 1 s" : "fresh",
                r.setups, r.setups / r.responder_s,
                1e6 * r.responder_s / r.setups, 1e6 * r.initiator_s / r.setups);
  return 0;
}
