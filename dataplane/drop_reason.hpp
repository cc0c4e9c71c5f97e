// Every reason the data plane drops or consumes a packet, declared once with its counter name
// and help text. Workers count each dropped packet under exactly one reason.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "common/counters.hpp"

namespace rampart::dp {

enum class DropReason : uint8_t {
  kRunt,            // shorter than the headers it must carry
  kBadLength,       // a length field disagrees with the packet
  kBadChecksum,     // an IPv4 header (outer or inner) or a non-zero UDP checksum did not verify
  kFragment,        // an IP fragment reached ESP; reassembly must come first
  kNotIp,           // not IPv4 or IPv6 where a packet must be
  kNotEsp,          // not ESP (or ESP in UDP) where the SA expects it
  kSpiMismatch,     // handed to an SA whose SPI it does not carry
  kSaAddressMismatch,  // not addressed to (or, where checked, from) its SA's outer addresses
  kReplay,          // sequence number seen before
  kOutOfWindow,     // sequence number older than the window
  kIcvFailed,       // integrity check failed
  kBadPadding,      // pad length past the payload or pad bytes not 1, 2, 3...
  kBadNextHeader,   // next header not what the mode allows
  kBadInner,        // decrypted inner packet malformed
  kEcnDrop,         // RFC 6040: CE on the outer header of a not-ECT inner packet
  kDummy,           // next header 59: a TFC dummy packet, consumed silently
  kNatKeepalive,    // RFC 3948 NAT keepalive (one 0xFF byte), consumed
  kSeqOverflow,     // outbound sequence number space used up; the SA stops
  kSaExpired,       // the SA reached its hard lifetime or was stopped
  kNoHeadroom,      // no room in the mbuf to prepend headers
  kNoTailroom,      // no room in the mbuf to append the trailer and ICV
  kMultiSegment,    // chained mbufs, which the ESP path does not take
  // The worker pipeline (dataplane/worker.cpp):
  kUnknownSpi,      // no inbound SA for this SPI
  kPolicyMismatch,  // decrypted inner packet not allowed by its SA's policy (RFC 4301 5.2)
  kCleartext,       // cleartext on the public side that no BYPASS policy allows
  kPolicyDiscard,   // a DISCARD policy matched
  kNoPolicy,        // outbound packet that no policy matched
  kNoSa,            // a protect policy whose SA is not installed (not yet, or no longer)
  kNoRoute,         // no route to the destination
  kNoNeighbour,     // next hop's link-layer address not known yet
  kNotForUs,        // addressed to the gateway, but nothing here serves it
  kTtlExpired,      // TTL ran out at this hop
  kFragmentationNeeded,  // too big for the tunnel with DF set (or IPv6): ICMP "fragmentation needed" or ICMPv6 "packet too big" sent
  kTooBig,          // too big for the tunnel and could not be fragmented
  kReassembly,      // a fragment for us given up: malformed, overlapping, timed out, too many
  kUnsupported,     // a protocol the pipeline does not handle (e.g. IPv6 for now)
  kControlBusy,     // the ring to the control core was full
  kTxFull,          // the port's tx queue took no more
  kHandoffStale,    // handed to the owner, whose SA for it had gone or changed hands by then
  // The control core (its rooms: neighbour_service.cpp, local_delivery.cpp; gateway.cpp at shutdown):
  kNeighbourMessage,     // ARP or ND learned from, or needing no answer: consumed
  kBadNeighbourMessage,  // ARP or ND malformed or refused
  kLocalDelivery,        // handed to a local service (IKE, ...): consumed
  kShutdown,             // still held (fragments, unresolved next hops, rings) when the gateway stopped
  kCount
};

inline constexpr size_t kDropReasonCount = static_cast<size_t>(DropReason::kCount);

inline constexpr std::array<CounterDef, kDropReasonCount> kDropReasonDefs{{
    {"drop_runt", "packet shorter than the headers it must carry"},
    {"drop_bad_length", "a length field disagrees with the packet"},
    {"drop_bad_checksum", "IPv4 header checksum (outer or inner) or non-zero UDP checksum wrong (RFC 1122, RFC 1812, RFC 8200)"},
    {"drop_fragment", "IP fragment where a whole packet is needed"},
    {"drop_not_ip", "not an IPv4 or IPv6 packet"},
    {"drop_not_esp", "not ESP or ESP-in-UDP where the SA expects it"},
    {"drop_spi_mismatch", "packet's SPI is not its SA's"},
    {"drop_sa_address_mismatch", "ESP whose outer destination (or source, where its SA checks it) is not its SA's (RFC 4301 4.4.2.1)"},
    {"drop_replay", "sequence number already seen (anti-replay)"},
    {"drop_out_of_window", "sequence number older than the anti-replay window"},
    {"drop_icv_failed", "integrity check value did not verify"},
    {"drop_bad_padding", "ESP pad length or pad bytes wrong"},
    {"drop_bad_next_header", "ESP next header not allowed in the SA's mode"},
    {"drop_bad_inner", "decrypted inner packet malformed"},
    {"drop_ecn", "outer CE on a not-ECT inner packet (RFC 6040)"},
    {"dummy_packets", "TFC dummy packets (next header 59), dropped silently"},
    {"nat_keepalives", "NAT-T keepalives (RFC 3948), consumed"},
    {"drop_seq_overflow", "outbound sequence number space exhausted; SA stopped"},
    {"drop_sa_expired", "SA past its hard lifetime or stopped"},
    {"drop_no_headroom", "no mbuf headroom for the outer headers"},
    {"drop_no_tailroom", "no mbuf tailroom for the ESP trailer and ICV"},
    {"drop_multi_segment", "chained mbuf, not taken by the ESP path"},
    {"drop_unknown_spi", "ESP with an SPI no inbound SA has"},
    {"drop_policy_mismatch", "decrypted packet not allowed by its SA's policy (RFC 4301 5.2)"},
    {"drop_cleartext", "cleartext on the public side that no bypass policy allows"},
    {"drop_policy_discard", "a discard policy matched"},
    {"drop_no_policy", "outbound packet that no policy matched"},
    {"drop_no_sa", "a protect policy matched, but its SA is not installed (not yet, or no longer)"},
    {"drop_no_route", "no route to the destination"},
    {"drop_no_neighbour", "next hop's link-layer address not resolved yet"},
    {"drop_not_for_us", "addressed to the gateway but not a service it offers"},
    {"drop_ttl_expired", "TTL ran out at this hop"},
    {"drop_fragmentation_needed", "too big for the tunnel with DF set, or IPv6; ICMP fragmentation needed / packet too big sent"},
    {"drop_too_big", "too big for the tunnel and could not be fragmented"},
    {"drop_reassembly", "fragment addressed to the gateway given up: malformed, overlapping, too many, too big or timed out"},
    {"drop_unsupported", "a protocol the pipeline does not handle"},
    {"drop_control_busy", "ring to the control core full"},
    {"drop_tx_full", "transmit queue full"},
    {"drop_handoff_stale", "handed to the SA's owner after the SA went or changed hands"},
    {"neighbour_messages", "ARP and ND messages the control core learned from or that needed no answer, consumed"},
    {"drop_bad_neighbour_message", "ARP or ND message malformed or refused (RFC 826, RFC 4861 7.1: hop limit, length)"},
    {"local_datagrams", "UDP datagrams handed to the local service listening on their port (IKE on 500 and 4500), consumed"},
    {"drop_shutdown", "packets still held when the gateway stopped: fragments, unresolved next hops, rings"},
}};

}  // namespace rampart::dp
