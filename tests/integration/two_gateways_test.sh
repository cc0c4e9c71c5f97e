#!/usr/bin/env bash
# End to end: two rampartd gateways between network namespaces (scripts/lib/topology.sh).
# Ping (IPv4, and IPv6 inside the IPv4 tunnel) and TCP both ways through the tunnel; the ESP captured on the internet segment decrypts
# with scapy using the configured keys; an unknown SPI, a replayed packet and cleartext from the
# internet are dropped and counted; both gateways stop cleanly with every mbuf back.
# With "workers": two workers on each gateway (two queue pairs per port, flows spread over them
# by the kernel's fanout hash), many TCP flows, and no sequence number sent twice or replay drop.
# With "spread": the same, the outbound SAs spread (both workers seal them, their sequence
# numbers interleaving on the wire), and still no replay or out-of-window drop at the peer.
# Needs root. Usage: two_gateways_test.sh RAMPARTD [ipv4|ipv6|workers|spread]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rampartd=$1
rampartctl=$(dirname "$rampartd")/rampartctl
outer=${2:-ipv4}   # ipv6: the same topology with the tunnel between the gateways' IPv6 addresses
workers=1
spread=0
if [[ $outer == workers || $outer == spread ]]; then
  [[ $outer == spread ]] && spread=1
  outer=ipv4
  workers=2
  # Worker lcores 1 and 2 on the machine's two CPUs; each af_packet port with a queue pair each.
  RP_CONFIG_FILTER='s/workers = \[1\]/workers = ["1@1", "2@0"]/; s/\(iface=g[12]\(in\|out\)\)"/\1,qpairs=2"/'
  ((spread)) && RP_CONFIG_FILTER+='; s/\(spi = 0x[0-9a-fA-F]*; direction = "outbound";\)/\1 spread = true;/'
fi

source "$here/../../scripts/lib/topology.sh"
source "$here/../support/ns_test.sh"
rp_test_begin  # root, namespaces up, everything removed on exit
if [[ $outer == ipv6 ]]; then
  # The examples' tunnels, moved to 2001:db8:ff::1 <-> 2001:db8:ff::2 (4in6 and 6in6).
  RP_CONFIG_FILTER='s/local = "198.51.100.1"; remote = "198.51.100.2"/local = "2001:db8:ff::1"; remote = "2001:db8:ff::2"/; s/local = "198.51.100.2"; remote = "198.51.100.1"/local = "2001:db8:ff::2"; remote = "2001:db8:ff::1"/'
fi
gateways_start "$rampartd" || exit 1
rp_capture_internet

rp_ns "$RP_NS_A" ping -c 3 -i 0.2 -W 2 -q 203.0.113.10 >/dev/null || fail "ping A -> B"
rp_ns "$RP_NS_B" ping -c 3 -i 0.2 -W 2 -q 192.0.2.10 >/dev/null || fail "ping B -> A"
rp_ns "$RP_NS_A" ping -c 1 -W 2 -q 192.0.2.1 >/dev/null || fail "ping gateway 1's inside address"
rp_ns "$RP_NS_A" ping -6 -c 3 -i 0.2 -W 2 -q 2001:db8:2::10 >/dev/null || fail "ping IPv6 A -> B (6in4)"
rp_ns "$RP_NS_B" ping -6 -c 3 -i 0.2 -W 2 -q 2001:db8:1::10 >/dev/null || fail "ping IPv6 B -> A (6in4)"
rp_ns "$RP_NS_A" ping -6 -c 1 -W 2 -q 2001:db8:1::1 >/dev/null || fail "ping gateway 1's inside IPv6 address"

transfer() { local why; why=$(rp_transfer "$@") || fail "$why"; }
transfer "$RP_NS_A" "$RP_NS_B" 203.0.113.10
if ((workers > 1)); then
  # More flows, each a new connection (a new source port), so the fanout spreads them.
  for _ in 1 2 3 4 5 6; do
    transfer "$RP_NS_A" "$RP_NS_B" 203.0.113.10
    transfer "$RP_NS_B" "$RP_NS_A" 192.0.2.10
  done
fi
transfer "$RP_NS_B" "$RP_NS_A" 192.0.2.10
# IPv6 with 1500-byte host MTUs: path MTU discovery through ICMPv6 "packet too big" from gateway 1.
transfer "$RP_NS_A" "$RP_NS_B" 2001:db8:2::10

rp_capture_stop
/usr/bin/python3 "$here/esp_capture.py" check "$RP_DIR/to_g2.pcap" 0x1001 000102030405060708090a0b0c0d0e0fcafebabe "$outer" ||
  fail "ESP from gateway 1 does not decrypt with its configured key"
/usr/bin/python3 "$here/esp_capture.py" check "$RP_DIR/to_g1.pcap" 0x2001 202122232425262728292a2b2c2d2e2fdeadbeef "$outer" ||
  fail "ESP from gateway 2 does not decrypt with its configured key"
# Anything but ESP and neighbour discovery is cleartext that should not be there.
clear_filter='(ip and not esp) or (ip6 and not esp and not icmp6)'
cleartext=$(cat <(tcpdump -r "$RP_DIR/to_g2.pcap" -n "$clear_filter" 2>/dev/null) \
                <(tcpdump -r "$RP_DIR/to_g1.pcap" -n "$clear_filter" 2>/dev/null))
[[ -z $cleartext ]] || fail "cleartext crossed the internet segment: $cleartext"

live_counter() { "$rampartctl" -s "$RP_DIR/$1.sock" show counters | awk -v name="$2" '$1 == name {print $2}'; }
if ((workers > 1)); then
  # Each SA's one writer: nothing the peer received was a replay, though flows came in on both
  # workers; and some of them were handed to their SA's owner.
  for gw in gw1 gw2; do
    [[ $(live_counter $gw drop_replay) -eq 0 && $(live_counter $gw drop_out_of_window) -eq 0 ]] ||
      fail "$gw dropped replays with two workers"
  done
  # Inbound is handed to the SA's owner, spread or not (one writer of its window).
  handed=$(($(live_counter gw1 handed_out_packets) + $(live_counter gw2 handed_out_packets)))
  ((handed > 0)) || fail "no packet was handed between workers"
  "$rampartctl" -s "$RP_DIR/gw1.sock" show workers
  if ((spread)); then
    spread_sas=$("$rampartctl" -s "$RP_DIR/gw1.sock" show sa --json | python3 -c \
      'import json, sys; print(sum(1 for s in json.load(sys.stdin) if s["spread"] and s["direction"] == "outbound"))')
    [[ $spread_sas == 1 ]] || fail "gateway 1 shows $spread_sas spread outbound SAs, not 1"
  fi
fi

# Hostile traffic from the internet side.
g1_mac=$(ip -n "$RP_NS_G1" -br link show g1out | awk '{print $3}')
g2_mac=$(ip -n "$RP_NS_G2" -br link show g2out | awk '{print $3}')
# Each arrives before the gateways stop: their consoles count it.
counted() { (($(live_counter "$1" "$2") >= 1)); }
rp_ns "$RP_NS_G2" /usr/bin/python3 "$here/esp_capture.py" inject g2out "$g1_mac" || fail "inject"
wait_for 5 counted gw1 drop_unknown_spi && wait_for 5 counted gw1 drop_cleartext || fail "the injected packets did not arrive"
rp_ns "$RP_NS_G1" /usr/bin/python3 "$here/esp_capture.py" replay "$RP_DIR/to_g2.pcap" g1out "$g2_mac" || fail "replay"
# The capture's first packet: a replay inside the window, or, after many packets, behind it.
replay_caught() { counted gw2 drop_replay || counted gw2 drop_out_of_window; }
wait_for 5 replay_caught || fail "the replayed packets did not arrive"


gateways_stop
counter() { awk -v name="$2" '$1 == name {print $2}' "$RP_DIR/$1.log"; }
[[ $(counter gw1 drop_unknown_spi) -ge 1 ]] || fail "gateway 1 did not count the unknown SPI"
[[ $(counter gw1 drop_cleartext) -ge 1 ]] || fail "gateway 1 did not count the cleartext"
replays=$(counter gw2 drop_replay) behind=$(counter gw2 drop_out_of_window)
((${replays:-0} + ${behind:-0} >= 1)) || fail "gateway 2 did not count the replay"
[[ $(counter gw1 esp_in_packets) -ge 10 && $(counter gw2 esp_in_packets) -ge 10 ]] || fail "too little ESP went through"
rp_test_verdict two_gateways_test
