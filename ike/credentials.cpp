#include "ike/credentials.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>

#include "ike/exchange_support.hpp"

namespace rampart::ike {

namespace {

// RFC 7427 AUTH data starts with the DER AlgorithmIdentifier of the signature; these are the ones
// made and taken here (RSA with and without the NULL parameters some encoders leave out).
struct SignatureAlgorithm {
  std::array<uint8_t, 15> der;
  size_t length;
  const char* digest;
  uint16_t hash;  // RFC 7427's number for it
  int key_type;
};
// The ones we sign with come first for each key type and hash (with RSA: NULL parameters).
constexpr SignatureAlgorithm kAlgorithms[] = {
    {{0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02}, 12, "SHA256", 2, EVP_PKEY_EC},
    {{0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03}, 12, "SHA384", 3, EVP_PKEY_EC},
    {{0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04}, 12, "SHA512", 4, EVP_PKEY_EC},
    {{0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00}, 15, "SHA256", 2, EVP_PKEY_RSA},
    {{0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c, 0x05, 0x00}, 15, "SHA384", 3, EVP_PKEY_RSA},
    {{0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d, 0x05, 0x00}, 15, "SHA512", 4, EVP_PKEY_RSA},
    {{0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b}, 13, "SHA256", 2, EVP_PKEY_RSA},
    {{0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c}, 13, "SHA384", 3, EVP_PKEY_RSA},
    {{0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d}, 13, "SHA512", 4, EVP_PKEY_RSA},
};

Error cert_error(const std::string& what) { return make_error(Errc::kCrypto, "certificate: " + what); }

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const noexcept { Free(p); }
};
using FilePtr = std::unique_ptr<FILE, decltype(&std::fclose)>;

FilePtr open_file(const std::string& path) { return {std::fopen(path.c_str(), "r"), &std::fclose}; }

Bytes der_of(X509* cert) {
  int length = i2d_X509(cert, nullptr);
  if (length <= 0) return {};
  Bytes out(static_cast<size_t>(length));
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  i2d_X509(cert, &p);
  return out;
}

// 3.5 against the certificate: the identity must be one of its subjectAltNames, or its subject.
bool names(X509* cert, const IdPayload& id) {
  const auto* data = reinterpret_cast<const char*>(id.data.data());
  switch (id.type) {
    case 1:  // ID_IPV4_ADDR
      return id.data.size() == 4 && X509_check_ip(cert, reinterpret_cast<const unsigned char*>(data), 4, 0) == 1;
    case 2:  // ID_FQDN
      return X509_check_host(cert, data, id.data.size(), X509_CHECK_FLAG_NO_WILDCARDS, nullptr) == 1;
    case 3:  // ID_RFC822_ADDR
      return X509_check_email(cert, data, id.data.size(), 0) == 1;
    case 9: {  // ID_DER_ASN1_DN
      const auto* p = reinterpret_cast<const unsigned char*>(data);
      std::unique_ptr<X509_NAME, Deleter<X509_NAME, X509_NAME_free>> name(d2i_X509_NAME(nullptr, &p, static_cast<long>(id.data.size())));
      return name && X509_NAME_cmp(name.get(), X509_get_subject_name(cert)) == 0;
    }
  }
  return false;
}

}  // namespace

Credentials::~Credentials() {
  for (auto& [der, v] : verified_) X509_free(v.certificate);
  X509_STORE_free(store_);
  X509_free(certificate_);
  EVP_PKEY_free(key_);
}

Result<std::shared_ptr<const Credentials>> Credentials::load(const std::string& ca_file, const std::string& certificate_file,
                                                             const std::string& key_file) {
  std::shared_ptr<Credentials> c(new Credentials());
  FilePtr ca = open_file(ca_file);
  if (!ca) return cert_error(ca_file + ": cannot open it");
  std::unique_ptr<X509, Deleter<X509, X509_free>> ca_cert(PEM_read_X509(ca.get(), nullptr, nullptr, nullptr));
  if (!ca_cert) return cert_error(ca_file + ": not a PEM X.509 certificate");
  c->store_ = X509_STORE_new();
  if (!c->store_ || X509_STORE_add_cert(c->store_, ca_cert.get()) != 1) return cert_error(ca_file + ": cannot trust it");
  // More CAs may follow in the same file.
  while (X509* more = PEM_read_X509(ca.get(), nullptr, nullptr, nullptr)) {
    X509_STORE_add_cert(c->store_, more);
    X509_free(more);
  }
  std::unique_ptr<X509_PUBKEY, Deleter<X509_PUBKEY, X509_PUBKEY_free>> spki(X509_PUBKEY_dup(X509_get_X509_PUBKEY(ca_cert.get())));
  int spki_length = spki ? i2d_X509_PUBKEY(spki.get(), nullptr) : 0;
  if (spki_length <= 0) return cert_error(ca_file + ": no public key");
  Bytes spki_der(static_cast<size_t>(spki_length));
  auto* p = reinterpret_cast<unsigned char*>(spki_der.data());
  i2d_X509_PUBKEY(spki.get(), &p);
  c->authority_ = sha1(spki_der);

  FilePtr cert = open_file(certificate_file);
  if (!cert) return cert_error(certificate_file + ": cannot open it");
  c->certificate_ = PEM_read_X509(cert.get(), nullptr, nullptr, nullptr);
  if (!c->certificate_) return cert_error(certificate_file + ": not a PEM X.509 certificate");
  c->certificate_der_ = der_of(c->certificate_);
  FilePtr key = open_file(key_file);
  if (!key) return cert_error(key_file + ": cannot open it");
  c->key_ = PEM_read_PrivateKey(key.get(), nullptr, nullptr, nullptr);
  if (!c->key_) return cert_error(key_file + ": not a PEM private key (unencrypted)");
  int type = EVP_PKEY_get_base_id(c->key_);
  if (type != EVP_PKEY_EC && type != EVP_PKEY_RSA) return cert_error(key_file + ": only RSA and ECDSA keys are supported");
  if (X509_check_private_key(c->certificate_, c->key_) != 1)
    return cert_error(key_file + ": not the private key of " + certificate_file);
  return std::shared_ptr<const Credentials>(std::move(c));
}

uint16_t Credentials::signing_hash(std::span<const uint16_t> peer_hashes) const {
  int bits = EVP_PKEY_get_bits(key_);
  uint16_t fitting = EVP_PKEY_get_base_id(key_) != EVP_PKEY_EC ? kSha256 : bits > 384 ? kSha512 : bits > 256 ? kSha384 : kSha256;
  auto allowed = [&](uint16_t hash) { return std::find(peer_hashes.begin(), peer_hashes.end(), hash) != peer_hashes.end(); };
  if (peer_hashes.empty() || allowed(fitting)) return fitting;
  for (uint16_t hash : {kSha512, kSha384, kSha256})
    if (allowed(hash)) return hash;
  return fitting;  // nothing we have: the peer may still take it, or say AUTHENTICATION_FAILED
}

Result<Bytes> Credentials::sign(ByteView octets, std::span<const uint16_t> peer_hashes) const {
  int type = EVP_PKEY_get_base_id(key_);
  uint16_t hash = signing_hash(peer_hashes);
  const SignatureAlgorithm* chosen = nullptr;
  for (const SignatureAlgorithm& a : kAlgorithms)
    if (a.key_type == type && a.hash == hash && chosen == nullptr) chosen = &a;
  if (chosen == nullptr) return cert_error("no signature algorithm for this key");
  const SignatureAlgorithm& algorithm = *chosen;
  std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>> ctx(EVP_MD_CTX_new());
  size_t length = 0;
  if (!ctx || EVP_DigestSignInit_ex(ctx.get(), nullptr, algorithm.digest, nullptr, nullptr, key_, nullptr) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length, reinterpret_cast<const unsigned char*>(octets.data()), octets.size()) != 1)
    return cert_error("cannot sign");
  Bytes out(1 + algorithm.length + length);
  out[0] = static_cast<std::byte>(algorithm.length);
  std::memcpy(out.data() + 1, algorithm.der.data(), algorithm.length);
  auto* signature = reinterpret_cast<unsigned char*>(out.data() + 1 + algorithm.length);
  if (EVP_DigestSign(ctx.get(), signature, &length, reinterpret_cast<const unsigned char*>(octets.data()), octets.size()) != 1)
    return cert_error("cannot sign");
  out.resize(1 + algorithm.length + length);  // ECDSA signatures vary in length
  return out;
}

// The parsed certificate when it chains to the CA (from the cache when it did recently).
Result<X509*> Credentials::trusted(ByteView certificate_der) const {
  constexpr size_t kMaxVerified = 1024;
  auto now = std::chrono::steady_clock::now();
  std::string key(reinterpret_cast<const char*>(certificate_der.data()), certificate_der.size());
  if (auto it = verified_.find(key); it != verified_.end()) {
    if (now < it->second.until) return it->second.certificate;
    X509_free(it->second.certificate);
    verified_.erase(it);
  }
  const auto* p = reinterpret_cast<const unsigned char*>(certificate_der.data());
  std::unique_ptr<X509, Deleter<X509, X509_free>> peer(d2i_X509(nullptr, &p, static_cast<long>(certificate_der.size())));
  if (!peer || p != reinterpret_cast<const unsigned char*>(certificate_der.data() + certificate_der.size()))
    return cert_error("the peer's CERT is not one DER X.509 certificate");
  std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX, X509_STORE_CTX_free>> chain(X509_STORE_CTX_new());
  if (!chain || X509_STORE_CTX_init(chain.get(), store_, peer.get(), nullptr) != 1) return cert_error("cannot check a chain");
  if (X509_verify_cert(chain.get()) != 1)
    return cert_error(std::string("the peer's certificate is not trusted: ") +
                      X509_verify_cert_error_string(X509_STORE_CTX_get_error(chain.get())));
  if (verified_.size() >= kMaxVerified) {
    for (auto& [der, v] : verified_) X509_free(v.certificate);
    verified_.clear();
  }
  X509* certificate = peer.release();
  verified_.emplace(std::move(key), Verified{certificate, now + std::chrono::minutes(1)});
  return certificate;
}

Result<void> Credentials::verify(ByteView certificate_der, const IdPayload& id, ByteView octets, ByteView auth_data) const {
  auto peer = trusted(certificate_der);
  if (!peer) return peer.error();
  if (!names(*peer, id)) return cert_error("the peer's certificate does not name the identity it claims");
  // AUTH data: length of the AlgorithmIdentifier, the AlgorithmIdentifier, the signature.
  if (auth_data.size() < 2 || auth_data.size() < 1 + static_cast<size_t>(auth_data[0]))
    return cert_error("malformed signature AUTH data");
  size_t algorithm_length = static_cast<size_t>(auth_data[0]);
  const SignatureAlgorithm* algorithm = nullptr;
  for (const SignatureAlgorithm& a : kAlgorithms)
    if (a.length == algorithm_length && std::memcmp(a.der.data(), auth_data.data() + 1, a.length) == 0) algorithm = &a;
  if (algorithm == nullptr) return cert_error("the peer signed with an algorithm not supported here");
  EVP_PKEY* key = X509_get0_pubkey(*peer);
  if (key == nullptr || EVP_PKEY_get_base_id(key) != algorithm->key_type)
    return cert_error("the signature's algorithm does not fit the certificate's key");
  std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>> ctx(EVP_MD_CTX_new());
  ByteView signature = auth_data.subspan(1 + algorithm_length);
  if (!ctx || EVP_DigestVerifyInit_ex(ctx.get(), nullptr, algorithm->digest, nullptr, nullptr, key, nullptr) != 1 ||
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                       reinterpret_cast<const unsigned char*>(octets.data()), octets.size()) != 1)
    return cert_error("the peer's signature does not verify");
  return {};
}

}  // namespace rampart::ike
