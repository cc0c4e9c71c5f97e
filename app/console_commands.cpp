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

namespace rampart::app {

namespace {

using console::json_escape;
using console::Reply;

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

// A table from rows of cells: every column as wide as its widest cell.
std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size(); ++c) {
      if (width.size() <= c) width.push_back(0);
      width[c] = std::max(width[c], row[c].size());
    }
  std::string out;
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) {
      out += row[c];
      if (c + 1 < row.size()) out.append(width[c] - row[c].size() + 2, ' ');
    }
    out += '\n';
  }
  return out;
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
  std::vector<std::vector<std::string>> rows{
      {"name", "spi", "direction", "mode", "family", "tunnel", "esn", "nat-t", "state", "packets", "bytes", "drops"}};
  if (show_keys) rows[0].push_back("key");
  char* end = nullptr;
  unsigned long wanted_spi = std::strtoul(which.c_str(), &end, 0);
  bool by_spi = !which.empty() && end != nullptr && *end == 0;
  bool found = which.empty();
  std::ostringstream j;
  j << "[";
  bool first = true;
  for (const auto& s : gw.sa_snapshot()) {
    const dp::SaParams& p = *s.params;
    if (!which.empty() && p.name != which && !(by_spi && p.spi == wanted_spi)) continue;
    found = true;
    char spi[16];
    std::snprintf(spi, sizeof spi, "0x%08x", p.spi);
    const char* direction = p.direction == dp::SaDirection::kOutbound ? "outbound" : "inbound";
    const char* mode = p.mode == dp::SaMode::kTunnel ? "tunnel" : "transport";
    const char* family = p.family == dp::IpFamily::kIpv4 ? "ipv4" : "ipv6";
    std::string tunnel = p.mode == dp::SaMode::kTunnel
                             ? ip_text(p.tunnel_source, p.family) + " -> " + ip_text(p.tunnel_destination, p.family)
                             : "-";
    const char* state = s.expired ? "expired" : s.lingering ? "lingering" : "active";
    // Keys only when asked: the console socket is root's alone, but screens and logs are not.
    std::string key;
    if (show_keys) key = to_hex(std::span(p.key.data(), p.key_length)) + to_hex(p.salt);
    rows.push_back({p.name, spi, direction, mode, family, tunnel, p.esn ? "yes" : "no", p.nat_t ? "yes" : "no", state,
                    std::to_string(s.packets), std::to_string(s.bytes), std::to_string(s.drops)});
    if (show_keys) rows.back().push_back(key);
    j << (first ? "" : ", ") << "{\"name\": \"" << json_escape(p.name) << "\", \"spi\": " << p.spi << ", \"direction\": \"" << direction << "\", \"mode\": \""
      << mode << "\", \"family\": \"" << family << "\", \"tunnel\": \"" << json_escape(tunnel)
      << "\", \"esn\": " << (p.esn ? "true" : "false") << ", \"nat_t\": " << (p.nat_t ? "true" : "false")
      << ", \"state\": \"" << state << "\", \"packets\": " << s.packets << ", \"bytes\": " << s.bytes
      << ", \"drops\": " << s.drops;
    if (show_keys) j << ", \"key\": \"" << key << "\"";
    j << "}";
    first = false;
  }
  j << "]\n";
  if (!found) return {false, "no SA named or numbered \"" + json_escape(which) + "\"\n"};
  return {true, json ? j.str() : table(rows)};
}

Reply show_interfaces(const dp::Gateway& gw, bool json) {
  std::vector<std::vector<std::string>> rows{{"name", "role", "address", "address6", "mtu", "mac", "rx", "tx", "missed", "device"}};
  std::ostringstream j;
  j << "[";
  bool first = true;
  for (const auto& p : gw.port_snapshot()) {
    const dp::PortSpec& s = *p.spec;
    const char* role = s.role == dp::PortRole::kPublic ? "public" : "protected";
    std::string v6 = s.has_address6 ? prefix_text(s.address6) : "-";
    rows.push_back({s.name, role, prefix_text(s.address), v6, std::to_string(s.mtu), mac_text(p.mac),
                    std::to_string(p.rx_packets), std::to_string(p.tx_packets), std::to_string(p.rx_missed), s.device});
    j << (first ? "" : ", ") << "{\"name\": \"" << json_escape(s.name) << "\", \"role\": \"" << role
      << "\", \"address\": \"" << prefix_text(s.address) << "\", \"address6\": \"" << v6 << "\", \"mtu\": " << s.mtu
      << ", \"mac\": \"" << mac_text(p.mac) << "\", \"rx_packets\": " << p.rx_packets
      << ", \"tx_packets\": " << p.tx_packets << ", \"rx_missed\": " << p.rx_missed << ", \"device\": \""
      << json_escape(s.device) << "\"}";
    first = false;
  }
  j << "]\n";
  return {true, json ? j.str() : table(rows)};
}

Reply show_policy(const dp::Gateway& gw, bool json) {
  std::vector<std::vector<std::string>> rows{
      {"name", "direction", "source", "destination", "protocol", "action", "sa", "priority"}};
  std::ostringstream j;
  j << "[";
  bool first = true;
  for (const auto& p : gw.policies()) {
    const char* direction = p.direction == dp::SaDirection::kOutbound ? "outbound" : "inbound";
    std::string source = p.family == dp::IpFamily::kIpv4 ? prefix_text(p.source) : prefix_text(p.source6);
    std::string destination = p.family == dp::IpFamily::kIpv4 ? prefix_text(p.destination) : prefix_text(p.destination6);
    std::string protocol = p.any_protocol ? "any" : std::to_string(p.protocol);
    const char* action = p.action == dp::PolicyAction::kProtect ? "protect"
                         : p.action == dp::PolicyAction::kBypass ? "bypass"
                                                                 : "discard";
    std::string sa = p.action == dp::PolicyAction::kProtect ? p.sa : "-";
    rows.push_back({p.name, direction, source, destination, protocol, action, sa, std::to_string(p.priority)});
    j << (first ? "" : ", ") << "{\"name\": \"" << json_escape(p.name) << "\", \"direction\": \"" << direction << "\", \"source\": \"" << source
      << "\", \"destination\": \"" << destination << "\", \"protocol\": \"" << protocol << "\", \"action\": \""
      << action << "\", \"sa\": \"" << sa << "\", \"priority\": " << p.priority << "}";
    first = false;
  }
  j << "]\n";
  return {true, json ? j.str() : table(rows)};
}

Reply show_routes(const dp::Gateway& gw, bool json) {
  std::vector<std::vector<std::string>> rows{{"destination", "via", "interface"}};
  std::ostringstream j;
  j << "[";
  bool first = true;
  for (const auto& r : gw.routes()) {
    bool v6 = r.family == dp::IpFamily::kIpv6;
    std::string destination = v6 ? prefix_text(r.destination6) : prefix_text(r.destination);
    bool on_link = v6 ? std::all_of(r.gateway6.begin(), r.gateway6.end(), [](uint8_t b) { return b == 0; }) : r.gateway == 0;
    std::string via = on_link ? "on link" : v6 ? ip_text(r.gateway6, dp::IpFamily::kIpv6) : ipv4_text(r.gateway);
    const std::string& port = gw.spec().ports[r.port].name;
    rows.push_back({destination, via, port});
    j << (first ? "" : ", ") << "{\"destination\": \"" << destination << "\", \"via\": \"" << via
      << "\", \"interface\": \"" << json_escape(port) << "\"}";
    first = false;
  }
  j << "]\n";
  return {true, json ? j.str() : table(rows)};
}

Reply show_neighbours(const dp::Gateway& gw, bool json) {
  std::vector<std::vector<std::string>> rows{{"address", "mac"}};
  std::ostringstream j;
  j << "[";
  bool first = true;
  for (const auto& n : gw.neighbour_snapshot()) {
    std::string address = ip_text(n.address, n.family);
    rows.push_back({address, mac_text(n.mac)});
    j << (first ? "" : ", ") << "{\"address\": \"" << address << "\", \"mac\": \"" << mac_text(n.mac) << "\"}";
    first = false;
  }
  j << "]\n";
  return {true, json ? j.str() : table(rows)};
}

Reply show_workers(const dp::Gateway& gw, bool json) {
  std::vector<std::vector<std::string>> rows{{"lcore", "busy", "packets", "packets/busy pass"}};
  std::ostringstream j;
  j << "[";
  bool first = true;
  for (const auto& w : gw.worker_snapshot()) {
    uint64_t total = w.busy_cycles + w.idle_cycles;
    double busy = total ? 100.0 * static_cast<double>(w.busy_cycles) / static_cast<double>(total) : 0.0;
    double per_poll = w.busy_polls ? static_cast<double>(w.rx_packets) / static_cast<double>(w.busy_polls) : 0.0;
    char b[32], p[32];
    std::snprintf(b, sizeof b, "%.1f%%", busy);
    std::snprintf(p, sizeof p, "%.1f", per_poll);
    rows.push_back({std::to_string(w.lcore), b, std::to_string(w.rx_packets), p});
    j << (first ? "" : ", ") << "{\"lcore\": " << w.lcore << ", \"busy_percent\": " << busy
      << ", \"rx_packets\": " << w.rx_packets << ", \"packets_per_busy_pass\": " << per_poll << "}";
    first = false;
  }
  j << "]\n";
  return {true, json ? j.str() : table(rows)};
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

Reply metrics(const dp::Gateway& gw) { return {true, metrics_text(gw)}; }

}  // namespace

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
  std::vector<std::vector<std::string>> rows{{"worker", "in", "packet", "bytes", "sa", "fate"}};
  std::ostringstream j;
  j << "[";
  bool first = true;
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
      case dp::TraceVerdict::kOther: fate = "went on as new packets (fragments)"; break;
    }
    char spi[16] = "-";
    if (r.spi) std::snprintf(spi, sizeof spi, "0x%08x", r.spi);
    rows.push_back({std::to_string(r.worker), ports[r.rx_port].name, packet, std::to_string(r.length), spi, fate});
    j << (first ? "" : ", ") << "{\"worker\": " << r.worker << ", \"in\": \"" << json_escape(ports[r.rx_port].name)
      << "\", \"packet\": \"" << json_escape(packet) << "\", \"bytes\": " << r.length << ", \"spi\": " << r.spi
      << ", \"fate\": \"" << json_escape(fate) << "\"}";
    first = false;
  }
  j << "]\n";
  return {true, json ? j.str() : table(rows)};
}

Reply show_ike(const IkeService* ike, bool json, bool show_keys) {
  std::vector<std::vector<std::string>> rows{
      {"connection", "state", "role", "peer", "IKE SPIs (i:r)", "suite", "CHILD_SA in", "out", "rekeys (child/IKE)", "note"}};
  std::ostringstream j;
  j << "[";
  bool first = true;
  for (const auto& s : ike ? ike->status() : std::vector<IkeConnectionStatus>{}) {
    char spis[40], in[16], out[16];
    std::snprintf(spis, sizeof spis, "%016llx:%016llx", static_cast<unsigned long long>(s.initiator_spi),
                  static_cast<unsigned long long>(s.responder_spi));
    std::snprintf(in, sizeof in, "0x%08x", s.inbound_spi);
    std::snprintf(out, sizeof out, "0x%08x", s.outbound_spi);
    std::string note = s.why.empty() ? (s.nat ? "ESP in UDP" : "") : s.why;
    rows.push_back({s.name, s.state, s.initiator ? "initiator" : "responder", s.remote.empty() ? "-" : s.remote, spis,
                    s.suite.empty() ? "-" : s.suite, in, out,
                    std::to_string(s.counters.child_rekeys) + "/" + std::to_string(s.counters.ike_rekeys), note});
    const ike::IkeCounters& c = s.counters;
    j << (first ? "" : ", ") << "{\"connection\": \"" << json_escape(s.name) << "\", \"state\": \"" << s.state
      << "\", \"why\": \"" << json_escape(s.why) << "\", \"initiator\": " << (s.initiator ? "true" : "false")
      << ", \"peer\": \"" << s.remote << "\", \"initiator_spi\": \"" << spis << "\", \"suite\": \"" << s.suite
      << "\", \"inbound_spi\": " << s.inbound_spi << ", \"outbound_spi\": " << s.outbound_spi
      << ", \"udp_encapsulation\": " << (s.nat ? "true" : "false") << ", \"requests_sent\": " << c.requests_sent
      << ", \"retransmits\": " << c.retransmits << ", \"responses_resent\": " << c.responses_resent << ", \"resends_refused\": " << c.resends_refused << ", \"cp_unanswered\": " << c.cp_unanswered
      << ", \"dropped\": " << c.dropped << ", \"child_rekeys\": " << c.child_rekeys << ", \"ike_rekeys\": " << c.ike_rekeys
      << ", \"dpd_checks\": " << c.dpd_checks;
    if (show_keys)
      j << ", \"sk_ei\": \"" << to_hex(s.keys.sk_ei) << "\", \"sk_er\": \"" << to_hex(s.keys.sk_er) << "\", \"sk_ai\": \""
        << to_hex(s.keys.sk_ai) << "\", \"sk_ar\": \"" << to_hex(s.keys.sk_ar) << "\"";
    j << "}";
    first = false;
  }
  j << "]\n";
  if (json) return {true, j.str()};
  const IkeTotals& t = ike ? ike->totals() : IkeTotals{};
  return {true, table(rows) + "IKE datagrams dropped: " + std::to_string(t.unknown_peer) + " from unknown peers, " +
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
  if (words.size() >= 2 && words[0] == "show") {
    if (words.size() == 2 && words[1] == "counters") return show_counters(gateway, state, json, false);
    if (words.size() == 2 && words[1] == "drops") return show_counters(gateway, state, json, true);
    if (words.size() == 2 && words[1] == "routes") return show_routes(gateway, json);
    if (words.size() == 2 && (words[1] == "neighbors" || words[1] == "neighbours")) return show_neighbours(gateway, json);
    if (words.size() == 2 && words[1] == "workers") return show_workers(gateway, json);
    if (words.size() <= 3 && words[1] == "sa") return show_sa(gateway, json, show_keys, words.size() == 3 ? words[2] : "");
    if (words.size() == 2 && words[1] == "interfaces") return show_interfaces(gateway, json);
    if (words.size() == 2 && words[1] == "policy") return show_policy(gateway, json);
    if (words.size() == 2 && words[1] == "ike") return show_ike(state.ike, json, show_keys);
  }
  if (words.size() == 1 && words[0] == "metrics") return metrics(gateway);
  if (words.size() == 3 && words[0] == "ike") return ike_command(state.ike, words[1], words[2], json);
  if (words.size() == 2 && words[0] == "show" && words[1] == "trace") return show_trace(gateway, json);
  if (words.size() == 2 && words[0] == "trace") {
    char* end = nullptr;
    long n = std::strtol(words[1].c_str(), &end, 10);
    if (end == nullptr || *end != 0 || n < 1 || n > 10000) return {false, "trace: give a packet count from 1 to 10000\n"};
    gateway.arm_trace(static_cast<int32_t>(n));
    return {true, json ? "{}\n" : "tracing the next " + words[1] + " packets: \"show trace\" shows them\n"};
  }
  if (words.size() == 2 && words[0] == "counters" && words[1] == "clear") {
    state.baseline = gateway.counters();
    return {true, json ? "{}\n" : "counters cleared\n"};
  }
  if (words.size() >= 3 && (words[1] == "add" || words[1] == "del")) {
    bool add = words[1] == "add";
    std::string argument = rest_after(request, 2);
    if (words[0] == "sa")
      return change_reply(add ? add_sa(gateway, state.running, argument) : delete_sa(gateway, state.running, argument), json);
    if (words[0] == "policy")
      return change_reply(add ? add_policy(gateway, state.running, argument) : delete_policy(gateway, state.running, argument),
                          json);
    if (words[0] == "route")
      return change_reply(add ? add_route(gateway, state.running, argument) : delete_route(gateway, state.running, argument),
                          json);
  }
  if (words.size() >= 2 && words.size() <= 3 && words[0] == "config" && words[1] == "reload")
    return change_reply(reload_config(gateway, state.ike, state.running, words.size() == 3 ? words[2] : ""), json);
  return {false, "unknown command \"" + json_escape(raw.substr(0, 80)) + "\"; commands: show " +
                     "counters|drops|interfaces|policy|routes|neighbors|workers|ike, show sa [NAME|SPI] [--show-keys], " +
                     "counters clear, metrics, sa add SETTINGS, sa del NAME, policy add SETTINGS, policy del NAME, " +
                     "route add SETTINGS, route del PREFIX, config reload [FILE], trace N, show trace, " +
                     "ike initiate|terminate|rekey-child|rekey-ike CONNECTION; --json after any\n"};
}

}  // namespace rampart::app
