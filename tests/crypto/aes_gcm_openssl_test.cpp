// Cross-check against OpenSSL's EVP AES-GCM, an implementation nobody here wrote, on random
// keys, IVs and AADs for every length from 0 to 2048: what we seal OpenSSL opens, and what
// OpenSSL seals we open, byte for byte.
#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>
#include <vector>

#include "crypto/aes_gcm.hpp"

using namespace rampart;

namespace {

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using Ctx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

const EVP_CIPHER* cipher_for(size_t key_len) {
  return key_len == 16 ? EVP_aes_128_gcm() : key_len == 24 ? EVP_aes_192_gcm() : EVP_aes_256_gcm();
}

void openssl_seal(const std::vector<uint8_t>& key, const uint8_t nonce[12], const std::vector<uint8_t>& aad,
                  const std::vector<uint8_t>& in, std::vector<uint8_t>& out, uint8_t tag[16]) {
  Ctx ctx(EVP_CIPHER_CTX_new());
  int n = 0;
  out.resize(in.size());
  REQUIRE(EVP_EncryptInit_ex(ctx.get(), cipher_for(key.size()), nullptr, key.data(), nonce) == 1);
  REQUIRE(EVP_EncryptUpdate(ctx.get(), nullptr, &n, aad.data(), static_cast<int>(aad.size())) == 1);
  if (!in.empty()) REQUIRE(EVP_EncryptUpdate(ctx.get(), out.data(), &n, in.data(), static_cast<int>(in.size())) == 1);
  REQUIRE(EVP_EncryptFinal_ex(ctx.get(), out.data() + in.size(), &n) == 1);
  REQUIRE(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, 16, tag) == 1);
}

bool openssl_open(const std::vector<uint8_t>& key, const uint8_t nonce[12], const std::vector<uint8_t>& aad,
                  const std::vector<uint8_t>& in, const uint8_t tag[16], std::vector<uint8_t>& out) {
  Ctx ctx(EVP_CIPHER_CTX_new());
  int n = 0;
  out.resize(in.size());
  REQUIRE(EVP_DecryptInit_ex(ctx.get(), cipher_for(key.size()), nullptr, key.data(), nonce) == 1);
  REQUIRE(EVP_DecryptUpdate(ctx.get(), nullptr, &n, aad.data(), static_cast<int>(aad.size())) == 1);
  if (!in.empty()) REQUIRE(EVP_DecryptUpdate(ctx.get(), out.data(), &n, in.data(), static_cast<int>(in.size())) == 1);
  REQUIRE(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, 16, const_cast<uint8_t*>(tag)) == 1);
  return EVP_DecryptFinal_ex(ctx.get(), out.data() + in.size(), &n) == 1;
}

std::vector<uint8_t> random_bytes(size_t n) {
  std::vector<uint8_t> v(n);
  if (n) REQUIRE(RAND_bytes(v.data(), static_cast<int>(n)) == 1);
  return v;
}

}  // namespace

TEST_CASE("AES-GCM agrees with OpenSSL EVP for every length 0..2048", "[crypto][gcm][openssl]") {
  auto mgr = crypto::MbManager::create();
  REQUIRE(mgr.ok());
  auto key_len = GENERATE(16, 24, 32);
  static crypto::GcmKey key;
  auto raw_key = random_bytes(static_cast<size_t>(key_len));
  auto salt = random_bytes(4);
  REQUIRE(crypto::gcm_key_init(*mgr, std::as_bytes(std::span(raw_key)), std::as_bytes(std::span(salt)), key).ok());

  size_t mismatches = 0;
  for (size_t len = 0; len <= 2048; ++len) {
    auto iv = random_bytes(8);
    auto aad = random_bytes(len % 2 ? 12 : 8);  // ESP's AAD: SPI + seq, or SPI + ESN high + seq
    auto plaintext = random_bytes(len);
    uint8_t nonce[12];
    std::copy(salt.begin(), salt.end(), nonce);
    std::copy(iv.begin(), iv.end(), nonce + 4);

    // Ours seals, OpenSSL opens.
    std::vector<uint8_t> ours(len);
    uint8_t our_tag[16];
    crypto::AeadOp seal{&key, plaintext.data(), ours.data(), static_cast<uint32_t>(len), iv.data(), aad.data(),
                        static_cast<uint32_t>(aad.size()), our_tag};
    crypto::gcm_seal_burst(*mgr, {&seal, 1});
    std::vector<uint8_t> decrypted;
    bool opened_by_openssl = openssl_open(raw_key, nonce, aad, ours, our_tag, decrypted);

    // OpenSSL seals, ours opens in place.
    std::vector<uint8_t> theirs;
    uint8_t their_tag[16];
    openssl_seal(raw_key, nonce, aad, plaintext, theirs, their_tag);
    bool same_bytes = theirs == ours && std::equal(our_tag, our_tag + 16, their_tag);
    crypto::AeadOp open{&key, theirs.data(), theirs.data(), static_cast<uint32_t>(len), iv.data(), aad.data(),
                        static_cast<uint32_t>(aad.size()), their_tag};
    bool ok = false;
    crypto::gcm_open_burst(*mgr, {&open, 1}, &ok);

    if (!opened_by_openssl || decrypted != plaintext || !same_bytes || !ok || theirs != plaintext) {
      ++mismatches;
      UNSCOPED_INFO("key " << key_len * 8 << " bits, length " << len);
    }
  }
  CHECK(mismatches == 0);
}
