#include "ike/exchange_support.hpp"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>

namespace rampart::ike {

Bytes be64_bytes(uint64_t value) {
  Bytes b(8);
  for (size_t i = 0; i < 8; ++i) b[i] = static_cast<std::byte>(value >> (56 - 8 * i));
  return b;
}

uint64_t be64_value(const Bytes& bytes) {
  if (bytes.size() != 8) return 0;
  uint64_t v = 0;
  for (std::byte x : bytes) v = v << 8 | static_cast<uint8_t>(x);
  return v;
}

Bytes random_bytes(size_t n) {
  Bytes b(n);
  RAND_bytes(reinterpret_cast<unsigned char*>(b.data()), static_cast<int>(n));
  return b;
}

uint64_t random_u64() {
  uint64_t v = 0;
  while (v == 0) RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v);
  return v;
}

uint32_t random_esp_spi() {
  uint32_t v = 0;
  while (v < 256) v = static_cast<uint32_t>(random_u64());
  return v;
}

namespace {
Bytes digest(const EVP_MD* md, ByteView data) {
  Bytes out(static_cast<size_t>(EVP_MD_get_size(md)));
  unsigned length = 0;
  EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()), &length, md, nullptr);
  out.resize(length);
  return out;
}
}  // namespace

Bytes sha1(ByteView data) { return digest(EVP_sha1(), data); }
Bytes sha256(ByteView data) { return digest(EVP_sha256(), data); }

uint64_t jittered(uint64_t ms) { return ms - (ms ? random_u64() % (ms / 10 + 1) : 0); }

IdPayload identity(const std::string& id) {
  constexpr uint8_t kIpv4 = 1, kFqdn = 2, kRfc822 = 3;
  in_addr v4;
  if (inet_pton(AF_INET, id.c_str(), &v4) == 1) {
    const auto* b = reinterpret_cast<const std::byte*>(&v4);
    return {kIpv4, Bytes(b, b + 4)};
  }
  const auto* b = reinterpret_cast<const std::byte*>(id.data());
  return {id.find('@') != std::string::npos ? kRfc822 : kFqdn, Bytes(b, b + id.size())};
}

std::optional<TrafficSelector> narrow(const TrafficSelector& offered, const TrafficSelector& ours) {
  // Addresses of one family compare as big-endian numbers: byte by byte.
  size_t size = offered.type == 7 ? 4 : offered.type == 8 ? 16 : 0;
  if (size == 0 || offered.type != ours.type || offered.start.size() != size || offered.end.size() != size ||
      ours.start.size() != size || ours.end.size() != size)
    return std::nullopt;
  const Bytes& start = std::max(offered.start, ours.start);
  const Bytes& end = std::min(offered.end, ours.end);
  uint16_t low = std::max(offered.start_port, ours.start_port), high = std::min(offered.end_port, ours.end_port);
  if (start > end || low > high) return std::nullopt;
  if (offered.protocol != 0 && ours.protocol != 0 && offered.protocol != ours.protocol) return std::nullopt;
  return TrafficSelector{offered.type, offered.protocol ? offered.protocol : ours.protocol, low, high, start, end};
}

std::optional<TrafficSelector> narrow_first(const TsPayload* offered, const TrafficSelector& ours) {
  if (offered == nullptr) return std::nullopt;
  for (const TrafficSelector& ts : offered->selectors)
    if (auto n = narrow(ts, ours)) return n;
  return std::nullopt;
}

const Bytes& lower_nonce(const Bytes& a, const Bytes& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end()) ? a : b;
}

}  // namespace rampart::ike
