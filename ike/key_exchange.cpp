#include "ike/key_exchange.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/dh.h>
#include <openssl/param_build.h>

#include <algorithm>
#include <array>

namespace rampart::ike {

namespace {

enum class Kind { kModp, kEcp, kX25519 };

Kind kind_of(DhGroup g) {
  switch (g) {
    case DhGroup::kModp2048:
    case DhGroup::kModp3072: return Kind::kModp;
    case DhGroup::kCurve25519: return Kind::kX25519;
    default: return Kind::kEcp;
  }
}

const char* group_name(DhGroup g) {
  switch (g) {
    case DhGroup::kModp2048: return "modp_2048";
    case DhGroup::kModp3072: return "modp_3072";
    case DhGroup::kEcp256: return "P-256";
    case DhGroup::kEcp384: return "P-384";
    case DhGroup::kEcp521: return "P-521";
    case DhGroup::kCurve25519: return "X25519";
  }
  return "";
}

using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)>;

PkeyCtx ctx_from_name(const char* name) { return {EVP_PKEY_CTX_new_from_name(nullptr, name, nullptr), EVP_PKEY_CTX_free}; }

Error crypto_error(const std::string& what) { return make_error(Errc::kCrypto, "key exchange: " + what); }

// The peer's public value as an OpenSSL key of the same group.
EVP_PKEY* peer_key(DhGroup group, std::span<const std::byte> value) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(value.data());
  if (kind_of(group) == Kind::kX25519) return EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, bytes, value.size());
  std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> build(OSSL_PARAM_BLD_new(), OSSL_PARAM_BLD_free);
  std::unique_ptr<BIGNUM, decltype(&BN_free)> y(nullptr, BN_free);
  std::vector<unsigned char> point;
  const char* algorithm = kind_of(group) == Kind::kModp ? "DH" : "EC";
  OSSL_PARAM_BLD_push_utf8_string(build.get(), OSSL_PKEY_PARAM_GROUP_NAME, group_name(group), 0);
  if (kind_of(group) == Kind::kModp) {
    y.reset(BN_bin2bn(bytes, static_cast<int>(value.size()), nullptr));
    OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_PUB_KEY, y.get());
  } else {
    point.push_back(0x04);  // RFC 5903 sends x | y; OpenSSL wants the uncompressed point
    point.insert(point.end(), bytes, bytes + value.size());
    OSSL_PARAM_BLD_push_octet_string(build.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
  }
  std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)> params(OSSL_PARAM_BLD_to_param(build.get()), OSSL_PARAM_free);
  PkeyCtx ctx = ctx_from_name(algorithm);
  EVP_PKEY* key = nullptr;
  if (!ctx || !params || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1)
    return nullptr;
  return key;
}

}  // namespace

void KeyExchange::Free::operator()(evp_pkey_st* key) const noexcept { EVP_PKEY_free(key); }

KeyExchange::KeyExchange(DhGroup group, evp_pkey_st* key, Bytes public_value)
    : group_(group), key_(key), public_(std::move(public_value)) {}

bool dh_group_supported(uint16_t id) noexcept {
  switch (id) {
    case 14: case 15: case 19: case 20: case 21: case 31: return true;
  }
  return false;
}

size_t public_value_length(DhGroup group) noexcept {
  switch (group) {
    case DhGroup::kModp2048: return 256;
    case DhGroup::kModp3072: return 384;
    case DhGroup::kEcp256: return 64;
    case DhGroup::kEcp384: return 96;
    case DhGroup::kEcp521: return 132;
    case DhGroup::kCurve25519: return 32;
  }
  return 0;
}

// 0 to 5 for the supported groups, 6 for anything else.
size_t group_index(DhGroup group) {
  size_t index = 0;
  for (DhGroup g : {DhGroup::kModp2048, DhGroup::kModp3072, DhGroup::kEcp256, DhGroup::kEcp384, DhGroup::kEcp521,
                    DhGroup::kCurve25519}) {
    if (g == group) break;
    ++index;
  }
  return index;
}

// One key-generation context per group and thread, set up once: a context from a name costs an
// algorithm lookup each time (OpenSSL 3), as much as an X25519 key pair itself.
EVP_PKEY_CTX* keygen_context(DhGroup group) {
  thread_local std::array<PkeyCtx, 6> contexts{PkeyCtx(nullptr, EVP_PKEY_CTX_free), PkeyCtx(nullptr, EVP_PKEY_CTX_free),
                                               PkeyCtx(nullptr, EVP_PKEY_CTX_free), PkeyCtx(nullptr, EVP_PKEY_CTX_free),
                                               PkeyCtx(nullptr, EVP_PKEY_CTX_free), PkeyCtx(nullptr, EVP_PKEY_CTX_free)};
  size_t index = group_index(group);
  if (index >= contexts.size()) return nullptr;
  PkeyCtx& ctx = contexts[index];
  if (ctx) return ctx.get();
  Kind kind = kind_of(group);
  PkeyCtx fresh = ctx_from_name(kind == Kind::kX25519 ? "X25519" : kind == Kind::kModp ? "DH" : "EC");
  if (!fresh || EVP_PKEY_keygen_init(fresh.get()) != 1) return nullptr;
  if (kind != Kind::kX25519) {
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(group_name(group)), 0),
                           OSSL_PARAM_construct_end()};
    if (EVP_PKEY_CTX_set_params(fresh.get(), params) != 1) return nullptr;
  }
  ctx = std::move(fresh);
  return ctx.get();
}

Result<KeyExchange> KeyExchange::generate(DhGroup group) {
  EVP_PKEY* key = nullptr;
  EVP_PKEY_CTX* ctx = keygen_context(group);
  if (ctx == nullptr || EVP_PKEY_generate(ctx, &key) != 1) key = nullptr;
  if (key == nullptr) return crypto_error(std::string("cannot generate a key for ") + group_name(group));
  size_t length = public_value_length(group);
  Bytes value(length);
  auto* out = reinterpret_cast<unsigned char*>(value.data());
  bool ok = false;
  if (kind_of(group) == Kind::kX25519) {
    size_t n = length;
    ok = EVP_PKEY_get_raw_public_key(key, out, &n) == 1 && n == length;
  } else if (kind_of(group) == Kind::kModp) {
    BIGNUM* y = nullptr;
    ok = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PUB_KEY, &y) == 1 &&
         BN_bn2binpad(y, out, static_cast<int>(length)) == static_cast<int>(length);
    BN_free(y);
  } else {
    std::vector<unsigned char> point(length + 1);
    size_t n = 0;
    ok = EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point.data(), point.size(), &n) == 1 &&
         n == length + 1 && point[0] == 0x04;
    if (ok) std::copy(point.begin() + 1, point.end(), out);
  }
  if (!ok) {
    EVP_PKEY_free(key);
    return crypto_error("cannot read the public value");
  }
  return KeyExchange(group, key, std::move(value));
}

Result<std::shared_ptr<const KeyExchange>> KeyExchange::reused(DhGroup group, uint64_t now_ms, uint64_t max_age_ms) {
  struct Kept {
    std::shared_ptr<const KeyExchange> key;
    uint64_t until = 0;
  };
  thread_local std::array<Kept, 6> kept;
  size_t index = group_index(group);
  if (index >= kept.size()) return crypto_error("unknown group");
  Kept& k = kept[index];
  if (!k.key || now_ms >= k.until || now_ms + max_age_ms < k.until) {
    auto fresh = generate(group);
    if (!fresh) return fresh.error();
    k.key = std::make_shared<const KeyExchange>(std::move(*fresh));
    k.until = now_ms + max_age_ms;
  }
  return k.key;
}

Result<KeyExchange> KeyExchange::from_x25519_private(std::span<const std::byte> private_key) {
  EVP_PKEY* key = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr,
                                               reinterpret_cast<const unsigned char*>(private_key.data()), private_key.size());
  if (key == nullptr) return crypto_error("not an X25519 private key");
  Bytes value(32);
  size_t n = value.size();
  if (EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(value.data()), &n) != 1 || n != 32) {
    EVP_PKEY_free(key);
    return crypto_error("cannot read the public value");
  }
  return KeyExchange(DhGroup::kCurve25519, key, std::move(value));
}

Result<Bytes> KeyExchange::shared_secret(std::span<const std::byte> peer_public) const {
  if (peer_public.size() != public_value_length(group_))
    return make_error(Errc::kInvalidArgument, "key exchange: the peer's value has the wrong length");
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> peer(peer_key(group_, peer_public), EVP_PKEY_free);
  if (!peer) return make_error(Errc::kInvalidArgument, "key exchange: the peer's value is not a key of the group");
  if (kind_of(group_) != Kind::kX25519) {
    // The peer's value must be in range (MODP: 1 < y < p - 1) or on the curve (RFC 7296 2.12).
    PkeyCtx check(EVP_PKEY_CTX_new_from_pkey(nullptr, peer.get(), nullptr), EVP_PKEY_CTX_free);
    if (!check || EVP_PKEY_public_check(check.get()) != 1)
      return make_error(Errc::kInvalidArgument, "key exchange: the peer's value fails the group's checks");
  }
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_.get(), nullptr), EVP_PKEY_CTX_free);
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1) return crypto_error("derive");
  if (kind_of(group_) == Kind::kModp) EVP_PKEY_CTX_set_dh_pad(ctx.get(), 1);  // 2.14: the modulus' length
  size_t length = 0;
  if (EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1 || EVP_PKEY_derive(ctx.get(), nullptr, &length) != 1)
    return make_error(Errc::kInvalidArgument, "key exchange: cannot agree with the peer's value");
  Bytes secret(length);
  if (EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char*>(secret.data()), &length) != 1)
    return make_error(Errc::kInvalidArgument, "key exchange: cannot agree with the peer's value");
  secret.resize(length);
  if (kind_of(group_) == Kind::kX25519 &&
      std::all_of(secret.begin(), secret.end(), [](std::byte b) { return b == std::byte{0}; }))
    return make_error(Errc::kInvalidArgument, "key exchange: an all-zero X25519 result (RFC 8031 2)");
  return secret;
}

}  // namespace rampart::ike
