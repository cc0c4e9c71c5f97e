// Unpredictable bytes from OpenSSL's CSPRNG (RAND_bytes), for what must never repeat across
// restarts: the first explicit IV of an outbound SA. Control plane only (it may block at boot).
#pragma once

#include <cstdint>

#include "common/result.hpp"

namespace rampart::crypto {

Result<uint64_t> random_u64();

}  // namespace rampart::crypto
