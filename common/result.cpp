#include "common/result.hpp"

namespace rampart {

const char* errc_name(Errc code) noexcept {
  switch (code) {
    case Errc::kInvalidArgument: return "invalid argument";
    case Errc::kParse: return "parse error";
    case Errc::kNotFound: return "not found";
    case Errc::kExists: return "already exists";
    case Errc::kNoMemory: return "out of memory";
    case Errc::kIo: return "i/o error";
    case Errc::kCrypto: return "crypto failure";
    case Errc::kUnsupported: return "unsupported";
    case Errc::kInternal: return "internal error";
    case Errc::kBusy: return "busy";
  }
  return "unknown error";
}

}  // namespace rampart
