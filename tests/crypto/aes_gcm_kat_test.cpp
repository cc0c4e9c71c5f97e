// Known answers: our seal must produce the published ciphertext and tag, our open must accept
// them, and any change to ciphertext, tag, AAD or IV must make open fail.
#include <catch2/catch.hpp>

#include <vector>

#include "common/hex.hpp"
#include "crypto/aes_gcm.hpp"
#include "tests/vectors/aes_gcm_vectors.hpp"

using namespace rampart;

namespace {

std::vector<uint8_t> hex(const char* text) {
  auto bytes = parse_hex(text);
  REQUIRE(bytes.has_value());
  std::vector<uint8_t> out(bytes->size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>((*bytes)[i]);
  return out;
}

std::span<const std::byte> as_bytes(const std::vector<uint8_t>& v) { return std::as_bytes(std::span(v)); }

const crypto::MbManager& manager() {
  static auto mgr = crypto::MbManager::create();
  REQUIRE(mgr.ok());
  return *mgr;
}

struct Loaded {
  crypto::GcmKey key;
  std::vector<uint8_t> explicit_iv, plaintext, aad, ciphertext, tag;
};

void load(const test::GcmVector& v, Loaded& out) {
  auto key = hex(v.key);
  auto nonce = hex(v.iv);
  REQUIRE(nonce.size() == crypto::kGcmNonceLen);
  std::vector<uint8_t> salt(nonce.begin(), nonce.begin() + 4);
  out.explicit_iv.assign(nonce.begin() + 4, nonce.end());
  REQUIRE(crypto::gcm_key_init(manager(), as_bytes(key), as_bytes(salt), out.key).ok());
  out.plaintext = hex(v.plaintext);
  out.aad = hex(v.aad);
  out.ciphertext = hex(v.ciphertext);
  out.tag = hex(v.tag);
}

bool open_one(const Loaded& l, std::vector<uint8_t> ciphertext, std::vector<uint8_t> tag,
              std::vector<uint8_t> aad, std::vector<uint8_t> iv) {
  crypto::AeadOp op{&l.key, ciphertext.data(), ciphertext.data(), static_cast<uint32_t>(ciphertext.size()),
                    iv.data(), aad.data(), static_cast<uint32_t>(aad.size()), tag.data()};
  bool ok = false;
  size_t verified = crypto::gcm_open_burst(manager(), {&op, 1}, &ok);
  CHECK(verified == (ok ? 1u : 0u));
  return ok;
}

}  // namespace

TEST_CASE("the manager reports the code path ipsec-mb chose", "[crypto][mb]") {
  const auto& mgr = manager();
  CHECK(mgr.arch() != IMB_ARCH_NONE);
  CHECK(std::string(mgr.arch_name()) != "unknown");
  CHECK(std::string(crypto::ipsec_mb_version()).rfind("1.", 0) == 0);
}

TEST_CASE("AES-GCM seal matches the published vectors", "[crypto][gcm][kat]") {
  for (const auto& v : test::kGcmVectors) {
    SECTION(v.name) {
      static Loaded l;
      load(v, l);
      std::vector<uint8_t> out(l.plaintext.size() + 1);
      uint8_t tag[crypto::kGcmIcvLen];
      crypto::AeadOp op{&l.key, l.plaintext.data(), out.data(), static_cast<uint32_t>(l.plaintext.size()),
                        l.explicit_iv.data(), l.aad.data(), static_cast<uint32_t>(l.aad.size()), tag};
      crypto::gcm_seal_burst(manager(), {&op, 1});
      out.pop_back();
      CHECK(out == l.ciphertext);
      CHECK(std::vector<uint8_t>(tag, tag + 16) == l.tag);
    }
  }
}

TEST_CASE("AES-GCM open accepts the vectors and rejects every tampering", "[crypto][gcm][kat]") {
  for (const auto& v : test::kGcmVectors) {
    SECTION(v.name) {
      static Loaded l;
      load(v, l);
      CHECK(open_one(l, l.ciphertext, l.tag, l.aad, l.explicit_iv));

      auto bad_tag = l.tag;
      bad_tag[15] ^= 0x01;
      CHECK_FALSE(open_one(l, l.ciphertext, bad_tag, l.aad, l.explicit_iv));

      auto bad_iv = l.explicit_iv;
      bad_iv[0] ^= 0x80;
      CHECK_FALSE(open_one(l, l.ciphertext, l.tag, l.aad, bad_iv));

      if (!l.ciphertext.empty()) {
        auto bad_ct = l.ciphertext;
        bad_ct[bad_ct.size() / 2] ^= 0x10;
        CHECK_FALSE(open_one(l, bad_ct, l.tag, l.aad, l.explicit_iv));
      }
      auto longer_aad = l.aad;
      longer_aad.push_back(0);
      CHECK_FALSE(open_one(l, l.ciphertext, l.tag, longer_aad, l.explicit_iv));
    }
  }
}

TEST_CASE("AES-GCM open decrypts in place to the plaintext", "[crypto][gcm][kat]") {
  static Loaded l;
  load(test::kGcmVectors[3], l);
  auto buffer = l.ciphertext;
  auto tag = l.tag;
  crypto::AeadOp op{&l.key, buffer.data(), buffer.data(), static_cast<uint32_t>(buffer.size()),
                    l.explicit_iv.data(), l.aad.data(), static_cast<uint32_t>(l.aad.size()), tag.data()};
  bool ok = false;
  REQUIRE(crypto::gcm_open_burst(manager(), {&op, 1}, &ok) == 1);
  CHECK(ok);
  CHECK(buffer == l.plaintext);
}

TEST_CASE("a burst mixes keys and reports each op's verdict", "[crypto][gcm]") {
  static Loaded v3, v15;
  load(test::kGcmVectors[2], v3);   // AES-128
  load(test::kGcmVectors[6], v15);  // AES-256, same plaintext
  std::vector<std::vector<uint8_t>> buffers;
  std::vector<std::vector<uint8_t>> tags;
  std::vector<crypto::AeadOp> ops;
  for (int i = 0; i < 6; ++i) {
    const Loaded& l = (i % 2) ? v15 : v3;
    buffers.push_back(l.ciphertext);
    tags.push_back(l.tag);
  }
  tags[4][0] ^= 0xff;  // the fifth op is forged
  for (int i = 0; i < 6; ++i) {
    const Loaded& l = (i % 2) ? v15 : v3;
    ops.push_back({&l.key, buffers[i].data(), buffers[i].data(), static_cast<uint32_t>(buffers[i].size()),
                   l.explicit_iv.data(), l.aad.data(), 0, tags[i].data()});
  }
  bool ok[6];
  CHECK(crypto::gcm_open_burst(manager(), ops, ok) == 5);
  for (int i = 0; i < 6; ++i) {
    CHECK(ok[i] == (i != 4));
    if (i != 4) CHECK(buffers[i] == v3.plaintext);
  }
}

TEST_CASE("a seal burst longer than ipsec-mb takes at once, mixing keys, matches the vectors", "[crypto][gcm]") {
  static Loaded v3, v15;
  load(test::kGcmVectors[2], v3);   // AES-128
  load(test::kGcmVectors[6], v15);  // AES-256, same plaintext
  constexpr int kOps = 75;          // two full chunks of 32 and a part
  std::vector<std::vector<uint8_t>> buffers, tags(kOps, std::vector<uint8_t>(crypto::kGcmIcvLen));
  std::vector<crypto::AeadOp> ops;
  for (int i = 0; i < kOps; ++i) buffers.push_back((i % 3 ? v15 : v3).plaintext);
  for (int i = 0; i < kOps; ++i) {
    const Loaded& l = i % 3 ? v15 : v3;
    ops.push_back({&l.key, buffers[i].data(), buffers[i].data(), static_cast<uint32_t>(buffers[i].size()),
                   l.explicit_iv.data(), l.aad.data(), 0, tags[i].data()});
  }
  crypto::gcm_seal_burst(manager(), ops);
  for (int i = 0; i < kOps; ++i) {
    INFO("op " << i);
    const Loaded& l = i % 3 ? v15 : v3;
    CHECK(buffers[i] == l.ciphertext);
    CHECK(tags[i] == l.tag);
  }
}

TEST_CASE("gcm_key_init refuses wrong key and salt sizes", "[crypto][gcm]") {
  static crypto::GcmKey key;
  std::vector<uint8_t> k20(20), salt4(4), salt3(3), k16(16);
  CHECK(crypto::gcm_key_init(manager(), as_bytes(k20), as_bytes(salt4), key).code() == Errc::kInvalidArgument);
  CHECK(crypto::gcm_key_init(manager(), as_bytes(k16), as_bytes(salt3), key).code() == Errc::kInvalidArgument);
  CHECK(crypto::gcm_key_init(manager(), as_bytes(k16), as_bytes(salt4), key).ok());
}
