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

}  // namespace

Spd::~Spd() { rte_acl_free(acl_); }

Result<std::unique_ptr<Spd>> Spd::build(const std::string& name, const std::vector<PolicySpec>& rules) {
  std::unique_ptr<Spd> spd(new Spd);
  spd->rules_ = rules;
  rte_acl_param param{};
  param.name = name.c_str();
  param.socket_id = SOCKET_ID_ANY;
  param.rule_size = RTE_ACL_RULE_SZ(kFieldCount);
  param.max_rule_num = static_cast<uint32_t>(rules.size() + 1);
  spd->acl_ = rte_acl_create(&param);
  if (spd->acl_ == nullptr) return make_error(Errc::kNoMemory, "SPD " + name + ": rte_acl_create: " + rte_strerror(rte_errno));

  std::vector<SpdAclRule> acl_rules(rules.size());
  for (size_t i = 0; i < rules.size(); ++i) {
    const PolicySpec& r = rules[i];
    SpdAclRule& a = acl_rules[i];
    a.data.category_mask = 1;
    // rte_acl prefers the highest priority; ours is "lowest number, then first in the file".
    a.data.priority = static_cast<int32_t>(RTE_ACL_MAX_PRIORITY - (r.priority * 4096 + i % 4096)) ;
    a.data.userdata = static_cast<uint32_t>(i + 1);  // 0 means no match
    a.field[kProtocol].value.u8 = r.any_protocol ? 0 : r.protocol;
    a.field[kProtocol].mask_range.u8 = r.any_protocol ? 0 : 0xff;
    a.field[kSource].value.u32 = r.source.address;
    a.field[kSource].mask_range.u32 = r.source.length;
    a.field[kDestination].value.u32 = r.destination.address;
    a.field[kDestination].mask_range.u32 = r.destination.length;
    a.field[kSourcePort].value.u16 = r.source_port_low;
    a.field[kSourcePort].mask_range.u16 = r.source_port_high;
    a.field[kDestinationPort].value.u16 = r.destination_port_low;
    a.field[kDestinationPort].mask_range.u16 = r.destination_port_high;
  }
  if (!acl_rules.empty() &&
      rte_acl_add_rules(spd->acl_, reinterpret_cast<const rte_acl_rule*>(acl_rules.data()),
                        static_cast<uint32_t>(acl_rules.size())) != 0)
    return make_error(Errc::kInvalidArgument, "SPD " + name + ": rte_acl_add_rules failed");
  rte_acl_config config{};
  config.num_categories = 1;
  config.num_fields = kFieldCount;
  std::copy(std::begin(kFields), std::end(kFields), config.defs);
  if (!acl_rules.empty()) {
    int rc = rte_acl_build(spd->acl_, &config);
    if (rc != 0) return make_error(Errc::kInternal, "SPD " + name + ": rte_acl_build: " + rte_strerror(-rc));
  }
  return spd;
}

void Spd::classify(const SpdKey* const* keys, uint32_t* results, uint32_t count) const noexcept {
  if (rules_.empty()) {
    for (uint32_t i = 0; i < count; ++i) results[i] = kNoPolicy;
    return;
  }
  rte_acl_classify(acl_, reinterpret_cast<const uint8_t**>(const_cast<const SpdKey**>(keys)), results, count, 1);
  for (uint32_t i = 0; i < count; ++i) results[i] = results[i] == 0 ? kNoPolicy : results[i] - 1;
}

}  // namespace rampart::dp
