#include "crypto/random.hpp"

#include <openssl/rand.h>

#include <cstring>

namespace rampart::crypto {

Result<uint64_t> random_u64() {
  unsigned char bytes[sizeof(uint64_t)];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return make_error(Errc::kInternal, "OpenSSL's RAND_bytes failed");
  uint64_t value;
  std::memcpy(&value, bytes, sizeof value);
  return value;
}

}  // namespace rampart::crypto
