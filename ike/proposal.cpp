#include "ike/proposal.hpp"

#include <map>
#include <sstream>

namespace rampart::ike {

namespace {

const std::map<std::string, uint16_t>& groups() {
  static const std::map<std::string, uint16_t> m{{"modp2048", 14}, {"modp3072", 15}, {"ecp256", 19},
                                                 {"ecp384", 20},   {"ecp521", 21},   {"x25519", 31},
                                                 {"curve25519", 31}};
  return m;
}

}  // namespace

Result<Suite> parse_suite(std::string_view text, uint8_t protocol) {
  Suite s;
  bool have_encryption = false;
  std::string item;
  std::istringstream in{std::string(text)};
  while (std::getline(in, item, '-')) {
    if (item == "aes128gcm16" || item == "aes256gcm16") {
      s.encryption = 20;
      s.key_bits = item == "aes128gcm16" ? 128 : 256;
      have_encryption = true;
    } else if (item == "aes128" || item == "aes256") {
      s.encryption = 12;
      s.key_bits = item == "aes128" ? 128 : 256;
      have_encryption = true;
    } else if (item == "sha256" || item == "sha384" || item == "sha512") {
      s.integrity = item == "sha256" ? 12 : item == "sha384" ? 13 : 14;
    } else if (item == "prfsha256" || item == "prfsha384" || item == "prfsha512") {
      s.prf = item == "prfsha256" ? 5 : item == "prfsha384" ? 6 : 7;
    } else if (auto g = groups().find(item); g != groups().end()) {
      s.dh = g->second;
    } else {
      return make_error(Errc::kParse, "proposal \"" + std::string(text) + "\": unknown \"" + item + "\"");
    }
  }
  if (!have_encryption) return make_error(Errc::kParse, "proposal \"" + std::string(text) + "\": no encryption");
  if (s.encryption == 12 && s.integrity == 0)
    return make_error(Errc::kParse, "proposal \"" + std::string(text) + "\": AES-CBC needs an integrity algorithm");
  if (s.encryption == 20 && s.integrity != 0)
    return make_error(Errc::kParse, "proposal \"" + std::string(text) + "\": AES-GCM takes no integrity algorithm");
  if (protocol == 1) {
    if (s.dh == 0) return make_error(Errc::kParse, "proposal \"" + std::string(text) + "\": an IKE SA needs a DH group");
    // Without a PRF named, use the integrity algorithm's hash (strongSwan does the same).
    if (s.prf == 0) s.prf = s.integrity == 13 ? 6 : s.integrity == 14 ? 7 : 5;
  } else if (s.prf != 0) {
    return make_error(Errc::kParse, "proposal \"" + std::string(text) + "\": ESP takes no PRF");
  }
  return s;
}

std::string suite_text(const Suite& s) {
  std::string out = s.encryption == 20 ? (s.key_bits == 128 ? "aes128gcm16" : "aes256gcm16")
                                       : (s.key_bits == 128 ? "aes128" : "aes256");
  if (s.integrity) out += s.integrity == 12 ? "-sha256" : s.integrity == 13 ? "-sha384" : "-sha512";
  if (s.prf) out += s.prf == 5 ? "-prfsha256" : s.prf == 6 ? "-prfsha384" : "-prfsha512";
  for (const auto& [name, id] : groups())
    if (id == s.dh && name != "curve25519") out += "-" + name;
  return out;
}

Proposal to_proposal(const Suite& s, uint8_t number, uint8_t protocol, Bytes spi) {
  Proposal p{number, protocol, std::move(spi), {}};
  p.transforms.push_back({TransformType::kEncryption, s.encryption, s.key_bits});
  if (s.prf) p.transforms.push_back({TransformType::kPrf, s.prf, 0});
  if (s.integrity) p.transforms.push_back({TransformType::kIntegrity, s.integrity, 0});
  if (s.dh) p.transforms.push_back({TransformType::kDhGroup, s.dh, 0});
  if (protocol == 3) p.transforms.push_back({TransformType::kEsn, 0, 0});  // no ESN
  return p;
}

std::optional<std::pair<Suite, const Proposal*>> choose(const SaPayload& offered, const std::vector<Suite>& ours,
                                                        uint8_t protocol) {
  for (const Proposal& p : offered.proposals) {
    if (p.protocol != protocol) continue;
    // A proposal offers alternatives per transform type: every combination is a candidate suite.
    for (const Suite& s : ours) {
      auto offers = [&](TransformType type, uint16_t id, uint16_t key_bits) {
        for (const Transform& t : p.transforms)
          if (t.type == type && t.id == id && (type != TransformType::kEncryption || t.key_length == key_bits)) return true;
        return false;
      };
      auto offers_none_of = [&](TransformType type) {
        for (const Transform& t : p.transforms)
          if (t.type == type && !(type == TransformType::kEsn && t.id == 0)) return false;
        return true;
      };
      bool ok = offers(TransformType::kEncryption, s.encryption, s.key_bits) &&
                (s.integrity ? offers(TransformType::kIntegrity, s.integrity, 0) : offers_none_of(TransformType::kIntegrity)) &&
                (s.prf ? offers(TransformType::kPrf, s.prf, 0) : true) &&
                (s.dh ? offers(TransformType::kDhGroup, s.dh, 0) : offers_none_of(TransformType::kDhGroup)) &&
                (protocol != 3 || offers(TransformType::kEsn, 0, 0) || offers_none_of(TransformType::kEsn));
      if (ok) return std::pair{s, &p};
    }
  }
  return std::nullopt;
}

}  // namespace rampart::ike
