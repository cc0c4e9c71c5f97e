// What the control plane (config, IKE) hands the data plane to install an SA: plain values. This is the one data-plane header that ike/ and config/ may include.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace rampart::dp {

enum class SaDirection : uint8_t { kInbound, kOutbound };
enum class SaMode : uint8_t { kTunnel, kTransport };
enum class IpFamily : uint8_t { kIpv4, kIpv6 };
// What the outer IPv4 header's DF bit gets in tunnel mode (RFC 4301 section 8.1).
enum class DfPolicy : uint8_t { kCopy, kSet, kClear };

// 0 means no limit. Workers enforce bytes and packets; the control core enforces seconds.
struct SaLifetime {
  uint64_t soft_bytes = 0;
  uint64_t hard_bytes = 0;
  uint64_t soft_packets = 0;
  uint64_t hard_packets = 0;
  uint64_t soft_seconds = 0;
  uint64_t hard_seconds = 0;
  bool operator==(const SaLifetime&) const = default;
};

struct SaParams {
  // Policies name the SA that protects their traffic by this; installing an SA under a name that
  // is in use replaces that SA (a rekey), without a policy changing.
  std::string name;
  uint32_t spi = 0;
  SaDirection direction = SaDirection::kOutbound;
  SaMode mode = SaMode::kTunnel;
  // Tunnel: the outer header's family. Transport: the family of the packets the SA protects.
  IpFamily family = IpFamily::kIpv4;
  // Tunnel endpoints, network order (IPv4 in the first 4 bytes). Outbound: source = this
  // gateway. Inbound: destination = this gateway.
  std::array<uint8_t, 16> tunnel_source{};
  std::array<uint8_t, 16> tunnel_destination{};
  // Inbound: packets must be addressed to tunnel_destination when it is set (RFC 4301 4.4.2.1:
  // the SAD is searched by SPI and destination), and come from tunnel_source too when this is
  // set (off for peers behind a NAT whose public address may change).
  bool check_source = false;

  std::array<std::byte, 32> key{};  // AES key, 16, 24 or 32 bytes used
  uint8_t key_length = 16;
  std::array<std::byte, 4> salt{};  // RFC 4106: the 4 bytes after the key in the keying material

  bool esn = false;
  uint32_t replay_window = 4096;  // inbound only; power of two, 32 to 2^24, or 0: anti-replay off

  // NAT-T (RFC 3948): ESP inside UDP. Outbound: source port is ours, destination the peer's.
  // Inbound: destination port must be nat_local_port.
  bool nat_t = false;
  uint16_t nat_local_port = 4500;
  uint16_t nat_remote_port = 4500;

  DfPolicy df = DfPolicy::kCopy;
  bool copy_dscp = true;
  uint8_t ttl = 64;  // outer TTL or hop limit in tunnel mode

  SaLifetime lifetime;
  // Outbound: the sequence number already used; the first packet carries initial_seq + 1.
  // Inbound: the highest sequence number already seen (the window's starting top).
  uint64_t initial_seq = 0;
  // The explicit IV of a packet is its sequence number plus an offset, unique per packet under
  // one key as RFC 4106 section 3.1 requires. Unset (always, but in known-answer tests): a random
  // offset is drawn at every install, so that a restart, a reload or a rekey by hand that reuses
  // a manual key does not send the same nonces again.
  std::optional<uint64_t> iv_offset;
  // Outbound, with several workers: any worker seals the SA's packets, reserving sequence
  // numbers a run at a time, instead of handing them to its owner: one tunnel beyond one core.
  // For a few big tunnels; each run of it costs an atomic add on a line the workers share.
  bool spread = false;
  bool operator==(const SaParams&) const = default;
};

// What a worker tells the control core about an SA, over the worker's event ring.
// kSeqNearOverflow: an outbound SA has used 15/16 of its sequence numbers (2^32 without ESN):
// time to rekey before kSeqOverflow stops it. kAcquire: traffic met a protect policy whose SA
// slot holds no SA (spi then holds the slot): IKE may start the SA (a "trap").
enum class SaEventKind : uint8_t { kSoftLifetime, kHardLifetime, kSeqOverflow, kSeqNearOverflow, kAcquire };

struct SaEvent {
  uint32_t spi;
  SaDirection direction;
  SaEventKind kind;
  uint16_t reserved = 0;
};
static_assert(sizeof(SaEvent) == 8, "ring elements must be a multiple of 4 bytes");

}  // namespace rampart::dp
