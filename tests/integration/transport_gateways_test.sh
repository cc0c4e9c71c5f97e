#!/usr/bin/env bash
# Transport mode end to end (config/examples/host-to-host-transport{1,2}.conf): each rampartd is
# the bump in the wire for its host (RFC 4301 3.3), and the ESP between the gateways carries host
# A's and host B's own addresses, no tunnel header. Ping and TCP both ways over IPv4 and IPv6,
# and 1500-byte IPv4 pings without DF (their ESP crosses in fragments);
# the captured ESP decrypts in transport mode with scapy using the configured keys; no cleartext
# between the hosts crosses the internet segment. Needs root. Usage: transport_gateways_test.sh RAMPARTD
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rampartd=$1

source "$here/../../scripts/lib/topology.sh"
source "$here/../support/ns_test.sh"
rp_test_begin  # root, namespaces up, everything removed on exit
RP_CONFIG_EXAMPLE=host-to-host-transport gateways_start "$rampartd" || exit 1
rp_capture_internet

rp_ns "$RP_NS_A" ping -c 3 -i 0.2 -W 2 -q 203.0.113.10 >/dev/null || fail "ping A -> B"
rp_ns "$RP_NS_B" ping -c 3 -i 0.2 -W 2 -q 192.0.2.10 >/dev/null || fail "ping B -> A"
rp_ns "$RP_NS_A" ping -6 -c 3 -i 0.2 -W 2 -q 2001:db8:2::10 >/dev/null || fail "ping IPv6 A -> B"
rp_ns "$RP_NS_B" ping -6 -c 3 -i 0.2 -W 2 -q 2001:db8:1::10 >/dev/null || fail "ping IPv6 B -> A"
# 1500-byte packets without DF: as ESP they no longer fit the internet segment, so each gateway
# encrypts them whole and splits the ESP packet, and the other puts it back together before it
# decrypts (RFC 4303 3.3.4, 3.4.1).
rp_ns "$RP_NS_A" ping -M dont -s 1472 -c 3 -i 0.2 -W 2 -q 203.0.113.10 >/dev/null || fail "1500-byte ping A -> B without DF"
rp_ns "$RP_NS_B" ping -M dont -s 1472 -c 3 -i 0.2 -W 2 -q 192.0.2.10 >/dev/null || fail "1500-byte ping B -> A without DF"
transfer() { local why; why=$(rp_transfer "$@") || fail "$why"; }
transfer "$RP_NS_A" "$RP_NS_B" 203.0.113.10
transfer "$RP_NS_B" "$RP_NS_A" 192.0.2.10
transfer "$RP_NS_A" "$RP_NS_B" 2001:db8:2::10

rp_capture_stop
split=$(tcpdump -r "$RP_DIR/to_g2.pcap" -n 'ip proto 50 and (ip[6:2] & 0x3fff != 0)' 2>/dev/null | wc -l)
((split >= 6)) || fail "the big pings' ESP did not cross the internet segment in fragments ($split seen)"
check() {  # pcap spi key
  /usr/bin/python3 "$here/esp_capture.py" check "$RP_DIR/$1.pcap" "$2" "$3" transport ||
    fail "ESP with SPI $2 does not decrypt in transport mode with its configured key"
}
check to_g2 0x3001 303132333435363738393a3b3c3d3e3f01020304
check to_g2 0x3002 505152535455565758595a5b5c5d5e5f090a0b0c
check to_g1 0x4001 404142434445464748494a4b4c4d4e4f05060708
check to_g1 0x4002 606162636465666768696a6b6c6d6e6f0d0e0f10
# The ESP is between the hosts themselves; nothing else between them crosses in the clear.
hosts=$(tcpdump -r "$RP_DIR/to_g2.pcap" -n 'esp and src host 192.0.2.10 and dst host 203.0.113.10' 2>/dev/null | wc -l)
((hosts >= 3)) || fail "no ESP between the hosts' own addresses"
cleartext=$(cat <(tcpdump -r "$RP_DIR/to_g2.pcap" -n '(ip or ip6) and not esp and not icmp6' 2>/dev/null) \
                <(tcpdump -r "$RP_DIR/to_g1.pcap" -n '(ip or ip6) and not esp and not icmp6' 2>/dev/null))
[[ -z $cleartext ]] || fail "cleartext crossed the internet segment: $cleartext"
gateways_stop
rp_test_verdict transport_gateways_test
