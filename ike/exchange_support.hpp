// What the exchanges of ike/ share: the notify types they send and look for (RFC 7296 3.10.1
// and RFC 3948/7296 2.23 for NAT-T), lookups in a payload list, randomness, identities, and
// traffic selector narrowing (2.9).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ike/message.hpp"
#include "ike/prf.hpp"

namespace rampart::ike::notify {
inline constexpr uint16_t kUnsupportedCriticalPayload = 1;
inline constexpr uint16_t kInvalidMajorVersion = 5;
inline constexpr uint16_t kInvalidSyntax = 7;
inline constexpr uint16_t kNoProposalChosen = 14;
inline constexpr uint16_t kInvalidKePayload = 17;
inline constexpr uint16_t kAuthenticationFailed = 24;
inline constexpr uint16_t kNoAdditionalSas = 35;
inline constexpr uint16_t kTsUnacceptable = 38;
inline constexpr uint16_t kTemporaryFailure = 43;
inline constexpr uint16_t kChildSaNotFound = 44;
inline constexpr uint16_t kInitialContact = 16384;
inline constexpr uint16_t kNatDetectionSourceIp = 16388;
inline constexpr uint16_t kNatDetectionDestinationIp = 16389;
inline constexpr uint16_t kCookie = 16390;
inline constexpr uint16_t kRekeySa = 16393;
inline constexpr uint16_t kSignatureHashAlgorithms = 16431;  // RFC 7427 4
// Types below 16384 are errors (3.10.1).
inline constexpr bool is_error(uint16_t type) { return type < 16384; }
}  // namespace rampart::ike::notify

namespace rampart::ike {

template <typename T>
const T* find(const std::vector<Payload>& payloads, PayloadType type) {
  for (const Payload& p : payloads)
    if (p.type == type)
      if (const auto* body = std::get_if<T>(&p.body)) return body;
  return nullptr;
}

inline const NotifyPayload* find_notify(const std::vector<Payload>& payloads, uint16_t type) {
  for (const Payload& p : payloads)
    if (const auto* n = std::get_if<NotifyPayload>(&p.body); n && n->type == type) return n;
  return nullptr;
}

// The first error notify, if any.
inline const NotifyPayload* find_error(const std::vector<Payload>& payloads) {
  for (const Payload& p : payloads)
    if (const auto* n = std::get_if<NotifyPayload>(&p.body); n && notify::is_error(n->type)) return n;
  return nullptr;
}

// Error notifies that say the IKE SA cannot stand, in whatever exchange they arrive: the peer
// refused our AUTH (in IKE_AUTH's answer, or after answering it in a separate INFORMATIONAL,
// 2.21.2), or cannot read what we send (3.10.1). Their names, for the log; nullptr for others.
inline const char* fatal_notify(const std::vector<Payload>& payloads) {
  for (const Payload& p : payloads) {
    const auto* n = std::get_if<NotifyPayload>(&p.body);
    if (n == nullptr) continue;
    switch (n->type) {
      case notify::kAuthenticationFailed: return "AUTHENTICATION_FAILED";
      case notify::kInvalidSyntax: return "INVALID_SYNTAX";
      case notify::kUnsupportedCriticalPayload: return "UNSUPPORTED_CRITICAL_PAYLOAD";
      case notify::kInvalidMajorVersion: return "INVALID_MAJOR_VERSION";
      default: break;
    }
  }
  return nullptr;
}

inline Payload notify_payload(uint16_t type, Bytes data = {}, uint8_t protocol = 0, Bytes spi = {}) {
  return {PayloadType::kNotify, false, NotifyPayload{protocol, std::move(spi), type, std::move(data)}};
}

// Eight-byte fields kept as bytes (IKE SPIs in proposals): to and from host order; be64_value is
// 0 for anything but eight bytes.
Bytes be64_bytes(uint64_t value);
uint64_t be64_value(const Bytes& bytes);

Bytes random_bytes(size_t n);
uint64_t random_u64();     // never 0
// A DH group number as INVALID_KE_PAYLOAD carries it (3.10.1).
inline Bytes group_bytes(uint16_t group) { return {static_cast<std::byte>(group >> 8), static_cast<std::byte>(group)}; }
uint32_t random_esp_spi(); // 256 and up (1-255 are reserved, RFC 4303 2.1)
// Digests IKE uses outside the PRF: SHA-1 (NAT detection 2.23, CERTREQ 3.7) and SHA-256 (cookies).
Bytes sha1(ByteView data);
Bytes sha256(ByteView data);
// Up to 10% off, so that two peers with the same lifetimes do not rekey at once.
uint64_t jittered(uint64_t ms);

// The ID payload for a configured identity: ID_IPV4_ADDR for an IPv4 address, ID_RFC822_ADDR for
// user@host, ID_FQDN otherwise.
IdPayload identity(const std::string& id);

// 2.9: the part of an offered selector that our configured one also allows (IPv4 or IPv6 ranges
// of the same type).
std::optional<TrafficSelector> narrow(const TrafficSelector& offered, const TrafficSelector& ours);
// The first offered selector that narrows to something.
std::optional<TrafficSelector> narrow_first(const TsPayload* offered, const TrafficSelector& ours);

// Two nonces compared as RFC 7296 2.8.1 compares them (as big numbers, byte by byte).
const Bytes& lower_nonce(const Bytes& a, const Bytes& b);

}  // namespace rampart::ike
