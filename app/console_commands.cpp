#include "app/console_commands.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdlib>
#include <cstdio>
#include <sstream>
#include <vector>

#include "common/hex.hpp"
#include "console/counter_format.hpp"
#include "console/rows.hpp"

namespace rampart::app {

namespace {

using console::Cell;
using console::json_escape;
using console::Reply;
using console::Rows;

std::string ipv4_text(uint32_t host_order) {
  char buf[INET_ADDRSTRLEN];
  uint32_t network = htonl(host_order);
  inet_ntop(AF_INET, &network, buf, sizeof buf);
  return buf;
}

std::string ip_text(const std::array<uint8_t, 16>& a, dp::IpFamily family) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(family == dp::IpFamily::kIpv4 ? AF_INET : AF_INET6, a.data(), buf, sizeof buf);
  return buf;
}

std::string prefix_text(const dp::Ipv4Prefix& p) { return ipv4_text(p.address) + "/" + std::to_string(p.length); }
std::string prefix_text(const dp::Ipv6Prefix& p) {
  return ip_text(p.address, dp::IpFamily::kIpv6) + "/" + std::to_string(p.length);
}

std::string mac_text(const rte_ether_addr& mac) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", mac.addr_bytes[0], mac.addr_bytes[1],
                mac.addr_bytes[2], mac.addr_bytes[3], mac.addr_bytes[4], mac.addr_bytes[5]);
  return buf;
}

std::vector<CounterValue> since_clear(const dp::Gateway& gw, const ConsoleState& state) {
  auto values = gw.counters();
  for (size_t i = 0; i < values.size() && i < state.baseline.size(); ++i) values[i].value -= state.baseline[i].value;
  return values;
}

Reply show_counters(const dp::Gateway& gw, const ConsoleState& state, bool json, bool drops_only) {
  std::vector<CounterValue> values;
  for (const auto& c : since_clear(gw, state))
    if (!drops_only || (c.name.rfind("drop_", 0) == 0 && c.value != 0)) values.push_back(c);
  return {true, json ? console::format_counters_json(values) + "\n" : console::format_counters_table(values, !drops_only)};
}

// which: an SA's name or SPI (0x... or decimal), or empty for all.
Reply show_sa(const dp::Gateway& gw, bool json, bool show_keys, const std::string& which) {
  std::vector<console::Column> columns{{"name", "name"}, {"spi", ""}, {"", "spi"}, {"direction", "direction"},
                                       {"mode", "mode"}, {"family", "family"}, {"tunnel", "tunnel"}, {"esn", ""},
                                       {"", "esn"}, {"nat-t", ""}, {"", "nat_t"}, {"state", "state"},
                                       {"worker", "owner_worker"}, {"spread", ""}, {"", "spread"},
                                       {"packets", "packets"}, {"bytes", "bytes"}, {"drops", "drops"}};
  if (show_keys) columns.push_back({"key", "key"});
  Rows rows(std::move(columns));
  char* end = nullptr;
  unsigned long wanted_spi = std::strtoul(which.c_str(), &end, 0);
  bool by_spi = !which.empty() && end != nullptr && *end == 0;
  for (const auto& s : gw.sa_snapshot()) {
    const dp::SaParams& p = *s.params;
    if (!which.empty() && p.name != which && !(by_spi && p.spi == wanted_spi)) continue;
    char spi[16];
    std::snprintf(spi, sizeof spi, "0x%08x", p.spi);
    std::string tunnel = p.mode == dp::SaMode::kTunnel
                             ? ip_text(p.tunnel_source, p.family) + " -> " + ip_text(p.tunnel_destination, p.family)
                             : "-";
    std::vector<Cell> cells{p.name, spi, Cell::number(p.spi),
                            p.direction == dp::SaDirection::kOutbound ? "outbound" : "inbound",
                            p.mode == dp::SaMode::kTunnel ? "tunnel" : "transport",
                            p.family == dp::IpFamily::kIpv4 ? "ipv4" : "ipv6", tunnel, p.esn ? "yes" : "no",
                            Cell::boolean(p.esn), p.nat_t ? "yes" : "no", Cell::boolean(p.nat_t),
                            s.expired ? "expired" : s.lingering ? "lingering" : "active",
                            Cell::number(uint64_t{s.owner}), s.spread ? "yes" : "no", Cell::boolean(s.spread),
                            Cell::number(s.packets),
                            Cell::number(s.bytes), Cell::number(s.drops)};
    // Keys only when asked: the console socket is root's alone, but screens and logs are not.
    if (show_keys) cells.push_back(to_hex(std::span(p.key.data(), p.key_length)) + to_hex(p.salt));
    rows.add(std::move(cells));
  }
  if (!which.empty() && rows.size() == 0) return {false, "no SA named or numbered \"" + json_escape(which) + "\"\n"};
  return {true, rows.render(json)};
}

Reply show_interfaces(const dp::Gateway& gw, bool json) {
  Rows rows({{"name", "name"}, {"role", "role"}, {"address", "address"}, {"address6", "address6"}, {"mtu", "mtu"},
             {"mac", "mac"}, {"rx", "rx_packets"}, {"tx", "tx_packets"}, {"missed", "rx_missed"}, {"device", "device"}});
  for (const auto& p : gw.port_snapshot()) {
    const dp::PortSpec& s = *p.spec;
    rows.add({s.name, s.role == dp::PortRole::kPublic ? "public" : "protected", prefix_text(s.address),
              s.has_address6 ? prefix_text(s.address6) : "-", Cell::number(uint64_t{s.mtu}), mac_text(p.mac),
              Cell::number(p.rx_packets), Cell::number(p.tx_packets), Cell::number(p.rx_missed), s.device});
  }
  return {true, rows.render(json)};
}

Reply show_policy(const dp::Gateway& gw, bool json) {
  Rows rows({{"name", "name"}, {"direction", "direction"}, {"source", "source"}, {"destination", "destination"},
             {"protocol", "protocol"}, {"action", "action"}, {"sa", "sa"}, {"priority", "priority"}});
  for (const auto& p : gw.policies()) {
    const char* action = p.action == dp::PolicyAction::kProtect ? "protect"
                         : p.action == dp::PolicyAction::kBypass ? "bypass"
                                                                 : "discard";
    rows.add({p.name, p.direction == dp::SaDirection::kOutbound ? "outbound" : "inbound",
              p.family == dp::IpFamily::kIpv4 ? prefix_text(p.source) : prefix_text(p.source6),
              p.family == dp::IpFamily::kIpv4 ? prefix_text(p.destination) : prefix_text(p.destination6),
              p.any_protocol ? "any" : std::to_string(p.protocol), action,
              p.action == dp::PolicyAction::kProtect ? p.sa : "-", Cell::number(uint64_t{p.priority})});
  }
  return {true, rows.render(json)};
}

Reply show_routes(const dp::Gateway& gw, bool json) {
  Rows rows({{"destination", "destination"}, {"via", "via"}, {"interface", "interface"}});
  for (const auto& r : gw.routes()) {
    bool v6 = r.family == dp::IpFamily::kIpv6;
    bool on_link = v6 ? std::all_of(r.gateway6.begin(), r.gateway6.end(), [](uint8_t b) { return b == 0; }) : r.gateway == 0;
    rows.add({v6 ? prefix_text(r.destination6) : prefix_text(r.destination),
              on_link ? "on link" : v6 ? ip_text(r.gateway6, dp::IpFamily::kIpv6) : ipv4_text(r.gateway),
              gw.spec().ports[r.port].name});
  }
  return {true, rows.render(json)};
}

Reply show_neighbours(const dp::Gateway& gw, bool json) {
  Rows rows({{"address", "address"}, {"mac", "mac"}});
  for (const auto& n : gw.neighbour_snapshot()) rows.add({ip_text(n.address, n.family), mac_text(n.mac)});
  return {true, rows.render(json)};
}

Reply show_workers(const dp::Gateway& gw, bool json) {
  Rows rows({{"worker", "worker"}, {"lcore", "lcore"}, {"busy", ""}, {"", "busy_percent"}, {"packets", "rx_packets"},
             {"packets/busy pass", ""}, {"", "packets_per_busy_pass"}, {"sas", "owned_sas"},
             {"handed out", "handed_out_packets"}, {"handed in", "handed_in_packets"}});
  unsigned index = 0;
  for (const auto& w : gw.worker_snapshot()) {
    uint64_t total = w.busy_cycles + w.idle_cycles;
    double busy = total ? 100.0 * static_cast<double>(w.busy_cycles) / static_cast<double>(total) : 0.0;
    double per_poll = w.busy_polls ? static_cast<double>(w.rx_packets) / static_cast<double>(w.busy_polls) : 0.0;
    char b[32], p[32];
    std::snprintf(b, sizeof b, "%.1f%%", busy);
    std::snprintf(p, sizeof p, "%.1f", per_poll);
    rows.add({Cell::number(uint64_t{index++}), Cell::number(uint64_t{w.lcore}), b, Cell::number(busy),
              Cell::number(w.rx_packets), p, Cell::number(per_poll), Cell::number(uint64_t{w.owned_sas}),
              Cell::number(w.handed_out), Cell::number(w.handed_in)});
  }
  return {true, rows.render(json)};
}

// The Prometheus text exposition format (version 0.0.4): one counter family per gateway counter,
// and per-SA families labelled by SPI and direction.
}  // namespace

std::string metrics_text(const dp::Gateway& gw) {
  std::ostringstream out;
  for (const auto& c : gw.counters()) {
    out << "# HELP rampart_" << c.name << "_total " << c.help << "\n# TYPE rampart_" << c.name << "_total counter\n"
        << "rampart_" << c.name << "_total " << c.value << "\n";
  }
  auto sas = gw.sa_snapshot();
  struct Family {
    const char* name;
    const char* help;
    uint64_t dp::SaSnapshot::*field;
  };
  for (const Family& f : {Family{"sa_packets", "packets through the SA", &dp::SaSnapshot::packets},
                          Family{"sa_bytes", "payload bytes through the SA", &dp::SaSnapshot::bytes},
                          Family{"sa_drops", "packets the SA dropped", &dp::SaSnapshot::drops}}) {
    out << "# HELP rampart_" << f.name << "_total " << f.help << "\n# TYPE rampart_" << f.name << "_total counter\n";
    for (const auto& s : sas) {
      char spi[16];
      std::snprintf(spi, sizeof spi, "0x%08x", s.params->spi);
      out << "rampart_" << f.name << "_total{spi=\"" << spi << "\",name=\"" << json_escape(s.params->name) << "\",direction=\""
          << (s.params->direction == dp::SaDirection::kOutbound ? "outbound" : "inbound") << "\"} " << s.*f.field
          << "\n";
    }
  }
  out << "# HELP rampart_sa_expired 1 when the SA has stopped (lifetime, sequence overflow)\n"
         "# TYPE rampart_sa_expired gauge\n";
  for (const auto& s : sas) {
    char spi[16];
    std::snprintf(spi, sizeof spi, "0x%08x", s.params->spi);
    out << "rampart_sa_expired{spi=\"" << spi << "\",name=\"" << json_escape(s.params->name) << "\",direction=\""
        << (s.params->direction == dp::SaDirection::kOutbound ? "outbound" : "inbound") << "\"} " << (s.expired ? 1 : 0)
        << "\n";
  }
  return out.str();
}

namespace {

const char* protocol_name(uint8_t protocol) {
  switch (protocol) {
    case IPPROTO_TCP: return "tcp";
    case IPPROTO_UDP: return "udp";
    case IPPROTO_ICMP: return "icmp";
    case IPPROTO_ICMPV6: return "icmpv6";
    case IPPROTO_ESP: return "esp";
    case IPPROTO_SCTP: return "sctp";
  }
  return nullptr;
}

// One line (or JSON object) per traced packet: where it came in, what it was, what became of it.
Reply show_trace(const dp::Gateway& gw, bool json) {
  Rows rows({{"worker", "worker"}, {"in", "in"}, {"packet", "packet"}, {"bytes", "bytes"}, {"sa", ""}, {"", "spi"},
             {"fate", "fate"}});
  const auto& ports = gw.spec().ports;
  for (const dp::TraceRecord& r : gw.trace_log()) {
    std::string packet = "not IP";
    if (r.family != 0) {
      std::array<uint8_t, 16> source{}, destination{};
      std::copy(std::begin(r.source), std::end(r.source), source.begin());
      std::copy(std::begin(r.destination), std::end(r.destination), destination.begin());
      auto family = r.family == 4 ? dp::IpFamily::kIpv4 : dp::IpFamily::kIpv6;
      const char* name = protocol_name(r.protocol);
      packet = ip_text(source, family) + (r.source_port ? ":" + std::to_string(r.source_port) : "") + " > " +
               ip_text(destination, family) + (r.destination_port ? ":" + std::to_string(r.destination_port) : "") +
               " " + (name ? name : "proto " + std::to_string(r.protocol));
    }
    std::string fate;
    switch (r.verdict) {
      case dp::TraceVerdict::kSent: fate = "sent on " + ports[r.tx_port].name; break;
      case dp::TraceVerdict::kDropped:
        fate = "dropped: " + (r.reason == dp::DropReason::kCount
                                  ? std::string("?")
                                  : std::string(dp::kDropReasonDefs[static_cast<size_t>(r.reason)].name));
        break;
      case dp::TraceVerdict::kToControl: fate = "to the control core"; break;
      case dp::TraceVerdict::kHeld: fate = "held for its next hop's address"; break;
      case dp::TraceVerdict::kHandedOff: fate = "handed to its SA's owning worker"; break;
      case dp::TraceVerdict::kOther: fate = "went on as new packets (fragments)"; break;
    }
    char spi[16] = "-";
    if (r.spi) std::snprintf(spi, sizeof spi, "0x%08x", r.spi);
    rows.add({Cell::number(uint64_t{r.worker}), ports[r.rx_port].name, packet, Cell::number(uint64_t{r.length}), spi,
              Cell::number(uint64_t{r.spi}), fate});
  }
  return {true, rows.render(json)};
}

Reply show_ike(const IkeService* ike, bool json, bool show_keys) {
  std::vector<console::Column> columns{
      {"connection", "connection"}, {"state", "state"}, {"", "why"}, {"role", ""}, {"", "initiator"}, {"peer", ""},
      {"", "peer"}, {"IKE SPIs (i:r)", "initiator_spi"}, {"suite", ""}, {"", "suite"}, {"CHILD_SA in", ""},
      {"", "inbound_spi"}, {"out", ""}, {"", "outbound_spi"}, {"rekeys (child/IKE)", ""}, {"note", ""},
      {"", "udp_encapsulation"}, {"", "requests_sent"}, {"", "retransmits"}, {"", "responses_resent"},
      {"", "resends_refused"}, {"", "cp_unanswered"}, {"", "dropped"}, {"", "child_rekeys"}, {"", "ike_rekeys"},
      {"", "dpd_checks"}};
  if (show_keys)
    for (const char* key : {"sk_ei", "sk_er", "sk_ai", "sk_ar"}) columns.push_back({"", key});
  Rows rows(std::move(columns));
  for (const auto& s : ike ? ike->status() : std::vector<IkeConnectionStatus>{}) {
    char spis[40], in[16], out[16];
    std::snprintf(spis, sizeof spis, "%016llx:%016llx", static_cast<unsigned long long>(s.initiator_spi),
                  static_cast<unsigned long long>(s.responder_spi));
    std::snprintf(in, sizeof in, "0x%08x", s.inbound_spi);
    std::snprintf(out, sizeof out, "0x%08x", s.outbound_spi);
    const ike::IkeCounters& c = s.counters;
    std::vector<Cell> cells{s.name, s.state, s.why, s.initiator ? "initiator" : "responder", Cell::boolean(s.initiator),
                            s.remote.empty() ? "-" : s.remote, s.remote, spis, s.suite.empty() ? "-" : s.suite, s.suite,
                            in, Cell::number(uint64_t{s.inbound_spi}), out, Cell::number(uint64_t{s.outbound_spi}),
                            std::to_string(c.child_rekeys) + "/" + std::to_string(c.ike_rekeys),
                            s.why.empty() ? (s.nat ? "ESP in UDP" : "") : s.why, Cell::boolean(s.nat),
                            Cell::number(c.requests_sent), Cell::number(c.retransmits), Cell::number(c.responses_resent),
                            Cell::number(c.resends_refused), Cell::number(c.cp_unanswered), Cell::number(c.dropped),
                            Cell::number(c.child_rekeys), Cell::number(c.ike_rekeys), Cell::number(c.dpd_checks)};
    if (show_keys)
      for (const auto* key : {&s.keys.sk_ei, &s.keys.sk_er, &s.keys.sk_ai, &s.keys.sk_ar}) cells.push_back(to_hex(*key));
    rows.add(std::move(cells));
  }
  if (json) return {true, rows.json()};
  const IkeTotals& t = ike ? ike->totals() : IkeTotals{};
  return {true, rows.table() + "IKE datagrams dropped: " + std::to_string(t.unknown_peer) + " from unknown peers, " +
                    std::to_string(t.unknown_spi) + " for no IKE SA, " + std::to_string(t.bad_init) +
                    " IKE_SA_INIT malformed or refused; cookies sent: " + std::to_string(t.cookies_sent) + "\n"};
}

// "ike initiate|terminate|rekey-child|rekey-ike CONNECTION".
Reply ike_command(IkeService* ike, const std::string& verb, const std::string& connection, bool json) {
  if (ike == nullptr) return {false, "ike: this gateway has no IKE\n"};
  Result<void> r = verb == "initiate"      ? ike->initiate(connection)
                   : verb == "terminate"   ? ike->terminate(connection)
                   : verb == "rekey"       ? ike->rekey(connection, false)
                   : verb == "rekey-child" ? ike->rekey(connection, false)
                   : verb == "rekey-ike"   ? ike->rekey(connection, true)
                                           : Result<void>(make_error(Errc::kInvalidArgument, "unknown: ike " + verb));
  if (!r) return {false, "ike " + verb + ": " + r.message() + "\n"};
  return {true, json ? "{}\n" : "ike " + verb + " " + connection + ": under way (show ike)\n"};
}

// A change's outcome: its summary, or why it was refused (nothing changed, unless it says so).
Reply change_reply(const Result<std::string>& r, bool json) {
  if (!r) return {false, r.message() + "\n"};
  if (json) return {true, "{\"applied\": \"" + json_escape(r.value().substr(0, r.value().size() - 1)) + "\"}\n"};
  return {true, r.value()};
}

// "sa add <settings>": what follows the command words, as typed.
std::string rest_after(const std::string& line, size_t words) {
  size_t at = 0;
  for (size_t w = 0; w < words; ++w) {
    at = line.find_first_not_of(' ', at);
    at = line.find(' ', at);
    if (at == std::string::npos) return "";
  }
  at = line.find_first_not_of(' ', at);
  return at == std::string::npos ? "" : line.substr(at);
}

}  // namespace

namespace {

// A request as its handler sees it: the words after the command's own, and the rest of the line
// as typed (settings keep their spacing).
struct Request {
  dp::Gateway& gateway;
  ConsoleState& state;
  std::vector<std::string> args;
  std::string rest;
  bool json;
  bool show_keys;
};

struct Command {
  std::vector<std::string_view> words;
  size_t min_args, max_args;
  std::string_view usage;  // what follows the words, for help
  std::string_view help;   // empty: an alias, left out of help
  Reply (*run)(Request&);
};

constexpr size_t kAnyArgs = SIZE_MAX;

Reply help(Request& r);

Reply arm_trace(Request& r) {
  char* end = nullptr;
  long n = std::strtol(r.args[0].c_str(), &end, 10);
  if (end == nullptr || *end != 0 || n < 1 || n > 10000) return {false, "trace: give a packet count from 1 to 10000\n"};
  r.gateway.arm_trace(static_cast<int32_t>(n));
  return {true, r.json ? "{}\n" : "tracing the next " + r.args[0] + " packets: \"show trace\" shows them\n"};
}

Reply clear_counters(Request& r) {
  r.state.baseline = r.gateway.counters();
  return {true, r.json ? "{}\n" : "counters cleared\n"};
}

// Every command the console answers, in the order help lists them.
const std::vector<Command>& commands() {
  static const std::vector<Command> table{
      {{"show", "counters"}, 0, 0, "", "every counter since the last clear",
       [](Request& r) { return show_counters(r.gateway, r.state, r.json, false); }},
      {{"show", "drops"}, 0, 0, "", "the drop counters that are not zero",
       [](Request& r) { return show_counters(r.gateway, r.state, r.json, true); }},
      {{"show", "interfaces"}, 0, 0, "", "ports: addresses, MTU, MAC, packets",
       [](Request& r) { return show_interfaces(r.gateway, r.json); }},
      {{"show", "policy"}, 0, 0, "", "every owner's policies as the SPDs hold them",
       [](Request& r) { return show_policy(r.gateway, r.json); }},
      {{"show", "routes"}, 0, 0, "", "connected and configured routes",
       [](Request& r) { return show_routes(r.gateway, r.json); }},
      {{"show", "neighbors"}, 0, 0, "", "resolved next hops (ARP, ND)",
       [](Request& r) { return show_neighbours(r.gateway, r.json); }},
      {{"show", "neighbours"}, 0, 0, "", "", [](Request& r) { return show_neighbours(r.gateway, r.json); }},
      {{"show", "workers"}, 0, 0, "", "each worker's load", [](Request& r) { return show_workers(r.gateway, r.json); }},
      {{"show", "sa"}, 0, 1, "[NAME|SPI] [--show-keys]", "installed SAs, or one",
       [](Request& r) { return show_sa(r.gateway, r.json, r.show_keys, r.args.empty() ? "" : r.args[0]); }},
      {{"show", "ike"}, 0, 0, "[--show-keys]", "IKE connections and their SAs",
       [](Request& r) { return show_ike(r.state.ike, r.json, r.show_keys); }},
      {{"show", "trace"}, 0, 0, "", "the packets the last trace followed",
       [](Request& r) { return show_trace(r.gateway, r.json); }},
      {{"trace"}, 1, 1, "N", "follow the next N packets", arm_trace},
      {{"counters", "clear"}, 0, 0, "", "count from zero again (workers' counters stay as they are)", clear_counters},
      {{"metrics"}, 0, 0, "", "every counter in Prometheus' text format",
       [](Request& r) { return Reply{true, metrics_text(r.gateway)}; }},
      {{"sa", "add"}, 1, kAnyArgs, "SETTINGS", "install a manually keyed SA",
       [](Request& r) { return change_reply(add_sa(r.gateway, r.state.running, r.rest), r.json); }},
      {{"sa", "del"}, 1, 1, "NAME", "remove an SA",
       [](Request& r) { return change_reply(delete_sa(r.gateway, r.state.running, r.rest), r.json); }},
      {{"policy", "add"}, 1, kAnyArgs, "SETTINGS", "add a policy",
       [](Request& r) { return change_reply(add_policy(r.gateway, r.state.running, r.rest), r.json); }},
      {{"policy", "del"}, 1, 1, "NAME", "remove a policy",
       [](Request& r) { return change_reply(delete_policy(r.gateway, r.state.running, r.rest), r.json); }},
      {{"route", "add"}, 1, kAnyArgs, "SETTINGS", "add a route",
       [](Request& r) { return change_reply(add_route(r.gateway, r.state.running, r.rest), r.json); }},
      {{"route", "del"}, 1, 1, "PREFIX", "remove a route",
       [](Request& r) { return change_reply(delete_route(r.gateway, r.state.running, r.rest), r.json); }},
      {{"config", "reload"}, 0, 1, "[FILE]", "apply the config file's changes",
       [](Request& r) {
         return change_reply(reload_config(r.gateway, r.state.ike, r.state.running, r.args.empty() ? "" : r.args[0]), r.json);
       }},
      {{"ike", "initiate"}, 1, 1, "CONNECTION", "start a connection's IKE SA",
       [](Request& r) { return ike_command(r.state.ike, "initiate", r.args[0], r.json); }},
      {{"ike", "terminate"}, 1, 1, "CONNECTION", "end it (Delete sent), and keep it down",
       [](Request& r) { return ike_command(r.state.ike, "terminate", r.args[0], r.json); }},
      {{"ike", "rekey-child"}, 1, 1, "CONNECTION", "rekey its CHILD_SA",
       [](Request& r) { return ike_command(r.state.ike, "rekey-child", r.args[0], r.json); }},
      {{"ike", "rekey"}, 1, 1, "CONNECTION", "", [](Request& r) { return ike_command(r.state.ike, "rekey", r.args[0], r.json); }},
      {{"ike", "rekey-ike"}, 1, 1, "CONNECTION", "rekey its IKE SA",
       [](Request& r) { return ike_command(r.state.ike, "rekey-ike", r.args[0], r.json); }},
      {{"help"}, 0, 0, "", "this list", help},
  };
  return table;
}

std::string usage_of(const Command& c) {
  std::string text;
  for (std::string_view w : c.words) text += std::string(w) + " ";
  text += c.usage;
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

Reply help(Request& r) {
  Rows rows({{"command", "command"}, {"", "help"}, {"what it does", ""}});
  for (const Command& c : commands())
    if (!c.help.empty()) rows.add({usage_of(c), std::string(c.help), std::string(c.help)});
  return {true, rows.render(r.json)};
}

// The command whose words begin the request and whose argument count fits; the longest such.
const Command* find_command(const std::vector<std::string>& words) {
  const Command* best = nullptr;
  for (const Command& c : commands()) {
    if (c.words.size() > words.size() || !std::equal(c.words.begin(), c.words.end(), words.begin())) continue;
    size_t args = words.size() - c.words.size();
    if (args < c.min_args || args > c.max_args) continue;
    if (best == nullptr || c.words.size() > best->words.size()) best = &c;
  }
  return best;
}

}  // namespace

console::Reply handle_console_command(dp::Gateway& gateway, ConsoleState& state, const std::string& raw) {
  std::string request = raw;
  bool json = false;
  if (request.size() >= 7 && request.compare(request.size() - 7, 7, " --json") == 0) {
    json = true;
    request.resize(request.size() - 7);
  }
  std::istringstream in(request);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  bool show_keys = std::erase(words, std::string("--show-keys")) > 0;
  json = std::erase(words, std::string("--json")) > 0 || json;
  if (const Command* c = find_command(words)) {
    Request r{gateway, state, {words.begin() + static_cast<std::ptrdiff_t>(c->words.size()), words.end()},
              rest_after(request, c->words.size()), json, show_keys};
    return c->run(r);
  }
  std::string known;
  for (const Command& c : commands())
    if (!c.help.empty()) known += (known.empty() ? "" : ", ") + usage_of(c);
  return {false, "unknown command \"" + json_escape(raw.substr(0, 80)) + "\"; commands: " + known +
                     "; --json after any\n"};
}

}  // namespace rampart::app
