// A responder's defence against floods of IKE_SA_INIT (RFC 7296 2.6): while the caller wants
// cookies (too many IKE SAs half open), a new IKE_SA_INIT is answered with a COOKIE notify and no
// state is kept; only an initiator that can receive at its address sends the request again with
// the cookie. The
// cookie is a hash of the initiator's nonce, address and SPI under a secret that changes every
// so often (the version byte in front says which); the one before it is still accepted.
#pragma once

#include <cstdint>
#include <optional>

#include "ike/message.hpp"
#include "ike/prf.hpp"

namespace rampart::ike {

class CookieGuard {
 public:
  CookieGuard();

  // For when cookies are required. nullopt: the request carries a valid cookie, let it through.
  // Otherwise the answer to send back instead (a COOKIE notify), or nothing to send (empty) when
  // the request is not an IKE_SA_INIT that could carry one: drop it.
  std::optional<Bytes> check(ByteView init_request, ByteView source_address, uint64_t now_ms);

  uint64_t challenged() const noexcept { return challenged_; }

 private:
  Bytes cookie(uint8_t version, ByteView nonce, ByteView address, uint64_t spi) const;
  void rotate(uint64_t now_ms);

  uint8_t version_ = 0;
  Bytes secret_, previous_secret_;
  uint64_t rotate_at_ = 0;
  uint64_t challenged_ = 0;
};

}  // namespace rampart::ike
