#!/usr/bin/env bash
# Two rampartd gateways whose tunnel comes from IKEv2 with a pre-shared key, not manual keys
# (config/examples/ike-gateway{1,2}.conf): gateway 1 initiates IKE_SA_INIT and IKE_AUTH over UDP
# 500 through its own ports, both install the CHILD_SA and its policies, and pings cross the
# tunnel both ways; then CHILD_SAs are rekeyed on byte lifetimes under traffic without a loss;
# only IKE and ESP cross the internet segment. Needs root.
# Usage: ike_gateways_test.sh RAMPARTD
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rampartd=$1
rampartctl=$(dirname "$rampartd")/rampartctl

source "$here/../../scripts/lib/topology.sh"
source "$here/../support/ns_test.sh"
rp_test_begin  # root, namespaces up, everything removed on exit
rp_capture_internet  # first: gateway 1 initiates within milliseconds of starting
# Both rekey their CHILD_SA every 20 kB (soft byte lifetime from the workers).
RP_CONFIG_EXAMPLE=ike-gateway RP_CONFIG_FILTER='s/initiate = /child_rekey_bytes = 20000; initiate = /' \
  gateways_start "$rampartd" || exit 1
ctl() { local gw=$1; shift; "$rampartctl" -s "$RP_DIR/$gw.sock" "$@"; }

# Gateway 1 initiates as soon as it runs; it needs an ARP answer first, then four messages.
established=0
for _ in $(seq 1 100); do
  if ctl gw1 show ike --json | grep -q '"state": "established"' && ctl gw2 show ike --json | grep -q '"state": "established"'; then
    established=1
    break
  fi
  sleep 0.1
done
((established)) || fail "no IKE SA after 10 s: $(ctl gw1 show ike; ctl gw2 show ike)"
rp_ns "$RP_NS_A" ping -c 3 -i 0.2 -W 2 -q 203.0.113.10 >/dev/null || fail "ping A -> B through the IKE tunnel"
rp_ns "$RP_NS_B" ping -c 3 -i 0.2 -W 2 -q 192.0.2.10 >/dev/null || fail "ping B -> A through the IKE tunnel"
ctl gw1 show ike >"$RP_DIR/ike1.txt"
ctl gw1 show sa --json >"$RP_DIR/sa1.json"
ctl gw2 show sa --json >"$RP_DIR/sa2.json"
/usr/bin/python3 - "$RP_DIR/sa1.json" "$RP_DIR/sa2.json" <<'PY' || fail "the CHILD_SAs do not mirror each other: $(cat "$RP_DIR"/sa*.json)"
import json, sys
one = {s["name"]: s for s in json.load(open(sys.argv[1]))}
two = {s["name"]: s for s in json.load(open(sys.argv[2]))}
assert one["site-out"]["spi"] == two["site-in"]["spi"] and one["site-in"]["spi"] == two["site-out"]["spi"]
assert one["site-out"]["packets"] >= 3 and two["site-in"]["packets"] >= 3
PY
grep -q "aes128gcm16-prfsha256-ecp256" "$RP_DIR/ike1.txt" || fail "show ike does not name the suite: $(cat "$RP_DIR/ike1.txt")"

# 60 pings of 1 kB each way: about 150 kB through each SA, so several rekeys on byte lifetimes,
# from both sides, with nothing lost.
received=$(rp_ns "$RP_NS_A" ping -c 60 -i 0.05 -s 1000 -W 1 -q 203.0.113.10 | grep -o '[0-9]* received')
[[ $received == "60 received" ]] || fail "pings lost across byte-lifetime rekeys: $received of 60"
rekeys=$(ctl gw1 show ike --json | /usr/bin/python3 -c 'import json,sys; s=json.load(sys.stdin)[0]; print(s["child_rekeys"])')
((rekeys >= 3)) || fail "expected several CHILD_SA rekeys on byte lifetimes, saw $rekeys"
grep -q "reached its lifetime: rekeying" "$RP_DIR/gw1.log" "$RP_DIR/gw2.log" || fail "no rekey on a lifetime event"

rp_capture_stop
for pcap in to_g1 to_g2; do
  other=$(tcpdump -r "$RP_DIR/$pcap.pcap" -n 'ip and not esp and not (udp port 500)' 2>/dev/null)
  [[ -z $other ]] || fail "not only IKE and ESP crossed the internet segment ($pcap): $other"
done
ike=$(cat <(tcpdump -r "$RP_DIR/to_g2.pcap" -n 'udp port 500' 2>/dev/null) <(tcpdump -r "$RP_DIR/to_g1.pcap" -n 'udp port 500' 2>/dev/null) | wc -l)
((ike >= 4 + 2 * rekeys)) || fail "expected IKE_SA_INIT, IKE_AUTH and a CREATE_CHILD_SA per rekey, saw $ike messages"
gateways_stop
rp_test_verdict ike_gateways_test
