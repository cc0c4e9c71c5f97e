// Config loading: a good file becomes plain structs; every kind of mistake is reported with the
// file, the line, the setting's path and what was expected.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <unistd.h>

#include "config/config.hpp"

using namespace rampart;
using namespace rampart::cfg;

namespace {

Result<Config> load(const std::string& text) { return load_config_string(text, "rampart.conf"); }

// Loads text that must fail and returns the error report.
std::string errors_of(const std::string& text) {
  auto r = load(text);
  REQUIRE_FALSE(r.ok());
  return r.message();
}

const std::string kSa =
    "sas = ( { name = \"a\"; spi = 4096; direction = \"outbound\"; cipher = \"aes-gcm-128\";\n"
    "  key = \"000102030405060708090a0b0c0d0e0f01020304\"; local = \"198.51.100.1\"; remote = \"203.0.113.1\"; } );\n";

// kSa with more settings on a line of their own (line 3), its direction changed if asked.
std::string sa_with(const std::string& settings, const char* direction = "outbound") {
  std::string out = kSa;
  out.replace(out.find(" } );"), 5, "\n  " + settings + " } );");
  out.replace(out.find("outbound"), 8, direction);
  return out;
}

}  // namespace

TEST_CASE("the shipped example config loads", "[config]") {
  auto r = load_config_file(RAMPART_EXAMPLE_CONFIG);
  INFO((r.ok() ? "" : r.message()));
  REQUIRE(r.ok());
  const Config& c = *r;
  CHECK(c.log_level == LogLevel::kInfo);
  CHECK(c.dataplane.worker_lcores == std::vector<unsigned>{1});
  REQUIRE(c.interfaces.size() == 2);
  CHECK(c.interfaces[1].role == InterfaceRole::kPublic);
  CHECK(to_string(c.interfaces[0].address) == "192.0.2.1/24");
  REQUIRE(c.sas.size() == 2);
  CHECK(c.sas[0].spi == 0x1001);
  CHECK(c.sas[0].key.size() == 20);
  CHECK(c.sas[0].lifetime.hard_bytes == 1000000000ull);
  CHECK(c.sas[1].cipher == Cipher::kAesGcm256);
  CHECK(c.sas[1].key.size() == 36);
  CHECK(c.sas[1].esn);
  CHECK(c.sas[1].replay_window == 8192);
  REQUIRE(c.sas[1].nat_t.has_value());
  CHECK(c.sas[1].nat_t->remote_port == 4500);
  REQUIRE(c.policies.size() == 4);
  CHECK(c.policies[2].protocol == 6);
  CHECK(c.policies[2].destination_ports == PortRange{22, 22});
  CHECK(c.policies[2].action == PolicyAction::kBypass);
  CHECK_FALSE(c.policies[3].protocol.has_value());
}

TEST_CASE("a bad prefix names file, line, setting and what was expected", "[config]") {
  std::string text =
      "interfaces = (\n"
      "  { name = \"a\"; device = \"net_null0\"; address = \"192.0.2.1/24\"; role = \"public\"; },\n"
      "  { name = \"b\"; device = \"net_null1\";\n"
      "    address = \"10.0.0/24\"; role = \"protected\"; }\n"
      ");\n";
  CHECK(errors_of(text) == "rampart.conf:4: interfaces[1].address: \"10.0.0/24\" is not an IPv4 or IPv6 prefix");
}

TEST_CASE("a syntax error gives the line libconfig stopped at", "[config]") {
  std::string msg = errors_of("log_level = \"info\";\ndataplane = { burst = 32;\n workers = [1,; };\n");
  CHECK_THAT(msg, Catch::StartsWith("rampart.conf:3: syntax error"));
}

TEST_CASE("unknown settings are errors, at any depth", "[config]") {
  CHECK(errors_of("log_levle = \"info\";\n") ==
        "rampart.conf:1: log_levle: unknown setting (expected one of: log_level, console, dataplane, interfaces, "
        "routes, neighbours, sas, policies, connections)");
  CHECK_THAT(errors_of("dataplane = {\n  replay_windwo = 64;\n};\n"),
             Catch::StartsWith("rampart.conf:2: dataplane.replay_windwo: unknown setting"));
}

TEST_CASE("wrong types say what they expected and what they got", "[config]") {
  CHECK(errors_of("dataplane = { burst = \"32\"; };\n") ==
        "rampart.conf:1: dataplane.burst: expected an integer, got a string");
  CHECK(errors_of("dataplane = 3;\n") == "rampart.conf:1: dataplane: expected a group, got an integer");
  CHECK(errors_of("interfaces = ( 5 );\n") == "rampart.conf:1: interfaces[0]: expected a group { ... }, got an integer");
}

TEST_CASE("missing required settings are named", "[config]") {
  CHECK(errors_of("interfaces = ( { name = \"a\"; device = \"x\"; role = \"public\"; } );\n") ==
        "rampart.conf:1: interfaces[0].address: missing; expected a string");
}

TEST_CASE("numbers out of range give the range", "[config]") {
  CHECK(errors_of("dataplane = { burst = 1000; };\n") ==
        "rampart.conf:1: dataplane.burst: 1000 is out of range (expected 1 to 256)");
  CHECK(errors_of("dataplane = { replay_window = 100; };\n") ==
        "rampart.conf:1: dataplane.replay_window: 100 is not a power of two (expected 32 to 1048576)");
  CHECK(errors_of("dataplane = { workers = [1, 1]; };\n") == "rampart.conf:1: dataplane.workers[1]: lcore 1 is listed twice");
}

TEST_CASE("workers: any number of lcores, each on its own CPU or, as LCORE@CPU, on a shared one", "[config]") {
  auto config = load("dataplane = {\n  workers = (1, 2, \"3@1\", \"4@0\");\n};\n");
  REQUIRE(config.ok());
  CHECK(config->dataplane.worker_lcores == std::vector<unsigned>{1, 2, 3, 4});
  CHECK(config->dataplane.worker_cpus == std::vector<unsigned>{1, 2, 1, 0});
  CHECK(errors_of("dataplane = { workers = [\"3@\"]; };\n") ==
        "rampart.conf:1: dataplane.workers[0]: \"3@\" is not an lcore or \"LCORE@CPU\"");
  CHECK(errors_of("dataplane = { workers = [\"x@1\"]; };\n") ==
        "rampart.conf:1: dataplane.workers[0]: \"x@1\" is not an lcore or \"LCORE@CPU\"");
  CHECK(errors_of("dataplane = { workers = (1, \"1@0\"); };\n") == "rampart.conf:1: dataplane.workers[1]: lcore 1 is listed twice");
  CHECK(errors_of("dataplane = { workers = [\"2@5000\"]; };\n") ==
        "rampart.conf:1: dataplane.workers[0]: 5000 is not a CPU number (0 to 1023)");
}

TEST_CASE("SA keys must be hex of the cipher's length plus salt", "[config]") {
  std::string short_key = kSa;
  short_key.replace(short_key.find("01020304\""), 8, "");
  CHECK(errors_of(short_key) ==
        "rampart.conf:2: sas[0].key: is 16 bytes; the cipher needs 20 (key and 4-byte salt)");
  std::string not_hex = kSa;
  not_hex.replace(not_hex.find("0001"), 4, "zz01");
  CHECK(errors_of(not_hex) == "rampart.conf:2: sas[0].key: is not hex (expected 40 hex digits)");
}

TEST_CASE("SA rules: reserved SPIs, tunnel endpoints, families", "[config]") {
  std::string low_spi = kSa;
  low_spi.replace(low_spi.find("4096"), 4, "255");
  CHECK(errors_of(low_spi) == "rampart.conf:1: sas[0].spi: 255 is out of range (expected 256 to 4294967295)");

  std::string no_remote = kSa;
  no_remote.replace(no_remote.find(" remote = \"203.0.113.1\";"), 25, "");
  CHECK(errors_of(no_remote) ==
        "rampart.conf:1: sas[0]: a tunnel-mode SA needs both \"local\" and \"remote\" addresses");

  std::string mixed = kSa;
  mixed.replace(mixed.find("203.0.113.1"), 11, "2001:db8::1");
  CHECK(errors_of(mixed) == "rampart.conf:2: sas[0].remote: is not the same address family as \"local\"");
}

TEST_CASE("check_source: inbound SAs with a remote address only", "[config]") {
  std::string outbound = sa_with("check_source = true;");
  CHECK(errors_of(outbound) == "rampart.conf:3: sas[0].check_source: applies to inbound SAs only");
  auto ok = load(sa_with("check_source = true;", "inbound"));
  REQUIRE(ok.ok());
  CHECK(ok->sas[0].check_source);
}

TEST_CASE("spread: outbound SAs only", "[config]") {
  auto ok = load(sa_with("spread = true;"));
  REQUIRE(ok.ok());
  CHECK(ok->sas[0].spread);
  CHECK(errors_of(sa_with("spread = true;", "inbound")) ==
        "rampart.conf:3: sas[0].spread: applies to outbound SAs only (an inbound SA's window has one writer)");
}

TEST_CASE("replay_window: 0 turns anti-replay off, but not with ESN", "[config]") {
  auto ok = load(sa_with("replay_window = 0;", "inbound"));
  REQUIRE(ok.ok());
  REQUIRE(ok->sas[0].replay_window.has_value());
  CHECK(*ok->sas[0].replay_window == 0);
  CHECK(errors_of(sa_with("esn = true; replay_window = 0;", "inbound")) ==
        "rampart.conf:3: sas[0].replay_window: 0 turns anti-replay off, and ESN needs it (RFC 4303 section 2.2.1)");
  CHECK(errors_of(sa_with("replay_window = 16;", "inbound")) == "rampart.conf:3: sas[0].replay_window: 16 is out of range (expected 0, off, or 32 to 1048576)");
  CHECK_FALSE(load(kSa)->sas[0].replay_window.has_value());  // unset: the data plane's default
}

TEST_CASE("transport mode with NAT traversal is refused, naming the setting", "[config]") {
  CHECK(errors_of(sa_with("mode = \"transport\"; nat_t = { remote_port = 4500; };")) ==
        "rampart.conf:3: sas[0].nat_t: NAT traversal (ESP in UDP, RFC 3948) works in tunnel mode only; use mode = "
        "\"tunnel\" or remove nat_t");
  CHECK(load(sa_with("nat_t = { remote_port = 4500; };")).ok());
}

TEST_CASE("policy selectors are checked", "[config]") {
  auto policy = [](const std::string& body) {
    return kSa + "policies = ( { name = \"p\"; direction = \"outbound\";\n" + body + " } );\n";
  };
  CHECK(errors_of(policy("source = \"192.0.2.1/24\"; destination = \"0.0.0.0/0\"; action = \"discard\";")) ==
        "rampart.conf:4: policies[0].source: \"192.0.2.1/24\" has bits set past the prefix length");
  CHECK(errors_of(policy("source = \"192.0.2.0/24\"; destination = \"0.0.0.0/0\"; destination_ports = \"80\"; "
                         "action = \"discard\";")) ==
        "rampart.conf:4: policies[0].destination_ports: ports need protocol \"tcp\", \"udp\" or \"sctp\"");
  CHECK(errors_of(policy("source = \"192.0.2.0/24\"; destination = \"0.0.0.0/0\"; protocol = \"tcp\"; "
                         "destination_ports = \"90-80\"; action = \"discard\";")) ==
        "rampart.conf:4: policies[0].destination_ports: \"90-80\" is not a port or range (\"443\", "
        "\"1024-65535\", \"any\")");
  CHECK(errors_of(policy("source = \"192.0.2.0/24\"; destination = \"0.0.0.0/0\"; action = \"protect\";")) ==
        "rampart.conf:3: policies[0]: a \"protect\" policy needs an \"sa\"");
  CHECK(errors_of(policy("source = \"192.0.2.0/24\"; destination = \"2001:db8::/32\"; action = \"discard\";")) ==
        "rampart.conf:4: policies[0].destination: is not the same address family as \"source\"");
  CHECK(errors_of(policy("source = \"192.0.2.0/24\"; destination = \"0.0.0.0/0\"; protocol = \"300\"; "
                         "action = \"discard\";")) ==
        "rampart.conf:4: policies[0].protocol: \"300\" is not a protocol (\"any\", \"tcp\", \"udp\", \"icmp\", "
        "\"icmpv6\", \"sctp\" or a number 0-255)");
}

TEST_CASE("cross references: unknown SA, wrong direction, duplicates", "[config]") {
  std::string unknown = kSa + "policies = ( { name = \"p\"; direction = \"outbound\"; source = \"192.0.2.0/24\";\n"
                              "  destination = \"0.0.0.0/0\"; action = \"protect\"; sa = \"b\"; } );\n";
  CHECK(errors_of(unknown) == "rampart.conf:3: policies[0].sa: \"b\" names no SA in \"sas\"");

  std::string wrong_dir = kSa + "policies = ( { name = \"p\"; direction = \"inbound\"; source = \"192.0.2.0/24\";\n"
                                "  destination = \"0.0.0.0/0\"; action = \"protect\"; sa = \"a\"; } );\n";
  CHECK(errors_of(wrong_dir) == "rampart.conf:3: policies[0].sa: \"a\" is an SA of the other direction");

  std::string twice = kSa;
  twice.insert(twice.rfind(" );"), ",\n" + kSa.substr(kSa.find("{ name"), kSa.rfind(" );") - kSa.find("{ name")));
  std::string msg = errors_of(twice);
  CHECK_THAT(msg, Catch::Contains("rampart.conf:3: sas[1].name: \"a\" is used by an earlier SA"));
  CHECK_THAT(msg, Catch::Contains("rampart.conf:3: sas[1].spi: SPI 4096 is used by an earlier SA of the same direction"));
}

TEST_CASE("every error in a file is reported, one per line", "[config]") {
  std::string msg = errors_of("log_level = \"loud\";\ndataplane = { burst = 0; mbufs = 5; };\n");
  CHECK(msg ==
        "rampart.conf:1: log_level: \"loud\" is not \"error\", \"warning\", \"info\" or \"debug\"\n"
        "rampart.conf:2: dataplane.burst: 0 is out of range (expected 1 to 256)\n"
        "rampart.conf:2: dataplane.mbufs: 5 is out of range (expected 1023 to 4194304)");
}

TEST_CASE("routes name an interface that exists", "[config]") {
  std::string text =
      "interfaces = ( { name = \"out\"; device = \"net_null0\"; address = \"198.51.100.1/24\"; role = \"public\"; } );\n"
      "routes = ( { destination = \"0.0.0.0/0\"; via = \"198.51.100.2\"; interface = \"out\"; },\n"
      "           { destination = \"203.0.113.0/24\"; via = \"198.51.100.3\"; interface = \"outside\"; } );\n";
  CHECK(errors_of(text) == "rampart.conf:3: routes[1].interface: \"outside\" names no interface in \"interfaces\"");
}

TEST_CASE("static neighbours need an address and a MAC", "[config]") {
  auto r = load("neighbours = ( { address = \"198.51.100.2\"; mac = \"02:00:00:00:00:0a\"; } );\n");
  REQUIRE(r.ok());
  REQUIRE(r->neighbours.size() == 1);
  CHECK(r->neighbours[0].mac[5] == 0x0a);
  CHECK(errors_of("neighbours = ( { address = \"198.51.100.2\"; mac = \"02:00:00:00:00\"; } );\n") ==
        "rampart.conf:1: neighbours[0].mac: \"02:00:00:00:00\" is not a MAC address (\"02:00:00:00:00:01\")");
}

TEST_CASE("a file that cannot be read is an i/o error naming the file", "[config]") {
  auto r = load_config_file("/nonexistent/rampart.conf");
  REQUIRE_FALSE(r.ok());
  CHECK(r.code() == Errc::kIo);
  CHECK(r.message() == "/nonexistent/rampart.conf: cannot read the file");
}

TEST_CASE("errors from a file carry its path", "[config]") {
  std::string path = "/tmp/rampart_loader_test_" + std::to_string(getpid()) + ".conf";
  {
    std::ofstream f(path);
    f << "# comment\n\ndataplane = { burst = -1; };\n";
  }
  auto r = load_config_file(path);
  std::remove(path.c_str());
  REQUIRE_FALSE(r.ok());
  CHECK(r.message() == path + ":3: dataplane.burst: -1 is out of range (expected 1 to 256)");
}

TEST_CASE("console.metrics takes ADDRESS:PORT", "[config]") {
  auto good = load("console = { metrics = \"127.0.0.1:9464\"; };");
  REQUIRE(good.ok());
  CHECK(good->metrics_listen == "127.0.0.1:9464");
  CHECK(load("").value().metrics_listen.empty());
  CHECK_THAT(errors_of("\nconsole = { metrics = \"localhost\"; };"),
             Catch::Contains("rampart.conf:2: console.metrics: \"localhost\" is not ADDRESS:PORT"));
}

TEST_CASE("a fragment is checked alone; check_config then checks it in its config", "[config]") {
  // A policy naming an SA that is not in the fragment: fine alone, refused in a config without it.
  auto policy = load_config_fragment(
      "policies = ( { name = \"p\"; direction = \"outbound\"; source = \"192.0.2.0/24\";"
      " destination = \"203.0.113.0/24\"; action = \"protect\"; sa = \"x\"; } );",
      "policy add");
  REQUIRE(policy.ok());
  auto r = check_config(*policy, "policy add");
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.message(), Catch::Contains("policy add:1: policies[0].sa: \"x\" names no SA"));
  auto bad = load_config_fragment("sas = ( { name = \"a\"; spi = 12; } );", "sa add");
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.message(), Catch::Contains("sa add:1: sas[0].spi"));
}

TEST_CASE("IKE connections: addresses, identities, a long enough PSK, IPv4 selectors", "[config]") {
  const std::string good =
      "connections = ( { name = \"b\"; local = \"198.51.100.1\"; remote = \"198.51.100.2\";\n"
      "  local_id = \"a.example.net\"; remote_id = \"b.example.net\"; psk = \"sixteen characters\";\n"
      "  local_ts = \"192.0.2.0/24\"; remote_ts = \"203.0.113.0/24\"; initiate = true; } );\n";
  auto r = load(good);
  INFO((r.ok() ? "" : r.message()));
  REQUIRE(r.ok());
  REQUIRE(r->connections.size() == 1);
  const ConnectionConfig& c = r->connections[0];
  CHECK(c.initiate);
  CHECK(c.ike == "aes128gcm16-prfsha256-ecp256");
  CHECK(to_string(c.remote_ts) == "203.0.113.0/24");
  CHECK(c.child_rekey_s == 3600);
  CHECK(c.dpd_s == 30);
  CHECK_FALSE(c.force_encap);
  auto timed = load(good.substr(0, good.size() - 6) + " child_rekey = 60; ike_rekey = 0; dpd = 5; retransmit_tries = 3;\n"
                    "  force_encap = true; child_rekey_bytes = 1000000000; child_rekey_packets = 5000000; } );\n");
  INFO((timed.ok() ? "" : timed.message()));
  REQUIRE(timed.ok());
  CHECK(timed->connections[0].child_rekey_s == 60);
  CHECK(timed->connections[0].ike_rekey_s == 0);
  CHECK(timed->connections[0].dpd_s == 5);
  CHECK(timed->connections[0].retransmit_tries == 3);
  CHECK(timed->connections[0].force_encap);
  CHECK(timed->connections[0].child_rekey_bytes == 1000000000);
  CHECK(timed->connections[0].child_rekey_packets == 5000000);
  CHECK_THAT(errors_of(good.substr(0, good.size() - 6) + " retransmit_tries = 0; } );\n"),
             Catch::Contains("rampart.conf:3: connections[0].retransmit_tries"));
  // Certificates instead of a PSK: ca, cert and key are needed then, and the PSK is not.
  const std::string pubkey =
      "connections = ( { name = \"b\"; local = \"198.51.100.1\"; remote = \"198.51.100.2\";\n"
      "  local_id = \"gw1.example.net\"; remote_id = \"gw2.example.net\"; auth = \"pubkey\";\n"
      "  ca = \"certs/ca.pem\"; cert = \"certs/gw1.pem\"; key = \"certs/gw1.key\";\n"
      "  local_ts = \"192.0.2.0/24\"; remote_ts = \"203.0.113.0/24\"; } );\n";
  auto with_certs = load(pubkey);
  INFO((with_certs.ok() ? "" : with_certs.message()));
  REQUIRE(with_certs.ok());
  CHECK(with_certs->connections[0].auth == "pubkey");
  CHECK(with_certs->connections[0].cert == "certs/gw1.pem");
  std::string no_key = pubkey;
  no_key.replace(no_key.find(" key = \"certs/gw1.key\";"), 24, "");
  CHECK_THAT(errors_of(no_key), Catch::Contains("connections[0].key"));
  auto trap = load(pubkey.substr(0, pubkey.size() - 6) + " start_action = \"trap\"; } );\n");
  REQUIRE(trap.ok());
  CHECK(trap->connections[0].trap);
  CHECK_FALSE(trap->connections[0].initiate);
  CHECK_THAT(errors_of(pubkey.substr(0, pubkey.size() - 6) + " start_action = \"later\"; } );\n"),
             Catch::Contains("connections[0].start_action: \"none\", \"start\" or \"trap\""));
  std::string bad_auth = pubkey;
  bad_auth.replace(bad_auth.find("\"pubkey\""), 8, "\"eap\"");
  CHECK_THAT(errors_of(bad_auth), Catch::Contains("rampart.conf:2: connections[0].auth: \"psk\" or \"pubkey\""));
  CHECK_THAT(errors_of("connections = ( { name = \"b\"; local = \"2001:db8::1\"; remote = \"198.51.100.2\";\n"
                       "  local_id = \"a\"; remote_id = \"b\"; psk = \"short\"; local_ts = \"192.0.2.0/24\";\n"
                       "  remote_ts = \"203.0.113.0/24\"; } );\n"),
             Catch::Contains("rampart.conf:1: connections[0].remote: of another family than local") &&
                 Catch::Contains("rampart.conf:2: connections[0].psk: a pre-shared key needs at least 16 characters"));
}

TEST_CASE("duplicates and conflicts among connections, SAs and policies are refused", "[config]") {
  auto connection = [](const std::string& name, const std::string& remote) {
    return "  { name = \"" + name + "\"; local = \"198.51.100.1\"; remote = \"" + remote +
           "\"; local_id = \"a\"; remote_id = \"b\";\n    psk = \"sixteen characters\"; local_ts = \"192.0.2.0/24\"; "
           "remote_ts = \"203.0.113.0/24\"; }";
  };
  CHECK_THAT(errors_of("connections = (\n" + connection("b", "198.51.100.2") + ",\n" + connection("b", "198.51.100.3") +
                       " );\n"),
             Catch::Contains("rampart.conf:4: connections[1].name: \"b\" is used by an earlier connection"));
  CHECK_THAT(errors_of("connections = (\n" + connection("b", "198.51.100.2") + ",\n" + connection("c", "198.51.100.2") +
                       " );\n"),
             Catch::Contains("rampart.conf:4: connections[1].remote: connections[0] (\"b\") has the same local and remote "
                             "addresses: one connection per peer address"));
  // IKE names its CHILD_SAs NAME-in and NAME-out beside the file's SAs.
  std::string sa = kSa;
  sa.replace(sa.find("name = \"a\""), 10, "name = \"b-out\"");
  CHECK_THAT(errors_of(sa + "connections = (\n" + connection("b", "198.51.100.2") + " );\n"),
             Catch::Contains("connections[0].name: \"b\" would name its CHILD_SA \"b-out\", the name of an SA in \"sas\""));
  CHECK_THAT(errors_of("policies = (\n"
                       "  { name = \"p\"; direction = \"outbound\"; source = \"192.0.2.0/24\"; destination = \"0.0.0.0/0\"; "
                       "action = \"bypass\"; },\n"
                       "  { name = \"p\"; direction = \"inbound\"; source = \"0.0.0.0/0\"; destination = \"192.0.2.0/24\"; "
                       "action = \"bypass\"; } );\n"),
             Catch::Contains("rampart.conf:3: policies[1].name: \"p\" is used by an earlier policy"));
  CHECK_THAT(errors_of("connections = (\n" + connection("b", "0.0.0.0") + " );\n"),
             Catch::Contains("rampart.conf:2: connections[0].remote: \"0.0.0.0\" is the unspecified address"));
}

TEST_CASE("names of connections, SAs and policies must not be empty", "[config]") {
  std::string sa = kSa;
  sa.replace(sa.find("name = \"a\""), 10, "name = \"\"");
  CHECK_THAT(errors_of(sa), Catch::Contains("rampart.conf:1: sas[0].name: must not be empty"));
  CHECK_THAT(errors_of("policies = ( { name = \"\"; direction = \"outbound\"; source = \"192.0.2.0/24\"; "
                       "destination = \"0.0.0.0/0\"; action = \"bypass\"; } );\n"),
             Catch::Contains("rampart.conf:1: policies[0].name: must not be empty"));
}
