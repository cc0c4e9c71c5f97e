// What a connection's settings make of its CHILD_SAs' SaParams, before anything is installed.
#include <catch2/catch.hpp>

#include "app/child_sa_installer.hpp"
#include "config/config.hpp"

using namespace rampart;

TEST_CASE("a spread connection's outbound SAs are spread, its inbound ones not", "[app][ike]") {
  auto config = cfg::load_config_string(
      "connections = ( { name = \"big\"; local = \"198.51.100.1\"; remote = \"198.51.100.2\"; spread = true;\n"
      "  local_id = \"gw1.example.net\"; remote_id = \"gw2.example.net\"; psk = \"a pre-shared key for this test\";\n"
      "  local_ts = \"192.0.2.0/24\"; remote_ts = \"203.0.113.0/24\"; } );\n",
      "child_sa_installer_test.conf");
  INFO((config.ok() ? "" : config.message()));
  REQUIRE(config.ok());
  const cfg::ConnectionConfig& c = config->connections.at(0);
  CHECK(c.spread);
  ike::ChildSa child;
  child.inbound_spi = 0x1000;
  child.outbound_spi = 0x2000;
  child.inbound_key = child.outbound_key = ike::Bytes(20, std::byte{7});
  app::ChildSaInstaller spread(c.name, c.local, c.remote, {}, {}, {}, c.spread);
  CHECK(spread.sa_params(child, /*outbound=*/true, false, 4500).spread);
  CHECK_FALSE(spread.sa_params(child, /*outbound=*/false, false, 4500).spread);
  app::ChildSaInstaller plain(c.name, c.local, c.remote, {}, {}, {});
  CHECK_FALSE(plain.sa_params(child, /*outbound=*/true, false, 4500).spread);
}
