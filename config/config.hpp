// Rampart's configuration as plain structs. Only config/loader.cpp knows libconfig++; everything
// else sees these. See config/rampart.conf.example for the file format.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/log.hpp"
#include "common/result.hpp"
#include "config/net_types.hpp"

namespace rampart::cfg {

struct DataplaneConfig {
  std::vector<unsigned> worker_lcores{1};
  std::vector<unsigned> worker_cpus{1};  // the CPU each worker lcore runs on (its own number unless "L@C")
  int workers_line = 0;            // where "workers" was set, for errors found at start-up
  unsigned burst = 32;             // packets per rx burst, at most 256
  unsigned mbufs = 16383;          // mbufs in the packet pool (2^n - 1 is what mempools like)
  unsigned replay_window = 4096;   // default anti-replay window for inbound SAs
  unsigned max_sas = 4096;         // SAs installed at once (console, IKE): sizes the SAD and slot arrays
  bool hugepages = false;          // false: EAL runs with --no-huge (tests, demos, CI)
  unsigned memory_mb = 512;        // EAL memory
};

enum class InterfaceRole : uint8_t { kProtected, kPublic };

struct InterfaceConfig {
  std::string name;
  std::string device;  // DPDK device arguments, e.g. "net_af_packet0,iface=veth0"
  IpPrefix address;
  InterfaceRole role = InterfaceRole::kProtected;
  unsigned mtu = 1500;
  std::optional<IpPrefix> address6;  // an IPv6 address beside the IPv4 one
  int line = 0;
};

// A static neighbour (a permanent ARP entry), for next hops that never answer ARP or for tests.
struct NeighbourConfig {
  IpAddress address;
  std::array<uint8_t, 6> mac{};
  int line = 0;
};

struct RouteConfig {
  IpPrefix destination;
  IpAddress via;
  std::string interface;
  int line = 0;
};

enum class Direction : uint8_t { kInbound, kOutbound };
enum class SaMode : uint8_t { kTunnel, kTransport };
enum class Cipher : uint8_t { kAesGcm128, kAesGcm256 };

// 0 means no limit. Seconds are enforced by the control core, bytes and packets by workers.
struct Lifetime {
  uint64_t soft_bytes = 0;
  uint64_t hard_bytes = 0;
  uint64_t soft_packets = 0;
  uint64_t hard_packets = 0;
  uint64_t soft_seconds = 0;
  uint64_t hard_seconds = 0;
};

struct NatTConfig {
  uint16_t local_port = 4500;
  uint16_t remote_port = 4500;
};

// A manually keyed SA. IKE installs the same struct at run time.
struct SaConfig {
  std::string name;
  uint32_t spi = 0;
  Direction direction = Direction::kOutbound;
  SaMode mode = SaMode::kTunnel;
  Cipher cipher = Cipher::kAesGcm128;
  std::vector<std::byte> key;  // AES key followed by the 4-byte salt (RFC 4106 section 8.1)
  std::optional<IpAddress> local;   // tunnel endpoints: required in tunnel mode
  std::optional<IpAddress> remote;
  bool esn = false;
  std::optional<unsigned> replay_window;  // unset: the data plane default; 0: anti-replay off (inbound)
  // Inbound: packets must come from `remote` too, not only be addressed to `local` (off: a peer
  // behind a NAT may change its public address).
  bool check_source = false;
  std::optional<NatTConfig> nat_t;
  Lifetime lifetime;
  // Outbound: sealed by every worker that meets its traffic, not only its owner (a big tunnel).
  bool spread = false;
  int line = 0;
};

enum class PolicyAction : uint8_t { kProtect, kBypass, kDiscard };

struct PolicyConfig {
  std::string name;
  Direction direction = Direction::kOutbound;
  IpPrefix source;
  IpPrefix destination;
  std::optional<uint8_t> protocol;  // none: any protocol
  PortRange source_ports;
  PortRange destination_ports;
  PolicyAction action = PolicyAction::kProtect;
  std::string sa;  // the SA's name, for PROTECT
  unsigned priority = 100;  // lower wins
  int line = 0;
};

// An IKEv2 peer (RFC 7296) with a pre-shared key: the IKE SA between local and remote, and one
// CHILD_SA protecting local_ts <-> remote_ts, over IPv4 or IPv6, UDP 500 (4500 behind a NAT).
struct ConnectionConfig {
  std::string name;
  IpAddress local, remote;  // IPv4 or IPv6, both of one family
  std::string local_id, remote_id;  // an IPv4 address, user@host, or an FQDN
  std::string auth = "psk";  // "psk", or "pubkey": certificates (RFC 7427 signatures)
  std::string psk;
  std::string ca, cert, key;  // PEM files for "pubkey"; relative paths from the config file's folder
  std::string ike = "aes128gcm16-prfsha256-ecp256";  // proposals in strongSwan's notation
  std::string esp = "aes128gcm16";                   // "aes128gcm16-ecp256": PFS on rekeys
  IpPrefix local_ts, remote_ts;
  bool initiate = false;     // start the IKE SA at start-up, and again when it dies (else wait for the peer)
  bool trap = false;         // start it when outbound traffic meets the connection's selectors
  bool force_encap = false;  // ESP in UDP 4500 even without a NAT (RFC 3948)
  unsigned ike_rekey_s = 14400, child_rekey_s = 3600;  // 0: never
  // CHILD_SA rekeys also after this much traffic in either direction (0: no limit); the data plane
  // stops an SA at 110% of it, or of child_rekey_s, if no rekey has replaced it by then.
  uint64_t child_rekey_bytes = 0, child_rekey_packets = 0;
  unsigned dpd_s = 30;                                  // liveness check after this long idle; 0: none
  unsigned retransmit_tries = 5;                        // after 0.5, 1, 2, 4, 8 s: the peer is dead
  bool spread = false;  // its outbound CHILD_SAs are sealed by every worker (a big tunnel)
  int line = 0;
  bool operator==(const ConnectionConfig&) const = default;
};

struct Config {
  std::string source;  // the file it came from
  LogLevel log_level = LogLevel::kInfo;
  std::string console_socket = "/run/rampart/rampartd.sock";  // where rampartctl finds the daemon
  std::string metrics_listen;  // "ADDRESS:PORT" for Prometheus scrapes over HTTP; empty: none
  DataplaneConfig dataplane;
  std::vector<InterfaceConfig> interfaces;
  std::vector<RouteConfig> routes;
  std::vector<NeighbourConfig> neighbours;
  std::vector<SaConfig> sas;
  std::vector<PolicyConfig> policies;
  std::vector<ConnectionConfig> connections;
};

// Every problem found is reported, one per line, as "file:line: setting.path: what is wrong".
Result<Config> load_config_file(const std::string& path);
// For tests and the console's "reload from text": name stands in for the file name in errors.
Result<Config> load_config_string(const std::string& text, const std::string& name);

// A piece of a config (the console's "sa add" settings, say): each setting checked as in a file,
// but not against the rest (an SA a policy names may be elsewhere). Then check_config runs the
// checks across sections (unique names and SPIs, references) on the config it went into.
Result<Config> load_config_fragment(const std::string& text, const std::string& name);
Result<void> check_config(const Config& config, const std::string& name);

size_t cipher_key_length(Cipher cipher) noexcept;  // AES key bytes, without the salt

}  // namespace rampart::cfg
