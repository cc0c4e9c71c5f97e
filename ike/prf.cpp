#include "ike/prf.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <memory>

namespace rampart::ike {

namespace {

// One HMAC context per digest, set up once and copied for each use: OpenSSL 3 looks the MAC and
// the digest up by name (locks, string compares) whenever a context is made or given a digest
// by name, which cost IKE setups more than the hashing.
const EVP_MAC_CTX* hmac_template(Prf which) {
  auto make = [](const char* digest) -> EVP_MAC_CTX* {
    EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    EVP_MAC_CTX* ctx = mac ? EVP_MAC_CTX_new(mac) : nullptr;
    EVP_MAC_free(mac);  // the context keeps its own reference
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest), 0),
                           OSSL_PARAM_construct_end()};
    if (ctx && EVP_MAC_CTX_set_params(ctx, params) != 1) {
      EVP_MAC_CTX_free(ctx);
      ctx = nullptr;
    }
    return ctx;
  };
  static EVP_MAC_CTX* const sha256 = make("SHA256");
  static EVP_MAC_CTX* const sha384 = make("SHA384");
  static EVP_MAC_CTX* const sha512 = make("SHA512");
  switch (which) {
    case Prf::kHmacSha256: return sha256;
    case Prf::kHmacSha384: return sha384;
    case Prf::kHmacSha512: return sha512;
  }
  return nullptr;
}

Bytes join(std::initializer_list<ByteView> parts) {
  Bytes out;
  for (ByteView p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes be64(uint64_t v) {
  Bytes out(8);
  for (int i = 7; i >= 0; --i, v >>= 8) out[static_cast<size_t>(i)] = std::byte(static_cast<uint8_t>(v));
  return out;
}

}  // namespace

size_t prf_length(Prf prf) noexcept {
  switch (prf) {
    case Prf::kHmacSha256: return 32;
    case Prf::kHmacSha384: return 48;
    case Prf::kHmacSha512: return 64;
  }
  return 0;
}

Result<Bytes> prf(Prf which, ByteView key, ByteView data) {
  const EVP_MAC_CTX* hmac = hmac_template(which);
  if (hmac == nullptr) return make_error(Errc::kUnsupported, "unknown PRF, or OpenSSL has no HMAC");
  std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> ctx(EVP_MAC_CTX_dup(hmac), EVP_MAC_CTX_free);
  // HMAC takes keys of any length, including empty ones (a zero-length key is legal in prf+).
  static const unsigned char kEmpty = 0;
  const auto* key_bytes = key.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(key.data());
  Bytes out(prf_length(which));
  size_t written = 0;
  if (!ctx || EVP_MAC_init(ctx.get(), key_bytes, key.size(), nullptr) != 1 ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1 ||
      EVP_MAC_final(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &written, out.size()) != 1 ||
      written != out.size())
    return make_error(Errc::kCrypto, "HMAC failed");
  return out;
}

Result<Bytes> prf_plus(Prf which, ByteView key, ByteView seed, size_t length) {
  size_t block = prf_length(which);
  if (block == 0) return make_error(Errc::kUnsupported, "unknown PRF");
  if (length > 255 * block) return make_error(Errc::kInvalidArgument, "prf+ gives at most 255 blocks");
  Bytes out, t;
  for (uint8_t n = 1; out.size() < length; ++n) {
    Bytes input = join({t, seed});
    input.push_back(std::byte{n});
    auto next = prf(which, key, input);
    if (!next) return next.error();
    t = std::move(*next);
    out.insert(out.end(), t.begin(), t.end());
  }
  out.resize(length);
  return out;
}

Result<Bytes> skeyseed(Prf which, ByteView ni, ByteView nr, ByteView shared_secret) {
  return prf(which, join({ni, nr}), shared_secret);
}

Result<Bytes> rekey_skeyseed(Prf which, ByteView old_sk_d, ByteView shared_secret, ByteView ni, ByteView nr) {
  return prf(which, old_sk_d, join({shared_secret, ni, nr}));
}

Result<IkeKeys> derive_ike_keys(Prf which, ByteView seed_key, ByteView ni, ByteView nr, uint64_t spi_i, uint64_t spi_r,
                                size_t integrity_length, size_t encryption_length) {
  size_t prf_bytes = prf_length(which);
  size_t total = prf_bytes * 3 + integrity_length * 2 + encryption_length * 2;
  auto keymat = prf_plus(which, seed_key, join({ni, nr, be64(spi_i), be64(spi_r)}), total);
  if (!keymat) return keymat.error();
  IkeKeys k;
  size_t at = 0;
  auto take = [&](Bytes& into, size_t n) {
    into.assign(keymat->begin() + static_cast<long>(at), keymat->begin() + static_cast<long>(at + n));
    at += n;
  };
  take(k.sk_d, prf_bytes);
  take(k.sk_ai, integrity_length);
  take(k.sk_ar, integrity_length);
  take(k.sk_ei, encryption_length);
  take(k.sk_er, encryption_length);
  take(k.sk_pi, prf_bytes);
  take(k.sk_pr, prf_bytes);
  return k;
}

Result<Bytes> child_keymat(Prf which, ByteView sk_d, ByteView shared_secret, ByteView ni, ByteView nr, size_t length) {
  return prf_plus(which, sk_d, join({shared_secret, ni, nr}), length);
}

}  // namespace rampart::ike
