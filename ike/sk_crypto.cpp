#include "ike/sk_crypto.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>
#include <memory>

namespace rampart::ike {

namespace {

constexpr size_t kGcmIv = 8, kGcmSalt = 4, kGcmIcv = 16, kCbcIv = 16, kCbcBlock = 16, kSkHeader = 4;

// Fetched once (EVP_aes_128_gcm() and the like fetch again at every init in OpenSSL 3).
const EVP_CIPHER* cipher_of(const SkSuite& s) {
  static EVP_CIPHER* const gcm128 = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
  static EVP_CIPHER* const gcm256 = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  static EVP_CIPHER* const cbc128 = EVP_CIPHER_fetch(nullptr, "AES-128-CBC", nullptr);
  static EVP_CIPHER* const cbc256 = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
  if (s.aead()) return s.key_bits == 128 ? gcm128 : s.key_bits == 256 ? gcm256 : nullptr;
  return s.key_bits == 128 ? cbc128 : s.key_bits == 256 ? cbc256 : nullptr;
}

const char* hmac_digest(uint16_t integrity) {
  switch (integrity) {
    case 12: return "SHA256";
    case 13: return "SHA384";
    case 14: return "SHA512";
  }
  return nullptr;
}

size_t icv_length(const SkSuite& s) {
  if (s.aead()) return kGcmIcv;
  return s.integrity == 12 ? 16 : s.integrity == 13 ? 24 : 32;  // RFC 4868: half the hash
}

Bytes hmac(const char* digest, ByteView key, ByteView data) {
  std::unique_ptr<EVP_MAC, decltype(&EVP_MAC_free)> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr), EVP_MAC_free);
  std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> ctx(EVP_MAC_CTX_new(mac.get()), EVP_MAC_CTX_free);
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest), 0),
                         OSSL_PARAM_construct_end()};
  Bytes out(64);
  size_t written = 0;
  if (!ctx || EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) != 1 ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1 ||
      EVP_MAC_final(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &written, out.size()) != 1)
    return {};
  out.resize(written);
  return out;
}

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

void put_be32(std::byte* p, uint32_t v) {
  for (int i = 3; i >= 0; --i, v >>= 8) p[i] = std::byte(static_cast<uint8_t>(v));
}

}  // namespace

Result<void> check_suite(const SkSuite& s) {
  if (cipher_of(s) == nullptr) return make_error(Errc::kUnsupported, "SK: unsupported encryption or key length");
  if (!s.aead() && hmac_digest(s.integrity) == nullptr) return make_error(Errc::kUnsupported, "SK: unsupported integrity");
  if (s.aead() && s.integrity != 0) return make_error(Errc::kInvalidArgument, "SK: an AEAD takes no integrity transform");
  return {};
}

size_t encryption_key_length(const SkSuite& s) noexcept { return s.key_bits / 8 + (s.aead() ? kGcmSalt : 0); }

size_t integrity_key_length(const SkSuite& s) noexcept {
  if (s.aead()) return 0;
  return s.integrity == 12 ? 32 : s.integrity == 13 ? 48 : 64;
}

IvSource random_iv_source() {
  return [](std::span<std::byte> out) { RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size())); };
}

Result<Bytes> seal_message(const SkSuite& suite, ByteView encryption_key, ByteView integrity_key, Header header,
                           const std::vector<Payload>& inner, const IvSource& iv_source) {
  if (auto r = check_suite(suite); !r) return r.error();
  if (encryption_key.size() != encryption_key_length(suite) || integrity_key.size() != integrity_key_length(suite))
    return make_error(Errc::kInvalidArgument, "SK: key lengths do not match the suite");
  Bytes plain = serialize_payloads(inner);
  size_t block = suite.aead() ? 1 : kCbcBlock;
  size_t pad = (block - (plain.size() + 1) % block) % block;
  plain.insert(plain.end(), pad, std::byte{0});
  plain.push_back(std::byte(static_cast<uint8_t>(pad)));
  size_t iv_length = suite.aead() ? kGcmIv : kCbcIv;
  size_t icv = icv_length(suite);

  // Header and SK payload header first: their lengths cover what follows, and they are
  // authenticated as they will be sent.
  Message shell;
  header.next_payload = PayloadType::kSk;
  shell.header = header;
  Bytes out = serialize_message(shell);  // 28 bytes, length to be fixed
  size_t sk_at = out.size();
  uint8_t first_inner = inner.empty() ? 0 : static_cast<uint8_t>(inner.front().type);
  size_t sk_length = kSkHeader + iv_length + plain.size() + icv;
  out.push_back(std::byte{first_inner});
  out.push_back(std::byte{0x80});  // RFC 7296 3.14 does not require critical; strongSwan sets it
  out.push_back(std::byte(static_cast<uint8_t>(sk_length >> 8)));
  out.push_back(std::byte(static_cast<uint8_t>(sk_length)));
  out[16] = std::byte(static_cast<uint8_t>(PayloadType::kSk));
  put_be32(out.data() + 24, static_cast<uint32_t>(sk_at + sk_length));
  Bytes iv(iv_length);
  iv_source(iv);
  out.insert(out.end(), iv.begin(), iv.end());
  size_t cipher_at = out.size();
  out.resize(cipher_at + plain.size() + icv);
  auto* cipher_out = reinterpret_cast<unsigned char*>(out.data() + cipher_at);

  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int n = 0;
  const auto* key = reinterpret_cast<const unsigned char*>(encryption_key.data());
  if (suite.aead()) {
    unsigned char nonce[12];
    std::memcpy(nonce, key + suite.key_bits / 8, kGcmSalt);  // RFC 5282: salt | IV
    std::memcpy(nonce + kGcmSalt, iv.data(), kGcmIv);
    int ok = EVP_EncryptInit_ex(ctx.get(), cipher_of(suite), nullptr, nullptr, nullptr) == 1 &&
             EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, 12, nullptr) == 1 &&
             EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key, nonce) == 1 &&
             EVP_EncryptUpdate(ctx.get(), nullptr, &n, reinterpret_cast<const unsigned char*>(out.data()),
                               static_cast<int>(sk_at + kSkHeader)) == 1 &&
             EVP_EncryptUpdate(ctx.get(), cipher_out, &n, reinterpret_cast<const unsigned char*>(plain.data()),
                               static_cast<int>(plain.size())) == 1 &&
             EVP_EncryptFinal_ex(ctx.get(), cipher_out + n, &n) == 1 &&
             EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(icv), cipher_out + plain.size()) == 1;
    if (!ok) return make_error(Errc::kCrypto, "SK: AES-GCM failed");
    return out;
  }
  int ok = EVP_EncryptInit_ex(ctx.get(), cipher_of(suite), nullptr, key, reinterpret_cast<const unsigned char*>(iv.data())) == 1 &&
           EVP_CIPHER_CTX_set_padding(ctx.get(), 0) == 1 &&
           EVP_EncryptUpdate(ctx.get(), cipher_out, &n, reinterpret_cast<const unsigned char*>(plain.data()),
                             static_cast<int>(plain.size())) == 1 &&
           EVP_EncryptFinal_ex(ctx.get(), cipher_out + n, &n) == 1;
  if (!ok) return make_error(Errc::kCrypto, "SK: AES-CBC failed");
  Bytes mac = hmac(hmac_digest(suite.integrity), integrity_key, ByteView(out.data(), cipher_at + plain.size()));
  if (mac.size() < icv) return make_error(Errc::kCrypto, "SK: HMAC failed");
  std::copy(mac.begin(), mac.begin() + static_cast<long>(icv), out.begin() + static_cast<long>(cipher_at + plain.size()));
  return out;
}

std::variant<std::vector<Payload>, SkFailure> open_message(const SkSuite& suite, ByteView encryption_key,
                                                           ByteView integrity_key, ByteView datagram) {
  if (!check_suite(suite) || encryption_key.size() != encryption_key_length(suite) ||
      integrity_key.size() != integrity_key_length(suite))
    return SkFailure{false, "SK: keys or suite unusable"};
  auto parsed = parse_message(datagram);
  auto* message = std::get_if<Message>(&parsed);
  if (message == nullptr) return SkFailure{false, std::get<ParseError>(parsed).what};
  const auto* sk = message->payloads.empty() ? nullptr : std::get_if<SkPayload>(&message->payloads.back().body);
  if (sk == nullptr) return SkFailure{false, "SK: no encrypted payload"};
  size_t iv_length = suite.aead() ? kGcmIv : kCbcIv;
  size_t icv = icv_length(suite);
  size_t block = suite.aead() ? 1 : kCbcBlock;
  if (sk->body.size() < iv_length + icv + 1 || (sk->body.size() - iv_length - icv) % block != 0)
    return SkFailure{false, "SK: body too short or not whole blocks"};
  size_t sk_at = datagram.size() - kSkHeader - sk->body.size();
  size_t cipher_length = sk->body.size() - iv_length - icv;
  const auto* iv = reinterpret_cast<const unsigned char*>(sk->body.data());
  const auto* cipher = iv + iv_length;
  const auto* tag = cipher + cipher_length;
  Bytes plain(cipher_length);
  auto* plain_out = reinterpret_cast<unsigned char*>(plain.data());
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  const auto* key = reinterpret_cast<const unsigned char*>(encryption_key.data());
  int n = 0;
  if (suite.aead()) {
    unsigned char nonce[12];
    std::memcpy(nonce, key + suite.key_bits / 8, kGcmSalt);
    std::memcpy(nonce + kGcmSalt, iv, kGcmIv);
    int ok = EVP_DecryptInit_ex(ctx.get(), cipher_of(suite), nullptr, nullptr, nullptr) == 1 &&
             EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, 12, nullptr) == 1 &&
             EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key, nonce) == 1 &&
             EVP_DecryptUpdate(ctx.get(), nullptr, &n, reinterpret_cast<const unsigned char*>(datagram.data()),
                               static_cast<int>(sk_at + kSkHeader)) == 1 &&
             EVP_DecryptUpdate(ctx.get(), plain_out, &n, cipher, static_cast<int>(cipher_length)) == 1 &&
             EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(icv), const_cast<unsigned char*>(tag)) == 1;
    if (!ok || EVP_DecryptFinal_ex(ctx.get(), plain_out + n, &n) != 1) return SkFailure{true, "SK: ICV mismatch"};
  } else {
    Bytes mac = hmac(hmac_digest(suite.integrity), integrity_key,
                     ByteView(datagram.data(), datagram.size() - icv));
    if (mac.size() < icv || CRYPTO_memcmp(mac.data(), tag, icv) != 0) return SkFailure{true, "SK: ICV mismatch"};
    int ok = EVP_DecryptInit_ex(ctx.get(), cipher_of(suite), nullptr, key, iv) == 1 &&
             EVP_CIPHER_CTX_set_padding(ctx.get(), 0) == 1 &&
             EVP_DecryptUpdate(ctx.get(), plain_out, &n, cipher, static_cast<int>(cipher_length)) == 1 &&
             EVP_DecryptFinal_ex(ctx.get(), plain_out + n, &n) == 1;
    if (!ok) return SkFailure{false, "SK: AES-CBC failed"};
  }
  size_t pad = static_cast<uint8_t>(plain.back());
  if (pad + 1 > plain.size()) return SkFailure{false, "SK: pad length past the plaintext"};
  plain.resize(plain.size() - pad - 1);
  auto payloads = parse_payloads(sk->first_inner, plain);
  if (auto* e = std::get_if<ParseError>(&payloads)) return SkFailure{false, e->what};
  return std::get<std::vector<Payload>>(payloads);
}

}  // namespace rampart::ike
