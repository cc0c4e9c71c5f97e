// IKEv2 messages (RFC 7296 section 3): the header and every payload, parsed with bounds checks
// from untrusted datagrams and serialised back. The SK payload's body (IV, ciphertext, ICV) stays
// opaque here: ike/ decrypts it with the IKE SA's keys and parses what is inside with
// parse_payloads. A malformed message is an error that names the notify RFC 7296 answers it
// with (or none, when it must be dropped silently).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "common/result.hpp"

namespace rampart::ike {

using Bytes = std::vector<std::byte>;

enum class ExchangeType : uint8_t { kIkeSaInit = 34, kIkeAuth = 35, kCreateChildSa = 36, kInformational = 37 };

enum class PayloadType : uint8_t {
  kNone = 0, kSa = 33, kKe = 34, kIdi = 35, kIdr = 36, kCert = 37, kCertReq = 38, kAuth = 39, kNonce = 40,
  kNotify = 41, kDelete = 42, kVendorId = 43, kTsi = 44, kTsr = 45, kSk = 46, kCp = 47, kEap = 48,
};

// Header flags (RFC 7296 3.1).
inline constexpr uint8_t kFlagInitiator = 0x08;
inline constexpr uint8_t kFlagVersion = 0x10;
inline constexpr uint8_t kFlagResponse = 0x20;
inline constexpr size_t kHeaderLength = 28;

struct Header {
  uint64_t initiator_spi = 0;
  uint64_t responder_spi = 0;
  PayloadType next_payload = PayloadType::kNone;
  uint8_t version = 0x20;  // major 2, minor 0
  ExchangeType exchange = ExchangeType::kIkeSaInit;
  uint8_t flags = 0;
  uint32_t message_id = 0;
  uint32_t length = 0;  // of the whole message; serialise fills it in
  bool operator==(const Header&) const = default;
};

// Security Association payload (3.3): proposals of transforms with attributes.
enum class TransformType : uint8_t { kEncryption = 1, kPrf = 2, kIntegrity = 3, kDhGroup = 4, kEsn = 5 };
struct Transform {
  TransformType type;
  uint16_t id;
  uint16_t key_length = 0;  // the Key Length attribute (bits); 0 when absent
  bool operator==(const Transform&) const = default;
};
struct Proposal {
  uint8_t number = 1;
  uint8_t protocol = 1;  // 1 IKE, 2 AH, 3 ESP
  Bytes spi;
  std::vector<Transform> transforms;
  bool operator==(const Proposal&) const = default;
};
struct SaPayload {
  std::vector<Proposal> proposals;
  bool operator==(const SaPayload&) const = default;
};

struct KePayload {  // 3.4
  uint16_t group = 0;
  Bytes data;
  bool operator==(const KePayload&) const = default;
};

struct IdPayload {  // 3.5 (IDi, IDr)
  uint8_t type = 0;  // 1 IPv4, 2 FQDN, 3 RFC822, 5 IPv6, 9 DER DN, 11 KEY_ID
  Bytes data;
  bool operator==(const IdPayload&) const = default;
};

struct CertPayload {  // 3.6 and 3.7 (CERT, CERTREQ)
  uint8_t encoding = 0;
  Bytes data;
  bool operator==(const CertPayload&) const = default;
};

struct AuthPayload {  // 3.8
  uint8_t method = 0;  // 1 RSA, 2 PSK, 14 digital signature (RFC 7427)
  Bytes data;
  bool operator==(const AuthPayload&) const = default;
};

struct NotifyPayload {  // 3.10
  uint8_t protocol = 0;
  Bytes spi;
  uint16_t type = 0;
  Bytes data;
  bool operator==(const NotifyPayload&) const = default;
};

struct DeletePayload {  // 3.11
  uint8_t protocol = 0;
  uint8_t spi_size = 0;
  std::vector<Bytes> spis;
  bool operator==(const DeletePayload&) const = default;
};

struct TrafficSelector {  // 3.13.1
  uint8_t type = 7;  // 7 IPv4 range, 8 IPv6 range
  uint8_t protocol = 0;
  uint16_t start_port = 0, end_port = 65535;
  Bytes start, end;  // 4 or 16 bytes each
  bool operator==(const TrafficSelector&) const = default;
};
struct TsPayload {
  std::vector<TrafficSelector> selectors;
  bool operator==(const TsPayload&) const = default;
};

// Payloads passed through as bytes: Nonce, Vendor ID, CP, EAP (and any body kept whole).
struct RawPayload {
  Bytes data;
  bool operator==(const RawPayload&) const = default;
};

// The encrypted payload (3.14): first_inner names the first payload inside; body is IV,
// ciphertext and ICV as received.
struct SkPayload {
  PayloadType first_inner = PayloadType::kNone;
  Bytes body;
  bool operator==(const SkPayload&) const = default;
};

struct Payload {
  PayloadType type;
  bool critical = false;
  std::variant<SaPayload, KePayload, IdPayload, CertPayload, AuthPayload, NotifyPayload, DeletePayload, TsPayload,
               RawPayload, SkPayload>
      body;
  bool operator==(const Payload&) const = default;
};

struct Message {
  Header header;
  std::vector<Payload> payloads;
  bool operator==(const Message&) const = default;
};

// Why a message was refused, and the notify RFC 7296 sends back for it (0: drop silently).
enum class Notify : uint16_t {
  kNone = 0, kUnsupportedCriticalPayload = 1, kInvalidMajorVersion = 5, kInvalidSyntax = 7,
};
struct ParseError {
  Notify notify;
  std::string what;
  uint8_t payload = 0;  // for kUnsupportedCriticalPayload: its type
};

// Four-byte fields kept as bytes (ESP SPIs, IPv4 selector addresses): to and from host order.
// be32_value is 0 for anything but four bytes.
Bytes be32_bytes(uint32_t value);
uint32_t be32_value(const Bytes& bytes);

// A whole datagram (without the non-ESP marker of port 4500).
std::variant<Message, ParseError> parse_message(std::span<const std::byte> datagram);
// A chain of payloads starting with `first` (what an SK payload decrypts to).
std::variant<std::vector<Payload>, ParseError> parse_payloads(PayloadType first, std::span<const std::byte> data);

// Which payloads each exchange may carry (RFC 7296 1.2-1.4, 3.14): IKE_SA_INIT in the clear;
// every later exchange as one SK payload, whose contents `inner` then lists. nullopt when the
// message keeps to it, else what broke it (answered with INVALID_SYNTAX when a request).
std::optional<std::string> check_payloads(ExchangeType exchange, const std::vector<Payload>& outer);
std::optional<std::string> check_inner_payloads(ExchangeType exchange, const std::vector<Payload>& inner);

Bytes serialize_message(const Message& message);
Bytes serialize_payloads(const std::vector<Payload>& payloads);

}  // namespace rampart::ike
