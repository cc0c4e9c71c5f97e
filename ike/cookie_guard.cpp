#include "ike/cookie_guard.hpp"

#include <openssl/crypto.h>

#include "ike/exchange_support.hpp"

namespace rampart::ike {

namespace {
constexpr uint64_t kSecretLifetimeMs = 60000;
}

CookieGuard::CookieGuard() : secret_(random_bytes(32)) {}

void CookieGuard::rotate(uint64_t now_ms) {
  if (now_ms < rotate_at_) return;
  if (rotate_at_ != 0) {
    previous_secret_ = std::exchange(secret_, random_bytes(32));
    ++version_;
  }
  rotate_at_ = now_ms + kSecretLifetimeMs;
}

Bytes CookieGuard::cookie(uint8_t version, ByteView nonce, ByteView address, uint64_t spi) const {
  const Bytes& secret = version == version_ ? secret_ : previous_secret_;
  Bytes data(nonce.begin(), nonce.end());
  data.insert(data.end(), address.begin(), address.end());
  Bytes spi_bytes = be64_bytes(spi);
  data.insert(data.end(), spi_bytes.begin(), spi_bytes.end());
  data.insert(data.end(), secret.begin(), secret.end());
  Bytes out{std::byte{version}};
  Bytes hash = sha256(data);
  out.insert(out.end(), hash.begin(), hash.end());
  return out;
}

std::optional<Bytes> CookieGuard::check(ByteView init_request, ByteView source_address, uint64_t now_ms) {
  rotate(now_ms);
  auto parsed = parse_message(init_request);
  const auto* m = std::get_if<Message>(&parsed);
  const auto* nonce = m ? find<RawPayload>(m->payloads, PayloadType::kNonce) : nullptr;
  if (nonce == nullptr) return Bytes{};  // not an IKE_SA_INIT that could carry a cookie
  uint64_t spi = m->header.initiator_spi;
  // The cookie comes first in the retried request (2.6).
  if (!m->payloads.empty())
    if (const auto* n = std::get_if<NotifyPayload>(&m->payloads.front().body); n && n->type == notify::kCookie && n->data.size() == 33) {
      uint8_t version = static_cast<uint8_t>(n->data[0]);
      if (version == version_ || (version == static_cast<uint8_t>(version_ - 1) && !previous_secret_.empty())) {
        Bytes expected = cookie(version, nonce->data, source_address, spi);
        if (CRYPTO_memcmp(expected.data(), n->data.data(), expected.size()) == 0) return std::nullopt;
      }
    }
  ++challenged_;
  Message answer;
  answer.header = {spi, 0, PayloadType::kNone, 0x20, ExchangeType::kIkeSaInit, kFlagResponse, 0, 0};
  answer.payloads = {notify_payload(notify::kCookie, cookie(version_, nonce->data, source_address, spi))};
  return serialize_message(answer);
}

}  // namespace rampart::ike
