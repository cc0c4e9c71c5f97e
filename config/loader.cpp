// Loads a libconfig++ file into cfg::Config and checks it. Each check reports where
// ("file:line: setting.path:") and what was expected; the loader keeps going after an error so
// that the operator sees every problem in one run.
#include <libconfig.h++>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <set>
#include <sstream>

#include "common/hex.hpp"
#include "config/config.hpp"

namespace rampart::cfg {

namespace {

using libconfig::Setting;

const char* type_name(Setting::Type type) {
  switch (type) {
    case Setting::TypeInt:
    case Setting::TypeInt64: return "an integer";
    case Setting::TypeFloat: return "a number";
    case Setting::TypeString: return "a string";
    case Setting::TypeBoolean: return "a boolean";
    case Setting::TypeGroup: return "a group";
    case Setting::TypeArray: return "an array";
    case Setting::TypeList: return "a list";
    case Setting::TypeNone: break;
  }
  return "nothing";
}

std::string join_path(const std::string& parent, const std::string& name) {
  return parent.empty() ? name : parent + "." + name;
}

std::string index_path(const std::string& parent, int index) {
  return parent + "[" + std::to_string(index) + "]";
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

class Loader {
 public:
  explicit Loader(std::string file) : file_(std::move(file)) {}

  void load(const Setting& root, Config& out, bool check_across);
  void cross_check(const Config& config);  // names, SPIs and references across sections
  bool failed() const { return !errors_.empty(); }
  std::string report() const {
    std::string all;
    for (const auto& e : errors_) all += (all.empty() ? "" : "\n") + e;
    return all;
  }

 private:
  void error(int line, const std::string& path, const std::string& what) {
    errors_.push_back(file_ + ":" + std::to_string(line) + ": " + path + ": " + what);
  }
  void error(const Setting& s, const std::string& path, const std::string& what) {
    error(static_cast<int>(s.getSourceLine()), path, what);
  }

  // Unknown settings are errors: a misspelt "replay_windwo" must not be silently ignored.
  void check_known(const Setting& group, const std::string& path,
                   std::initializer_list<std::string_view> known);

  const Setting* member(const Setting& group, const std::string& path, const char* name,
                        Setting::Type want, bool required);
  std::optional<std::string> get_string(const Setting& g, const std::string& path, const char* name,
                                        bool required);
  std::optional<uint64_t> get_uint(const Setting& g, const std::string& path, const char* name,
                                   uint64_t min, uint64_t max, bool required);
  std::optional<bool> get_bool(const Setting& g, const std::string& path, const char* name);

  // A string setting parsed by parse(); names what it expected on failure.
  template <typename T, typename Parse>
  std::optional<T> get_parsed(const Setting& g, const std::string& path, const char* name,
                              bool required, const char* expected, Parse parse);

  void load_dataplane(const Setting& s, const std::string& path, DataplaneConfig& out);
  void load_interface(const Setting& s, const std::string& path, InterfaceConfig& out);
  void load_sa(const Setting& s, const std::string& path, SaConfig& out);
  void load_lifetime(const Setting& s, const std::string& path, Lifetime& out);
  void load_route(const Setting& s, const std::string& path, RouteConfig& out);
  void load_neighbour(const Setting& s, const std::string& path, NeighbourConfig& out);
  void load_policy(const Setting& s, const std::string& path, PolicyConfig& out);
  void load_connection(const Setting& s, const std::string& path, ConnectionConfig& out);
  template <typename T, typename LoadOne>
  void load_list(const Setting& root, const char* name, std::vector<T>& out, LoadOne load_one);

  std::string file_;
  std::vector<std::string> errors_;
};

void Loader::check_known(const Setting& group, const std::string& path,
                         std::initializer_list<std::string_view> known) {
  for (int i = 0; i < group.getLength(); ++i) {
    const Setting& child = group[i];
    std::string_view name = child.getName() ? child.getName() : "";
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string expected;
      for (auto k : known) expected += (expected.empty() ? "" : ", ") + std::string(k);
      error(child, join_path(path, std::string(name)), "unknown setting (expected one of: " + expected + ")");
    }
  }
}

const Setting* Loader::member(const Setting& group, const std::string& path, const char* name,
                              Setting::Type want, bool required) {
  if (!group.exists(name)) {
    if (required)
      error(group, join_path(path, name), std::string("missing; expected ") + type_name(want));
    return nullptr;
  }
  const Setting& s = group[name];
  bool integer_ok = want == Setting::TypeInt &&
                    (s.getType() == Setting::TypeInt || s.getType() == Setting::TypeInt64);
  // libconfig's arrays hold one scalar type; a list, "( ... )", may mix them (workers = (1, "2@0")).
  bool list_ok = want == Setting::TypeArray && s.getType() == Setting::TypeList;
  if (s.getType() != want && !integer_ok && !list_ok) {
    error(s, join_path(path, name),
          std::string("expected ") + type_name(want) + ", got " + type_name(s.getType()));
    return nullptr;
  }
  return &s;
}

std::optional<std::string> Loader::get_string(const Setting& g, const std::string& path,
                                              const char* name, bool required) {
  const Setting* s = member(g, path, name, Setting::TypeString, required);
  if (!s) return std::nullopt;
  return std::string(s->c_str());
}

std::optional<uint64_t> Loader::get_uint(const Setting& g, const std::string& path,
                                         const char* name, uint64_t min, uint64_t max,
                                         bool required) {
  const Setting* s = member(g, path, name, Setting::TypeInt, required);
  if (!s) return std::nullopt;
  long long v = s->getType() == Setting::TypeInt64 ? static_cast<long long>(*s)
                                                   : static_cast<long long>(static_cast<int>(*s));
  if (v < 0 || static_cast<uint64_t>(v) < min || static_cast<uint64_t>(v) > max) {
    error(*s, join_path(path, name),
          std::to_string(v) + " is out of range (expected " + std::to_string(min) + " to " +
              std::to_string(max) + ")");
    return std::nullopt;
  }
  return static_cast<uint64_t>(v);
}

std::optional<bool> Loader::get_bool(const Setting& g, const std::string& path, const char* name) {
  const Setting* s = member(g, path, name, Setting::TypeBoolean, false);
  if (!s) return std::nullopt;
  return static_cast<bool>(*s);
}

template <typename T, typename Parse>
std::optional<T> Loader::get_parsed(const Setting& g, const std::string& path, const char* name,
                                    bool required, const char* expected, Parse parse) {
  const Setting* s = member(g, path, name, Setting::TypeString, required);
  if (!s) return std::nullopt;
  std::string text = s->c_str();
  std::optional<T> value = parse(text);
  if (!value) error(*s, join_path(path, name), quoted(text) + " is not " + expected);
  return value;
}

std::optional<Direction> parse_direction(const std::string& s) {
  if (s == "inbound") return Direction::kInbound;
  if (s == "outbound") return Direction::kOutbound;
  return std::nullopt;
}

void Loader::load_dataplane(const Setting& s, const std::string& path, DataplaneConfig& out) {
  check_known(s, path, {"workers", "burst", "mbufs", "replay_window", "hugepages", "memory_mb", "max_sas"});
  if (auto v = get_bool(s, path, "hugepages")) out.hugepages = *v;
  if (auto v = get_uint(s, path, "memory_mb", 64, 1u << 20, false)) out.memory_mb = static_cast<unsigned>(*v);
  out.workers_line = static_cast<int>(s.getSourceLine());
  if (const Setting* w = member(s, path, "workers", Setting::TypeArray, false)) {
    out.workers_line = static_cast<int>(w->getSourceLine());
    out.worker_lcores.clear();
    out.worker_cpus.clear();
    std::set<unsigned> seen;
    for (int i = 0; i < w->getLength(); ++i) {
      const Setting& e = (*w)[i];
      std::string p = index_path(join_path(path, "workers"), i);
      // An lcore runs on the CPU of its number, or, as EAL's --lcores writes it, "LCORE@CPU":
      // several lcores on one CPU (correct, but each gets a share of it: for tests).
      long lcore = -1, cpu = -1;
      if (e.getType() == Setting::TypeInt) {
        lcore = cpu = static_cast<int>(e);
      } else if (e.getType() == Setting::TypeString) {
        std::string text = e.c_str();
        char* end = nullptr;
        size_t at = text.find('@');
        if (at != std::string::npos && at > 0 && at + 1 < text.size()) {
          lcore = std::strtol(text.c_str(), &end, 10);
          if (end != text.c_str() + at) lcore = -2;
          cpu = std::strtol(text.c_str() + at + 1, &end, 10);
          if (*end != 0) cpu = -2;
        }
        if (lcore == -1 || lcore == -2 || cpu == -2) {
          error(e, p, "\"" + text + "\" is not an lcore or \"LCORE@CPU\"");
          continue;
        }
      } else {
        error(e, p, std::string("expected an lcore number or \"LCORE@CPU\", got ") + type_name(e.getType()));
        continue;
      }
      if (lcore < 0 || lcore >= 128) {
        error(e, p, std::to_string(lcore) + " is not an lcore number (0 to 127)");
      } else if (cpu < 0 || cpu >= 1024) {
        error(e, p, std::to_string(cpu) + " is not a CPU number (0 to 1023)");
      } else if (!seen.insert(static_cast<unsigned>(lcore)).second) {
        error(e, p, "lcore " + std::to_string(lcore) + " is listed twice");
      } else {
        out.worker_lcores.push_back(static_cast<unsigned>(lcore));
        out.worker_cpus.push_back(static_cast<unsigned>(cpu));
      }
    }
    if (w->getLength() == 0) error(*w, join_path(path, "workers"), "expected at least one lcore");
  }
  if (auto v = get_uint(s, path, "burst", 1, 256, false)) out.burst = static_cast<unsigned>(*v);
  if (auto v = get_uint(s, path, "max_sas", 2, 1u << 22, false)) out.max_sas = static_cast<unsigned>(*v);
  if (auto v = get_uint(s, path, "mbufs", 1023, 1u << 22, false)) out.mbufs = static_cast<unsigned>(*v);
  if (const Setting* rw = member(s, path, "replay_window", Setting::TypeInt, false)) {
    if (auto v = get_uint(s, path, "replay_window", 32, 1u << 20, false)) {
      if ((*v & (*v - 1)) != 0)
        error(*rw, join_path(path, "replay_window"),
              std::to_string(*v) + " is not a power of two (expected 32 to 1048576)");
      else
        out.replay_window = static_cast<unsigned>(*v);
    }
  }
}

void Loader::load_interface(const Setting& s, const std::string& path, InterfaceConfig& out) {
  out.line = static_cast<int>(s.getSourceLine());
  check_known(s, path, {"name", "device", "address", "address6", "role", "mtu"});
  out.address6 = get_parsed<IpPrefix>(s, path, "address6", false, "an IPv6 prefix",
                                      [](const std::string& t) -> std::optional<IpPrefix> {
                                        auto p = parse_ip_prefix(t);
                                        if (!p || p->address.family != Family::kIpv6) return std::nullopt;
                                        return p;
                                      });
  if (auto v = get_uint(s, path, "mtu", 576, 9000, false)) out.mtu = static_cast<unsigned>(*v);
  if (auto v = get_string(s, path, "name", true)) {
    if (v->empty()) error(s["name"], join_path(path, "name"), "must not be empty");
    out.name = *v;
  }
  if (auto v = get_string(s, path, "device", true)) out.device = *v;
  if (auto v = get_parsed<IpPrefix>(s, path, "address", true, "an IPv4 or IPv6 prefix", parse_ip_prefix))
    out.address = *v;
  auto role = get_parsed<InterfaceRole>(s, path, "role", true, "\"protected\" or \"public\"",
      [](const std::string& t) -> std::optional<InterfaceRole> {
        if (t == "protected") return InterfaceRole::kProtected;
        if (t == "public") return InterfaceRole::kPublic;
        return std::nullopt;
      });
  if (role) out.role = *role;
}

void Loader::load_connection(const Setting& s, const std::string& path, ConnectionConfig& out) {
  out.line = static_cast<int>(s.getSourceLine());
  check_known(s, path, {"name", "local", "remote", "local_id", "remote_id", "auth", "psk", "ca", "cert", "key", "ike", "esp",
                        "local_ts", "remote_ts", "start_action",
                        "initiate", "force_encap", "ike_rekey", "child_rekey", "child_rekey_bytes", "child_rekey_packets", "dpd",
                        "retransmit_tries", "spread"});
  if (auto v = get_string(s, path, "name", true)) {
    if (v->empty()) error(s["name"], join_path(path, "name"), "must not be empty");
    out.name = *v;
  }
  auto local = get_parsed<IpAddress>(s, path, "local", true, "an IPv4 or IPv6 address", parse_ip_address);
  auto remote = get_parsed<IpAddress>(s, path, "remote", true, "an IPv4 or IPv6 address", parse_ip_address);
  if (local) out.local = *local;
  if (remote) out.remote = *remote;
  if (local && remote && local->family != remote->family)
    error(s["remote"], join_path(path, "remote"), "of another family than local");
  // Datagrams find their connection by exact address: 0.0.0.0 or :: would never match one.
  for (auto [name, address] : {std::pair{"local", &local}, std::pair{"remote", &remote}})
    if (*address && std::all_of(address->value().bytes.begin(), address->value().bytes.end(), [](uint8_t b) { return b == 0; }))
      error(s[name], join_path(path, name),
            quoted(to_string(address->value())) + " is the unspecified address, which no peer has (name the peer's address)");
  if (auto v = get_string(s, path, "local_id", true)) out.local_id = *v;
  if (auto v = get_string(s, path, "remote_id", true)) out.remote_id = *v;
  if (auto v = get_string(s, path, "auth", false)) {
    if (*v != "psk" && *v != "pubkey")
      error(s["auth"], join_path(path, "auth"), "\"psk\" or \"pubkey\" (certificates)");
    else
      out.auth = *v;
  }
  bool pubkey = out.auth == "pubkey";
  if (auto v = get_string(s, path, "psk", !pubkey)) {
    if (v->size() < 16)
      error(s["psk"], join_path(path, "psk"), "a pre-shared key needs at least 16 characters");
    else
      out.psk = *v;
  }
  for (auto [name, field] : {std::pair{"ca", &out.ca}, std::pair{"cert", &out.cert}, std::pair{"key", &out.key}})
    if (auto v = get_string(s, path, name, pubkey)) *field = *v;
  if (auto v = get_string(s, path, "ike", false)) out.ike = *v;
  if (auto v = get_string(s, path, "esp", false)) out.esp = *v;
  auto local_ts = get_parsed<IpPrefix>(s, path, "local_ts", true, "an IPv4 or IPv6 prefix", parse_ip_prefix);
  auto remote_ts = get_parsed<IpPrefix>(s, path, "remote_ts", true, "an IPv4 or IPv6 prefix", parse_ip_prefix);
  if (local_ts) out.local_ts = *local_ts;
  if (remote_ts) out.remote_ts = *remote_ts;
  if (local_ts && remote_ts && local_ts->address.family != remote_ts->address.family)
    error(s["remote_ts"], join_path(path, "remote_ts"), "of another family than local_ts");
  if (auto v = get_bool(s, path, "initiate")) out.initiate = *v;
  if (auto v = get_string(s, path, "start_action", false)) {
    if (*v == "start")
      out.initiate = true;
    else if (*v == "trap")
      out.trap = true;
    else if (*v != "none")
      error(s["start_action"], join_path(path, "start_action"), "\"none\", \"start\" or \"trap\"");
  }
  if (auto v = get_bool(s, path, "force_encap")) out.force_encap = *v;
  if (auto v = get_bool(s, path, "spread")) out.spread = *v;
  if (auto v = get_uint(s, path, "ike_rekey", 0, 86400 * 7, false)) out.ike_rekey_s = static_cast<unsigned>(*v);
  if (auto v = get_uint(s, path, "child_rekey", 0, 86400 * 7, false)) out.child_rekey_s = static_cast<unsigned>(*v);
  if (auto v = get_uint(s, path, "child_rekey_bytes", 0, uint64_t{1} << 50, false)) out.child_rekey_bytes = *v;
  if (auto v = get_uint(s, path, "child_rekey_packets", 0, uint64_t{1} << 40, false)) out.child_rekey_packets = *v;
  if (auto v = get_uint(s, path, "dpd", 0, 86400, false)) out.dpd_s = static_cast<unsigned>(*v);
  if (auto v = get_uint(s, path, "retransmit_tries", 1, 20, false)) out.retransmit_tries = static_cast<unsigned>(*v);
}

void Loader::load_route(const Setting& s, const std::string& path, RouteConfig& out) {
  out.line = static_cast<int>(s.getSourceLine());
  check_known(s, path, {"destination", "via", "interface"});
  if (auto v = get_parsed<IpPrefix>(s, path, "destination", true, "an IPv4 or IPv6 prefix", parse_ip_prefix))
    out.destination = *v;
  if (auto v = get_parsed<IpAddress>(s, path, "via", true, "an IPv4 or IPv6 address", parse_ip_address)) out.via = *v;
  if (auto v = get_string(s, path, "interface", true)) out.interface = *v;
}

std::optional<std::array<uint8_t, 6>> parse_mac(const std::string& text) {
  std::array<uint8_t, 6> mac{};
  unsigned b[6];
  char tail;
  if (std::sscanf(text.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6 ||
      text.size() != 17)
    return std::nullopt;
  for (int i = 0; i < 6; ++i) mac[i] = static_cast<uint8_t>(b[i]);
  return mac;
}

void Loader::load_neighbour(const Setting& s, const std::string& path, NeighbourConfig& out) {
  out.line = static_cast<int>(s.getSourceLine());
  check_known(s, path, {"address", "mac"});
  if (auto v = get_parsed<IpAddress>(s, path, "address", true, "an IPv4 or IPv6 address", parse_ip_address))
    out.address = *v;
  if (auto v = get_parsed<std::array<uint8_t, 6>>(s, path, "mac", true, "a MAC address (\"02:00:00:00:00:01\")",
                                                  parse_mac))
    out.mac = *v;
}

void Loader::load_lifetime(const Setting& s, const std::string& path, Lifetime& out) {
  check_known(s, path, {"soft_bytes", "hard_bytes", "soft_packets", "hard_packets", "soft_seconds",
                        "hard_seconds"});
  constexpr uint64_t kMax = std::numeric_limits<int64_t>::max();
  if (auto v = get_uint(s, path, "soft_bytes", 1, kMax, false)) out.soft_bytes = *v;
  if (auto v = get_uint(s, path, "hard_bytes", 1, kMax, false)) out.hard_bytes = *v;
  if (auto v = get_uint(s, path, "soft_packets", 1, kMax, false)) out.soft_packets = *v;
  if (auto v = get_uint(s, path, "hard_packets", 1, kMax, false)) out.hard_packets = *v;
  if (auto v = get_uint(s, path, "soft_seconds", 1, kMax, false)) out.soft_seconds = *v;
  if (auto v = get_uint(s, path, "hard_seconds", 1, kMax, false)) out.hard_seconds = *v;
  auto check_order = [&](uint64_t soft, uint64_t hard, const char* soft_name) {
    if (soft != 0 && hard != 0 && soft >= hard)
      error(s[soft_name], join_path(path, soft_name),
            std::to_string(soft) + " must be below the hard limit " + std::to_string(hard));
  };
  check_order(out.soft_bytes, out.hard_bytes, "soft_bytes");
  check_order(out.soft_packets, out.hard_packets, "soft_packets");
  check_order(out.soft_seconds, out.hard_seconds, "soft_seconds");
}

void Loader::load_sa(const Setting& s, const std::string& path, SaConfig& out) {
  out.line = static_cast<int>(s.getSourceLine());
  check_known(s, path, {"name", "spi", "direction", "mode", "cipher", "key", "local", "remote",
                        "esn", "replay_window", "check_source", "nat_t", "lifetime", "spread"});
  if (auto v = get_string(s, path, "name", true)) {
    if (v->empty()) error(s["name"], join_path(path, "name"), "must not be empty");
    out.name = *v;
  }
  // SPIs 1-255 are reserved by IANA (RFC 4303 section 2.1).
  if (auto v = get_uint(s, path, "spi", 256, 0xffffffffu, true)) out.spi = static_cast<uint32_t>(*v);
  if (auto v = get_parsed<Direction>(s, path, "direction", true, "\"inbound\" or \"outbound\"", parse_direction))
    out.direction = *v;
  if (auto v = get_parsed<SaMode>(s, path, "mode", false, "\"tunnel\" or \"transport\"",
          [](const std::string& t) -> std::optional<SaMode> {
            if (t == "tunnel") return SaMode::kTunnel;
            if (t == "transport") return SaMode::kTransport;
            return std::nullopt;
          }))
    out.mode = *v;
  if (auto v = get_parsed<Cipher>(s, path, "cipher", true, "\"aes-gcm-128\" or \"aes-gcm-256\"",
          [](const std::string& t) -> std::optional<Cipher> {
            if (t == "aes-gcm-128") return Cipher::kAesGcm128;
            if (t == "aes-gcm-256") return Cipher::kAesGcm256;
            return std::nullopt;
          }))
    out.cipher = *v;
  if (const Setting* k = member(s, path, "key", Setting::TypeString, true)) {
    auto key = parse_hex(k->c_str());
    size_t want = cipher_key_length(out.cipher) + 4;
    if (!key)
      error(*k, join_path(path, "key"), "is not hex (expected " + std::to_string(want * 2) + " hex digits)");
    else if (key->size() != want)
      error(*k, join_path(path, "key"),
            "is " + std::to_string(key->size()) + " bytes; the cipher needs " + std::to_string(want) +
                " (key and 4-byte salt)");
    else
      out.key = std::move(*key);
  }
  out.local = get_parsed<IpAddress>(s, path, "local", false, "an IPv4 or IPv6 address", parse_ip_address);
  out.remote = get_parsed<IpAddress>(s, path, "remote", false, "an IPv4 or IPv6 address", parse_ip_address);
  if (out.mode == SaMode::kTunnel && (!s.exists("local") || !s.exists("remote")))
    error(s, path, "a tunnel-mode SA needs both \"local\" and \"remote\" addresses");
  if (out.local && out.remote && out.local->family != out.remote->family)
    error(s["remote"], join_path(path, "remote"), "is not the same address family as \"local\"");
  if (auto v = get_bool(s, path, "esn")) out.esn = *v;
  if (auto v = get_bool(s, path, "spread")) {
    out.spread = *v;
    if (*v && out.direction != Direction::kOutbound)
      error(s["spread"], join_path(path, "spread"), "applies to outbound SAs only (an inbound SA's window has one writer)");
  }
  if (auto v = get_bool(s, path, "check_source")) {
    out.check_source = *v;
    if (*v && out.direction != Direction::kInbound)
      error(s["check_source"], join_path(path, "check_source"), "applies to inbound SAs only");
    else if (*v && !out.remote)
      error(s["check_source"], join_path(path, "check_source"), "needs \"remote\": the address packets must come from");
  }
  if (const Setting* rw = member(s, path, "replay_window", Setting::TypeInt, false)) {
    // 0: anti-replay off, which RFC 4303 3.4.3 lets a receiver choose (a looping capture
    // replays its sequence numbers; so may a peer that restarts with the same manual key).
    std::string rw_path = join_path(path, "replay_window");
    if (auto v = get_uint(s, path, "replay_window", 0, 1u << 20, false)) {
      if (*v == 0 && out.esn && out.direction == Direction::kInbound)
        error(*rw, rw_path, "0 turns anti-replay off, and ESN needs it (RFC 4303 section 2.2.1)");
      else if (*v != 0 && *v < 32)
        error(*rw, rw_path, std::to_string(*v) + " is out of range (expected 0, off, or 32 to 1048576)");
      else if ((*v & (*v - 1)) != 0)
        error(*rw, rw_path, std::to_string(*v) + " is not a power of two");
      else
        out.replay_window = static_cast<unsigned>(*v);
    }
  }
  if (const Setting* n = member(s, path, "nat_t", Setting::TypeGroup, false)) {
    std::string np = join_path(path, "nat_t");
    check_known(*n, np, {"local_port", "remote_port"});
    NatTConfig nat;
    if (auto v = get_uint(*n, np, "local_port", 1, 65535, false)) nat.local_port = static_cast<uint16_t>(*v);
    if (auto v = get_uint(*n, np, "remote_port", 1, 65535, false)) nat.remote_port = static_cast<uint16_t>(*v);
    out.nat_t = nat;
    // Transport mode here carries the traffic of hosts behind the gateway (a bump in the wire,
    // RFC 4301 3.3); ESP in UDP to such a host is not taken from the wire, so say so now.
    if (out.mode == SaMode::kTransport)
      error(*n, np, "NAT traversal (ESP in UDP, RFC 3948) works in tunnel mode only; use mode = \"tunnel\" or remove nat_t");
  }
  if (const Setting* l = member(s, path, "lifetime", Setting::TypeGroup, false))
    load_lifetime(*l, join_path(path, "lifetime"), out.lifetime);
}

void Loader::load_policy(const Setting& s, const std::string& path, PolicyConfig& out) {
  out.line = static_cast<int>(s.getSourceLine());
  check_known(s, path, {"name", "direction", "source", "destination", "protocol", "source_ports",
                        "destination_ports", "action", "sa", "priority"});
  if (auto v = get_string(s, path, "name", true)) {
    if (v->empty()) error(s["name"], join_path(path, "name"), "must not be empty");
    out.name = *v;
  }
  if (auto v = get_parsed<Direction>(s, path, "direction", true, "\"inbound\" or \"outbound\"", parse_direction))
    out.direction = *v;
  auto selector = [&](const char* name, IpPrefix& prefix) {
    auto v = get_parsed<IpPrefix>(s, path, name, true, "an IPv4 or IPv6 prefix", parse_ip_prefix);
    if (!v) return false;
    if (has_host_bits(*v)) {
      error(s[name], join_path(path, name), quoted(s[name].c_str()) + " has bits set past the prefix length");
      return false;
    }
    prefix = *v;
    return true;
  };
  bool have_source = selector("source", out.source);
  bool have_destination = selector("destination", out.destination);
  if (have_source && have_destination && out.source.address.family != out.destination.address.family)
    error(s["destination"], join_path(path, "destination"), "is not the same address family as \"source\"");
  // "any" is a valid answer with no protocol number: it parses to kAnyProtocol.
  static constexpr int kAnyProtocol = -1;
  auto protocol = get_parsed<int>(s, path, "protocol", false,
      "a protocol (\"any\", \"tcp\", \"udp\", \"icmp\", \"icmpv6\", \"sctp\" or a number 0-255)",
      [](const std::string& t) -> std::optional<int> {
        if (t == "any") return kAnyProtocol;
        if (t == "tcp") return 6;
        if (t == "udp") return 17;
        if (t == "icmp") return 1;
        if (t == "icmpv6") return 58;
        if (t == "sctp") return 132;
        bool digits = !t.empty() && t.size() <= 3 &&
                      std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (!digits || std::stoi(t) > 255) return std::nullopt;
        return std::stoi(t);
      });
  if (protocol && *protocol != kAnyProtocol) out.protocol = static_cast<uint8_t>(*protocol);
  for (const char* name : {"source_ports", "destination_ports"}) {
    auto v = get_parsed<PortRange>(s, path, name, false, "a port or range (\"443\", \"1024-65535\", \"any\")",
                                   parse_port_range);
    if (!v) continue;
    (std::string_view(name) == "source_ports" ? out.source_ports : out.destination_ports) = *v;
    bool has_ports = out.protocol && (*out.protocol == 6 || *out.protocol == 17 || *out.protocol == 132);
    if (!v->any() && !has_ports)
      error(s[name], join_path(path, name), "ports need protocol \"tcp\", \"udp\" or \"sctp\"");
  }
  if (auto v = get_parsed<PolicyAction>(s, path, "action", true, "\"protect\", \"bypass\" or \"discard\"",
          [](const std::string& t) -> std::optional<PolicyAction> {
            if (t == "protect") return PolicyAction::kProtect;
            if (t == "bypass") return PolicyAction::kBypass;
            if (t == "discard") return PolicyAction::kDiscard;
            return std::nullopt;
          }))
    out.action = *v;
  if (auto v = get_string(s, path, "sa", false)) out.sa = *v;
  if (out.action == PolicyAction::kProtect && !s.exists("sa"))
    error(s, path, "a \"protect\" policy needs an \"sa\"");
  if (out.action != PolicyAction::kProtect && s.exists("sa"))
    error(s["sa"], join_path(path, "sa"), "only a \"protect\" policy names an SA");
  if (auto v = get_uint(s, path, "priority", 0, 65535, false)) out.priority = static_cast<unsigned>(*v);
}

template <typename T, typename LoadOne>
void Loader::load_list(const Setting& root, const char* name, std::vector<T>& out, LoadOne load_one) {
  const Setting* list = member(root, "", name, Setting::TypeList, false);
  if (!list) return;
  for (int i = 0; i < list->getLength(); ++i) {
    const Setting& e = (*list)[i];
    std::string p = index_path(name, i);
    if (!e.isGroup()) {
      error(e, p, std::string("expected a group { ... }, got ") + type_name(e.getType()));
      continue;
    }
    T item;
    (this->*load_one)(e, p, item);
    out.push_back(std::move(item));
  }
}

void Loader::cross_check(const Config& config) {
  std::set<std::string> names;
  for (size_t i = 0; i < config.interfaces.size(); ++i) {
    const auto& itf = config.interfaces[i];
    if (!itf.name.empty() && !names.insert(itf.name).second)
      error(itf.line, index_path("interfaces", static_cast<int>(i)) + ".name",
            quoted(itf.name) + " is used by an earlier interface");
  }
  for (size_t i = 0; i < config.routes.size(); ++i) {
    const auto& route = config.routes[i];
    if (!route.interface.empty() && !names.count(route.interface))
      error(route.line, index_path("routes", static_cast<int>(i)) + ".interface",
            quoted(route.interface) + " names no interface in \"interfaces\"");
  }
  names.clear();
  std::set<std::pair<Direction, uint32_t>> spis;
  for (size_t i = 0; i < config.sas.size(); ++i) {
    const auto& sa = config.sas[i];
    std::string p = index_path("sas", static_cast<int>(i));
    if (!sa.name.empty() && !names.insert(sa.name).second)
      error(sa.line, p + ".name", quoted(sa.name) + " is used by an earlier SA");
    if (sa.spi != 0 && !spis.insert({sa.direction, sa.spi}).second)
      error(sa.line, p + ".spi", "SPI " + std::to_string(sa.spi) + " is used by an earlier SA of the same direction");
  }
  // IKE installs each connection's CHILD_SA as NAME-in and NAME-out, beside the file's SAs.
  std::set<std::string> connection_names;
  for (size_t i = 0; i < config.connections.size(); ++i) {
    const auto& c = config.connections[i];
    std::string p = index_path("connections", static_cast<int>(i));
    if (!c.name.empty() && !connection_names.insert(c.name).second)
      error(c.line, p + ".name", quoted(c.name) + " is used by an earlier connection");
    for (const char* suffix : {"-in", "-out"})
      if (names.count(c.name + suffix))
        error(c.line, p + ".name", quoted(c.name) + " would name its CHILD_SA " + quoted(c.name + suffix) +
                                       ", the name of an SA in \"sas\"");
    // Datagrams find their connection by address: a second one for the same pair would never
    // hear from its peer.
    for (size_t j = 0; j < i; ++j)
      if (config.connections[j].local == c.local && config.connections[j].remote == c.remote)
        error(c.line, p + ".remote",
              "connections[" + std::to_string(j) + "] (" + quoted(config.connections[j].name) +
                  ") has the same local and remote addresses: one connection per peer address");
  }
  std::set<std::string> policy_names;
  for (size_t i = 0; i < config.policies.size(); ++i) {
    const auto& pol = config.policies[i];
    if (!pol.name.empty() && !policy_names.insert(pol.name).second)
      error(pol.line, index_path("policies", static_cast<int>(i)) + ".name", quoted(pol.name) + " is used by an earlier policy");
    if (pol.sa.empty()) continue;
    auto sa = std::find_if(config.sas.begin(), config.sas.end(), [&](const SaConfig& s) { return s.name == pol.sa; });
    std::string p = index_path("policies", static_cast<int>(i)) + ".sa";
    if (sa == config.sas.end())
      error(pol.line, p, quoted(pol.sa) + " names no SA in \"sas\"");
    else if (sa->direction != pol.direction)
      error(pol.line, p, quoted(pol.sa) + " is an SA of the other direction");
  }
}

void Loader::load(const Setting& root, Config& out, bool check_across) {
  check_known(root, "", {"log_level", "console", "dataplane", "interfaces", "routes", "neighbours", "sas", "policies",
                         "connections"});
  if (const Setting* c = member(root, "", "console", Setting::TypeGroup, false)) {
    check_known(*c, "console", {"socket", "metrics"});
    if (auto v = get_string(*c, "console", "metrics", false)) {
      auto colon = v->rfind(':');
      if (colon == std::string::npos || colon + 1 == v->size() ||
          v->find_first_not_of("0123456789", colon + 1) != std::string::npos)
        error((*c)["metrics"], "console.metrics", quoted(*v) + " is not ADDRESS:PORT (e.g. \"127.0.0.1:9464\")");
      else
        out.metrics_listen = *v;
    }
    if (auto v = get_string(*c, "console", "socket", false)) {
      if (v->empty() || (*v)[0] != '/')
        error((*c)["socket"], "console.socket", quoted(*v) + " is not an absolute path");
      else
        out.console_socket = *v;
    }
  }
  if (auto v = get_parsed<LogLevel>(root, "", "log_level", false, "\"error\", \"warning\", \"info\" or \"debug\"",
                                    [](const std::string& t) { return parse_log_level(t); }))
    out.log_level = *v;
  if (const Setting* d = member(root, "", "dataplane", Setting::TypeGroup, false))
    load_dataplane(*d, "dataplane", out.dataplane);
  load_list(root, "interfaces", out.interfaces, &Loader::load_interface);
  load_list(root, "routes", out.routes, &Loader::load_route);
  load_list(root, "neighbours", out.neighbours, &Loader::load_neighbour);
  load_list(root, "sas", out.sas, &Loader::load_sa);
  load_list(root, "policies", out.policies, &Loader::load_policy);
  load_list(root, "connections", out.connections, &Loader::load_connection);
  if (!failed() && check_across) cross_check(out);
}

template <typename Read>
Result<Config> load_with(const std::string& name, Read read, bool check_across = true) {
  libconfig::Config parsed;
  try {
    read(parsed);
  } catch (const libconfig::FileIOException&) {
    return make_error(Errc::kIo, name + ": cannot read the file");
  } catch (const libconfig::ParseException& e) {
    return make_error(Errc::kParse, name + ":" + std::to_string(e.getLine()) + ": syntax error: " + e.getError());
  }
  Config config;
  config.source = name;
  Loader loader(name);
  try {
    loader.load(parsed.getRoot(), config, check_across);
  } catch (const libconfig::SettingException& e) {
    // Our checks look before they read; reaching here is a bug in the loader, not in the file.
    return make_error(Errc::kInternal, name + ": " + e.getPath() + ": " + e.what());
  }
  if (loader.failed()) return make_error(Errc::kParse, loader.report());
  return config;
}

}  // namespace

size_t cipher_key_length(Cipher cipher) noexcept { return cipher == Cipher::kAesGcm256 ? 32 : 16; }

Result<Config> load_config_file(const std::string& path) {
  return load_with(path, [&](libconfig::Config& c) { c.readFile(path.c_str()); });
}

Result<Config> load_config_string(const std::string& text, const std::string& name) {
  return load_with(name, [&](libconfig::Config& c) { c.readString(text); });
}

Result<Config> load_config_fragment(const std::string& text, const std::string& name) {
  return load_with(name, [&](libconfig::Config& c) { c.readString(text); }, /*check_across=*/false);
}

Result<void> check_config(const Config& config, const std::string& name) {
  Loader loader(name);
  loader.cross_check(config);
  if (loader.failed()) return make_error(Errc::kInvalidArgument, loader.report());
  return {};
}

}  // namespace rampart::cfg
