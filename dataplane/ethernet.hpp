// Putting an Ethernet header in front of an IP packet in an mbuf: what every path that sends a
// packet does last (workers, and the control core for packets it held).
#pragma once

#include <rte_ether.h>
#include <rte_mbuf.h>

namespace rampart::dp {

// False if the mbuf has no headroom left for the header.
inline bool prepend_ethernet(rte_mbuf* m, const rte_ether_addr& destination, const rte_ether_addr& source,
                             uint16_t ether_type) noexcept {
  auto* eth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_prepend(m, sizeof(rte_ether_hdr)));
  if (eth == nullptr) return false;
  eth->dst_addr = destination;
  eth->src_addr = source;
  eth->ether_type = rte_cpu_to_be_16(ether_type);
  return true;
}

}  // namespace rampart::dp
