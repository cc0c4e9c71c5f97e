#include "dataplane/spd.hpp"

#include <rte_acl.h>
#include <rte_errno.h>

#include <cstddef>

namespace rampart::dp {

namespace {

enum Field { kProtocol, kSource, kDestination, kSourcePort, kDestinationPort, kFieldCount };

// rte_acl reads its input in 4-byte words; input_index names the word a field sits in.
const rte_acl_field_def kFields[kFieldCount] = {
    {RTE_ACL_FIELD_TYPE_BITMASK, sizeof(uint8_t), kProtocol, 0, offsetof(SpdKey, protocol)},
    {RTE_ACL_FIELD_TYPE_MASK, sizeof(uint32_t), kSource, 1, offsetof(SpdKey, source)},
    {RTE_ACL_FIELD_TYPE_MASK, sizeof(uint32_t), kDestination, 2, offsetof(SpdKey, destination)},
    {RTE_ACL_FIELD_TYPE_RANGE, sizeof(uint16_t), kSourcePort, 3, offsetof(SpdKey, source_port)},
    {RTE_ACL_FIELD_TYPE_RANGE, sizeof(uint16_t), kDestinationPort, 3, offsetof(SpdKey, destination_port)},
};

RTE_ACL_RULE_DEF(SpdAclRule, kFieldCount);

// IPv6: each address is four 32-bit fields, as rte_acl's own IPv6 examples lay it out.
enum Field6 {
  k6Protocol, k6Source0, k6Source1, k6Source2, k6Source3, k6Destination0, k6Destination1, k6Destination2,
  k6Destination3, k6SourcePort, k6DestinationPort, kField6Count
};

rte_acl_field_def field6(uint8_t type, uint8_t size, uint8_t id, uint8_t input, uint32_t offset) {
  return rte_acl_field_def{type, size, id, input, offset};
}

const rte_acl_field_def* fields6() {
  static const rte_acl_field_def defs[kField6Count] = {
      field6(RTE_ACL_FIELD_TYPE_BITMASK, 1, k6Protocol, 0, offsetof(SpdKey6, protocol)),
      field6(RTE_ACL_FIELD_TYPE_MASK, 4, k6Source0, 1, offsetof(SpdKey6, source) + 0),
      field6(RTE_ACL_FIELD_TYPE_MASK, 4, k6Source1, 2, offsetof(SpdKey6, source) + 4),
      field6(RTE_ACL_FIELD_TYPE_MASK, 4, k6Source2, 3, offsetof(SpdKey6, source) + 8),
      field6(RTE_ACL_FIELD_TYPE_MASK, 4, k6Source3, 4, offsetof(SpdKey6, source) + 12),
      field6(RTE_ACL_FIELD_TYPE_MASK, 4, k6Destination0, 5, offsetof(SpdKey6, destination) + 0),
      field6(RTE_ACL_FIELD_TYPE_MASK, 4, k6Destination1, 6, offsetof(SpdKey6, destination) + 4),
      field6(RTE_ACL_FIELD_TYPE_MASK, 4, k6Destination2, 7, offsetof(SpdKey6, destination) + 8),
      field6(RTE_ACL_FIELD_TYPE_MASK, 4, k6Destination3, 8, offsetof(SpdKey6, destination) + 12),
      field6(RTE_ACL_FIELD_TYPE_RANGE, 2, k6SourcePort, 9, offsetof(SpdKey6, source_port)),
      field6(RTE_ACL_FIELD_TYPE_RANGE, 2, k6DestinationPort, 9, offsetof(SpdKey6, destination_port)),
  };
  return defs;
}

RTE_ACL_RULE_DEF(SpdAclRule6, kField6Count);

// The mask length of 32-bit word `word` of a /length IPv6 prefix, and the word (host order).
uint32_t word_length(uint8_t length, unsigned word) {
  int bits = static_cast<int>(length) - static_cast<int>(32 * word);
  return bits <= 0 ? 0u : bits >= 32 ? 32u : static_cast<uint32_t>(bits);
}
uint32_t word_of(const std::array<uint8_t, 16>& a, unsigned word) {
  return uint32_t{a[4 * word]} << 24 | uint32_t{a[4 * word + 1]} << 16 | uint32_t{a[4 * word + 2]} << 8 |
         a[4 * word + 3];
}

int32_t acl_priority(const PolicySpec& r, size_t index) {
  // rte_acl prefers the highest priority; ours is "lowest number, then first in the file".
  return static_cast<int32_t>(RTE_ACL_MAX_PRIORITY - (r.priority * 4096 + index % 4096));
}

}  // namespace

Spd::~Spd() {
  rte_acl_free(acl_);
  rte_acl_free(acl6_);
}

namespace {

template <typename Rule>
Result<rte_acl_ctx*> build_acl(const std::string& name, std::vector<Rule>& rules, const rte_acl_field_def* defs,
                               unsigned field_count) {
  rte_acl_param param{};
  param.name = name.c_str();
  param.socket_id = SOCKET_ID_ANY;
  param.rule_size = RTE_ACL_RULE_SZ(field_count);
  param.max_rule_num = static_cast<uint32_t>(rules.size() + 1);
  // rte_acl_create hands back a live context of the same name rather than failing.
  if (rte_acl_find_existing(name.c_str()) != nullptr)
    return make_error(Errc::kExists, "SPD " + name + ": a classifier of that name exists");
  rte_acl_ctx* acl = rte_acl_create(&param);
  if (acl == nullptr) return make_error(Errc::kNoMemory, "SPD " + name + ": rte_acl_create: " + rte_strerror(rte_errno));
  if (rules.empty()) return acl;
  if (int rc = rte_acl_add_rules(acl, reinterpret_cast<const rte_acl_rule*>(rules.data()),
                                 static_cast<uint32_t>(rules.size()));
      rc != 0) {
    rte_acl_free(acl);
    return make_error(rc == -ENOMEM ? Errc::kNoMemory : Errc::kInvalidArgument,
                      "SPD " + name + ": rte_acl_add_rules: " + rte_strerror(-rc));
  }
  rte_acl_config config{};
  config.num_categories = 1;
  config.num_fields = field_count;
  std::copy(defs, defs + field_count, config.defs);
  if (int rc = rte_acl_build(acl, &config); rc != 0) {
    rte_acl_free(acl);
    return make_error(Errc::kInternal, "SPD " + name + ": rte_acl_build: " + rte_strerror(-rc));
  }
  return acl;
}

}  // namespace

Result<std::unique_ptr<Spd>> Spd::build(const std::string& name, const std::vector<PolicySpec>& rules,
                                        const std::vector<uint32_t>& slots) {
  if (slots.size() != rules.size()) return make_error(Errc::kInvalidArgument, "SPD " + name + ": a slot per rule");
  std::unique_ptr<Spd> spd(new Spd);
  spd->rules_ = rules;
  for (size_t i = 0; i < rules.size(); ++i) spd->verdicts_.push_back({rules[i].action, slots[i]});
  std::vector<SpdAclRule> v4;
  std::vector<SpdAclRule6> v6;
  for (size_t i = 0; i < rules.size(); ++i) {
    const PolicySpec& r = rules[i];
    uint8_t protocol = r.any_protocol ? 0 : r.protocol;
    uint8_t protocol_mask = r.any_protocol ? 0 : 0xff;
    if (r.family == IpFamily::kIpv4) {
      SpdAclRule a{};
      a.data = {1, acl_priority(r, i), static_cast<uint32_t>(i + 1)};  // userdata 0 means no match
      a.field[kProtocol].value.u8 = protocol;
      a.field[kProtocol].mask_range.u8 = protocol_mask;
      a.field[kSource].value.u32 = r.source.address;
      a.field[kSource].mask_range.u32 = r.source.length;
      a.field[kDestination].value.u32 = r.destination.address;
      a.field[kDestination].mask_range.u32 = r.destination.length;
      a.field[kSourcePort].value.u16 = r.source_port_low;
      a.field[kSourcePort].mask_range.u16 = r.source_port_high;
      a.field[kDestinationPort].value.u16 = r.destination_port_low;
      a.field[kDestinationPort].mask_range.u16 = r.destination_port_high;
      v4.push_back(a);
    } else {
      SpdAclRule6 a{};
      a.data = {1, acl_priority(r, i), static_cast<uint32_t>(i + 1)};
      a.field[k6Protocol].value.u8 = protocol;
      a.field[k6Protocol].mask_range.u8 = protocol_mask;
      for (unsigned w = 0; w < 4; ++w) {
        a.field[k6Source0 + w].value.u32 = word_of(r.source6.address, w);
        a.field[k6Source0 + w].mask_range.u32 = word_length(r.source6.length, w);
        a.field[k6Destination0 + w].value.u32 = word_of(r.destination6.address, w);
        a.field[k6Destination0 + w].mask_range.u32 = word_length(r.destination6.length, w);
      }
      a.field[k6SourcePort].value.u16 = r.source_port_low;
      a.field[k6SourcePort].mask_range.u16 = r.source_port_high;
      a.field[k6DestinationPort].value.u16 = r.destination_port_low;
      a.field[k6DestinationPort].mask_range.u16 = r.destination_port_high;
      v6.push_back(a);
    }
  }
  auto acl = build_acl(name, v4, kFields, kFieldCount);
  if (!acl) return acl.error();
  spd->acl_ = *acl;
  auto acl6 = build_acl(name + "_v6", v6, fields6(), kField6Count);
  if (!acl6) return acl6.error();
  spd->acl6_ = *acl6;
  spd->has_v4_ = !v4.empty();
  spd->has_v6_ = !v6.empty();
  return spd;
}

namespace {
void classify_with(const rte_acl_ctx* acl, bool any_rules, const uint8_t** keys, uint32_t* results,
                   uint32_t count) noexcept {
  if (!any_rules) {
    for (uint32_t i = 0; i < count; ++i) results[i] = kNoPolicy;
    return;
  }
  rte_acl_classify(acl, keys, results, count, 1);
  for (uint32_t i = 0; i < count; ++i) results[i] = results[i] == 0 ? kNoPolicy : results[i] - 1;
}
}  // namespace

void Spd::classify(const SpdKey* const* keys, uint32_t* results, uint32_t count) const noexcept {
  classify_with(acl_, has_v4_, reinterpret_cast<const uint8_t**>(const_cast<const SpdKey**>(keys)), results, count);
}

void Spd::classify(const SpdKey6* const* keys, uint32_t* results, uint32_t count) const noexcept {
  classify_with(acl6_, has_v6_, reinterpret_cast<const uint8_t**>(const_cast<const SpdKey6**>(keys)), results, count);
}

}  // namespace rampart::dp
