// Outbound ESP (RFC 4303 section 3.1) with AES-GCM (RFC 4106): encapsulates each packet of a
// burst with its SA. Input mbufs start at the IP header of the packet to protect; output mbufs
// start at the outer IP header of the ESP (or ESP-in-UDP) packet.
#pragma once

#include <cstdint>

#include "dataplane/burst.hpp"

namespace rampart::dp {

// burst.sa[i] is the SA for burst.pkts[i] (outbound SAs). Returns the number of good packets,
// which lead the burst in their original order; the rest carry a DropReason each.
uint16_t esp_outbound_burst(EspContext& ctx, Burst& burst) noexcept;

}  // namespace rampart::dp
