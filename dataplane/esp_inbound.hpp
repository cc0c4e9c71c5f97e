// Inbound ESP (RFC 4303 section 3.4) with AES-GCM (RFC 4106): checks, decrypts and decapsulates
// each packet of a burst with its SA. Input mbufs start at the outer IP header of an ESP (or
// ESP-in-UDP) packet; output mbufs start at the inner packet (tunnel) or at the restored IP
// packet (transport).
#pragma once

#include <cstdint>

#include "dataplane/burst.hpp"

namespace rampart::dp {

// burst.sa[i] is the inbound SA the SAD matched for burst.pkts[i]. The ICV is verified before
// the replay window moves. Returns the number of good packets, which lead the burst in their
// original order; the rest carry a DropReason each.
uint16_t esp_inbound_burst(EspContext& ctx, Burst& burst) noexcept;

}  // namespace rampart::dp
