// The security policy database of one direction (RFC 4301 section 4.4.1), compiled into DPDK
// rte_acl contexts (one for IPv4 5-tuples, one for IPv6) for bulk classification. Built on the
// control core, read-only for workers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "dataplane/gateway_spec.hpp"

struct rte_acl_ctx;

namespace rampart::dp {

// The classifier's input, built per packet from its headers (in network order), so that IPv4
// options cannot shift the ports and the layout is the one the ACL was built for.
struct alignas(4) SpdKey {
  uint8_t protocol;
  uint8_t pad[3];
  uint32_t source;       // network order
  uint32_t destination;  // network order
  uint16_t source_port;  // network order; 0 for protocols without ports
  uint16_t destination_port;
};
static_assert(sizeof(SpdKey) == 16);

struct alignas(4) SpdKey6 {
  uint8_t protocol;
  uint8_t pad[3];
  uint8_t source[16];
  uint8_t destination[16];
  uint16_t source_port;  // network order
  uint16_t destination_port;
};
static_assert(sizeof(SpdKey6) == 40);

inline constexpr uint32_t kNoPolicy = UINT32_MAX;

// What a worker needs of the winning rule: compact, so a burst's verdicts stay in cache.
struct SpdVerdict {
  PolicyAction action;
  uint32_t slot;  // for kProtect: the SA slot whose SA protects (outbound) or must have opened (inbound)
};

class Spd {
 public:
  // rules: every policy of this direction, in order; slots[i]: rule i's SA slot (kProtect).
  // name must be unique among live SPDs (rte_acl hands back an existing context of that name).
  static Result<std::unique_ptr<Spd>> build(const std::string& name, const std::vector<PolicySpec>& rules,
                                            const std::vector<uint32_t>& slots);
  ~Spd();

  // For each key, the index into rules() of the winning policy, or kNoPolicy.
  void classify(const SpdKey* const* keys, uint32_t* results, uint32_t count) const noexcept;
  void classify(const SpdKey6* const* keys, uint32_t* results, uint32_t count) const noexcept;
  const SpdVerdict& verdict(uint32_t rule) const noexcept { return verdicts_[rule]; }
  const std::vector<PolicySpec>& rules() const noexcept { return rules_; }

 private:
  Spd() = default;
  rte_acl_ctx* acl_ = nullptr;   // IPv4 rules
  rte_acl_ctx* acl6_ = nullptr;  // IPv6 rules
  bool has_v4_ = false;          // rte_acl classifies nothing with an empty context: skip it
  bool has_v6_ = false;
  std::vector<SpdVerdict> verdicts_;
  std::vector<PolicySpec> rules_;
};

}  // namespace rampart::dp
