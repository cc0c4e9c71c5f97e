// Certificate authentication for IKE_AUTH (RFC 7296 2.15 and 3.6-3.8, RFC 7427): a trusted CA,
// this side's X.509 certificate and private key (RSA or ECDSA, PEM files), signatures over the
// signed octets as RFC 7427 "digital signature" AUTH data (an AlgorithmIdentifier, then the
// signature), and the checks on a peer: its certificate chains to the CA (OpenSSL's
// X509_verify_cert: signatures, validity dates, CA constraints), names the identity it claims
// (subjectAltName DNS, e-mail or IP address, or the subject DN), and its key made the signature.
// Signatures are made with SHA-256; a peer's may use SHA-256, -384 or -512, with PKCS#1 v1.5 RSA
// or ECDSA.
#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>

#include "common/result.hpp"
#include "ike/message.hpp"
#include "ike/prf.hpp"

typedef struct x509_st X509;
typedef struct x509_store_st X509_STORE;
typedef struct evp_pkey_st EVP_PKEY;

namespace rampart::ike {

inline constexpr uint8_t kAuthDigitalSignature = 14;  // RFC 7427
inline constexpr uint8_t kCertX509Signature = 4;      // CERT and CERTREQ encoding (3.6)

class Credentials {
 public:
  // Errors name the file and what is wrong with it.
  static Result<std::shared_ptr<const Credentials>> load(const std::string& ca_file, const std::string& certificate_file,
                                                         const std::string& key_file);
  ~Credentials();
  Credentials(const Credentials&) = delete;
  Credentials& operator=(const Credentials&) = delete;

  const Bytes& certificate() const noexcept { return certificate_der_; }
  // CERTREQ's Certification Authority field: SHA-1 of the CA's SubjectPublicKeyInfo (3.7).
  const Bytes& authority() const noexcept { return authority_; }

  // RFC 7427 hash algorithm numbers (IANA "Hash Algorithms for Digital Signatures").
  static constexpr uint16_t kSha256 = 2, kSha384 = 3, kSha512 = 4;
  // The hash this key signs with (RFC 8247 2.4, RFC 7427): the one that matches its strength
  // (SHA-256 for P-256 and RSA, SHA-384 for P-384, SHA-512 for P-521) when the peer's
  // SIGNATURE_HASH_ALGORITHMS allow it (or it sent none), else the strongest the peer allows.
  uint16_t signing_hash(std::span<const uint16_t> peer_hashes) const;
  // AUTH data for method 14 over `octets`, with signing_hash(peer_hashes).
  Result<Bytes> sign(ByteView octets, std::span<const uint16_t> peer_hashes = {}) const;
  // The peer's certificate (DER) is trusted, names `id`, and made `auth_data` over `octets`.
  // A certificate whose chain verified is remembered for a minute (up to 1024 of them), so a
  // peer that comes back costs one signature check, not two. One thread at a time.
  Result<void> verify(ByteView certificate_der, const IdPayload& id, ByteView octets, ByteView auth_data) const;

 private:
  struct Verified {
    X509* certificate;
    std::chrono::steady_clock::time_point until;
  };
  Credentials() = default;
  Result<X509*> trusted(ByteView certificate_der) const;
  X509_STORE* store_ = nullptr;
  X509* certificate_ = nullptr;
  EVP_PKEY* key_ = nullptr;
  Bytes certificate_der_, authority_;
  mutable std::unordered_map<std::string, Verified> verified_;  // by DER
};

}  // namespace rampart::ike
