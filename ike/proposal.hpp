// Cipher suites in the usual proposal notation (as strongSwan writes them), as IKEv2 SA payload
// proposals, and the responder's choice among what was offered (RFC 7296 2.7: the first of the
// initiator's proposals it can accept, in the initiator's order).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "ike/message.hpp"

namespace rampart::ike {

struct Suite {
  uint16_t encryption = 20;  // 20 AES-GCM-16, 12 AES-CBC
  uint16_t key_bits = 128;
  uint16_t integrity = 0;    // 0 with GCM; 12, 13, 14 HMAC-SHA2-256-128/384-192/512-256
  uint16_t prf = 0;          // IKE SAs: 5, 6, 7 HMAC-SHA2-256/384/512
  uint16_t dh = 0;           // 0: none (ESP without PFS)
  bool operator==(const Suite&) const = default;
};

// "aes128gcm16-prfsha256-ecp256", "aes256-sha384-modp3072", "aes128gcm16" (ESP); one suite
// per string. protocol 1: an IKE SA's (needs a PRF and a DH group), 3: ESP.
Result<Suite> parse_suite(std::string_view text, uint8_t protocol);
std::string suite_text(const Suite& suite);

Proposal to_proposal(const Suite& suite, uint8_t number, uint8_t protocol, Bytes spi);
// The first offered proposal (in the offer's order) that equals one of ours; its SPI and number
// come with it.
std::optional<std::pair<Suite, const Proposal*>> choose(const SaPayload& offered, const std::vector<Suite>& ours,
                                                        uint8_t protocol);

}  // namespace rampart::ike
