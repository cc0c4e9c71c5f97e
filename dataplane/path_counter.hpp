// What the gateway counts besides drops, one lane per worker and one for the control core.
#pragma once

#include <array>
#include <cstddef>

#include "common/counters.hpp"

namespace rampart::dp {

enum class PathCounter : size_t {
  kRx, kTx, kEspOut, kEspIn, kBypass, kEchoReplies, kToControl, kReassembled, kBusyCycles, kIdleCycles, kBusyPolls,
  kGenerated, kMergedFragments, kHandedOut, kHandedIn, kCount
};
// Every packet is accounted for: rx_packets + generated_packets = tx_packets + merged_fragments
// + the drop reasons (consumed ones included) + what is held (fragments, unresolved next hops,
// the rings between cores), which shutdown counts as drop_shutdown.
inline constexpr std::array<CounterDef, static_cast<size_t>(PathCounter::kCount)> kPathCounterDefs{{
    {"rx_packets", "packets received on all ports"},
    {"tx_packets", "packets sent on all ports"},
    {"esp_out_packets", "packets protected with ESP"},
    {"esp_in_packets", "ESP packets decrypted and accepted"},
    {"bypass_packets", "packets forwarded in the clear by a bypass policy"},
    {"echo_replies", "ICMP echo requests to the gateway answered"},
    {"to_control_packets", "packets handed to the control core (ARP, ND, datagrams for local services)"},
    {"reassembled_packets", "packets addressed to the gateway put back together from fragments"},
    {"busy_cycles", "TSC cycles workers spent on passes that moved packets"},
    {"idle_cycles", "TSC cycles workers spent on passes that found nothing"},
    {"busy_polls", "worker passes that moved packets"},
    {"generated_packets", "packets the gateway made: local services' datagrams, ARP and ND requests, ICMP errors, fragments beyond the first"},
    {"merged_fragments", "fragments that became part of a reassembled packet, beyond its first"},
    {"handed_out_packets", "packets a worker handed to the worker owning their SA"},
    {"handed_in_packets", "packets a worker took from others to process as their SA's owner"},
}};

}  // namespace rampart::dp
