#include <catch2/catch.hpp>

#include <optional>
#include <string>

#include "app/console_commands.hpp"
#include "dataplane/port.hpp"
#include "tests/support/ring_site.hpp"

using namespace rampart;
using test::ip4;

namespace {

// A gateway on ring ports with one outbound SA and its policy; no worker runs, the console
// only reads what the control core holds.
class ConsoleBench {
 public:
  ConsoleBench() {
    auto site = test::RingSite::create("cc");
    INFO((site.ok() ? "" : site.message()));
    REQUIRE(site.ok());
    site_.emplace(std::move(*site));
    dp::GatewaySpec spec = site_->spec(1023);
    spec.sas = {test::tunnel_sa("to-peer", 0x1001, dp::SaDirection::kOutbound, ip4(198, 51, 100, 1), ip4(198, 51, 100, 2))};
    spec.policies = {test::policy(dp::SaDirection::kOutbound, {ip4(192, 0, 2, 0), 24}, {ip4(203, 0, 113, 0), 24},
                                  dp::PolicyAction::kProtect, "to-peer")};
    auto gw = dp::Gateway::create(spec);
    INFO((gw.ok() ? "" : gw.message()));
    REQUIRE(gw.ok());
    gw_ = std::move(*gw);
  }
  ~ConsoleBench() {
    CHECK(gw_->shutdown() == 0);
    site_->close();
    gw_.reset();
  }
  console::Reply ask(const std::string& request) { return app::handle_console_command(*gw_, state_, request); }

 private:
  std::optional<test::RingSite> site_;
  std::unique_ptr<dp::Gateway> gw_;
  app::ConsoleState state_;
};

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE_METHOD(ConsoleBench, "the console's command table: each command found by its words, help from the same table",
                 "[app][console]") {
  auto help = ask("help");
  REQUIRE(help.ok);
  for (const char* usage : {"show sa [NAME|SPI] [--show-keys]", "sa add SETTINGS", "config reload [FILE]",
                            "ike rekey-ike CONNECTION", "trace N"})
    CHECK(has(help.text, usage));
  CHECK_FALSE(has(help.text, "show neighbours"));  // an alias: answered, not listed
  CHECK(ask("show neighbours").ok);

  auto unknown = ask("show everything");
  CHECK_FALSE(unknown.ok);
  CHECK(has(unknown.text, "unknown command \"show everything\""));
  CHECK(has(unknown.text, "show sa [NAME|SPI] [--show-keys]"));
  CHECK_FALSE(ask("show sa a b").ok);   // too many arguments
  CHECK_FALSE(ask("ike initiate").ok);  // too few

  auto sa = ask("show sa to-peer");
  REQUIRE(sa.ok);
  CHECK(has(sa.text, "name     spi         direction"));
  CHECK(has(sa.text, "0x00001001"));
  auto by_spi = ask("show sa 0x1001 --json");
  REQUIRE(by_spi.ok);
  CHECK(has(by_spi.text, "\"name\": \"to-peer\", \"spi\": 4097, \"direction\": \"outbound\""));
  CHECK(has(by_spi.text, "\"esn\": false, \"nat_t\": false"));
  CHECK_FALSE(has(by_spi.text, "\"key\""));
  CHECK(has(ask("show sa to-peer --show-keys --json").text, "\"key\": \""));
  CHECK_FALSE(ask("show sa nobody").ok);

  CHECK(has(ask("show policy --json").text, "\"action\": \"protect\", \"sa\": \"to-peer\", \"priority\": 100}"));
  CHECK(has(ask("show interfaces").text, "outside"));
  CHECK(has(ask("show workers --json").text, "\"lcore\": 1, \"busy_percent\": 0"));
  CHECK_FALSE(ask("trace 0").ok);
  CHECK(ask("trace 5").ok);
  CHECK(ask("show trace --json").text == "[]\n");
  CHECK(ask("counters clear").ok);
  CHECK(has(ask("metrics").text, "rampart_sa_packets_total{spi=\"0x00001001\""));
  auto ike = ask("ike initiate somebody");
  CHECK_FALSE(ike.ok);
  CHECK(has(ike.text, "no IKE"));
}
