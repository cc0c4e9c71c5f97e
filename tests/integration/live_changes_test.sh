#!/usr/bin/env bash
# Live changes through rampartctl while traffic flows between two rampartd gateways
# (scripts/lib/topology.sh): both SA pairs rekeyed by hand make-before-break under a 50-per-second
# ping with no ping lost; a discard policy added and removed; a route removed and put back; a
# broken config reload refused with its file:line and nothing changed; a change only a restart
# can make refused; keys shown only with --show-keys; two clients at once; a packet trace.
# Needs root. Usage: live_changes_test.sh RAMPARTD
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rampartd=$1
rampartctl=$(dirname "$rampartd")/rampartctl

source "$here/../../scripts/lib/topology.sh"
source "$here/../support/ns_test.sh"
rp_test_begin  # root, namespaces up, everything removed on exit
gateways_start "$rampartd" || exit 1
ctl() { local gw=$1; shift; "$rampartctl" -s "$RP_DIR/$gw.sock" "$@"; }
ping_ab() { rp_ns "$RP_NS_A" ping -c "${1:-2}" -i 0.2 -W 1 -q 203.0.113.10 >/dev/null 2>&1; }
ping_ab 3 || fail "no traffic before any change"

# 1. Rekey both directions under a ping every 20 ms. Order: each side's new inbound SA first,
# then the outbound SAs; the replaced inbound SAs linger, so packets already sent still open.
rp_ns "$RP_NS_A" ping -c 250 -i 0.02 -W 2 -q 203.0.113.10 >"$RP_DIR/ping.out" 2>&1 &
ping_pid=$!
pids+=($ping_pid)
sleep 1
sa() {  # name spi direction key local remote
  echo "name = \"$1\"; spi = $2; direction = \"$3\"; mode = \"tunnel\"; cipher = \"aes-gcm-128\"; key = \"$4\"; local = \"$5\"; remote = \"$6\";"
}
# A fresh key every round: a manual key is never installed twice (RFC 4106 8.1).
for round in 1 2 3; do
  k12=10111213141516171${round}191a1b1c1d1e1f01020304
  k21=30313233343536373${round}393a3b3c3d3e3f05060708
  ctl gw2 sa add "$(sa from-peer 0x110$round inbound $k12 198.51.100.2 198.51.100.1)" >/dev/null || fail "gw2 inbound rekey $round"
  ctl gw1 sa add "$(sa from-peer 0x220$round inbound $k21 198.51.100.1 198.51.100.2)" >/dev/null || fail "gw1 inbound rekey $round"
  ctl gw1 sa add "$(sa to-peer 0x110$round outbound $k12 198.51.100.1 198.51.100.2)" >/dev/null || fail "gw1 outbound rekey $round"
  ctl gw2 sa add "$(sa to-peer 0x220$round outbound $k21 198.51.100.2 198.51.100.1)" >/dev/null || fail "gw2 outbound rekey $round"
  # Two clients at once while it changes.
  ctl gw1 show counters >/dev/null &
  first=$!
  ctl gw1 show sa --json >/dev/null || fail "a second client"
  wait $first || fail "a first client"
  sleep 0.7
done
wait $ping_pid
grep -q "250 packets transmitted, 250 received" "$RP_DIR/ping.out" || fail "pings lost across the rekeys: $(cat "$RP_DIR/ping.out")"
ctl gw1 show sa --json >"$RP_DIR/sa.json" || fail "show sa"
/usr/bin/python3 - "$RP_DIR/sa.json" <<'PY' || fail "gateway 1's SAs after the rekeys: $(cat "$RP_DIR/sa.json")"
import json, sys
sas = {(s["name"], s["state"]): s for s in json.load(open(sys.argv[1]))}
assert sas[("to-peer", "active")]["spi"] == 0x1103 and sas[("to-peer", "active")]["packets"] > 0
assert sas[("from-peer", "active")]["spi"] == 0x2203 and sas[("from-peer", "active")]["packets"] > 0
assert not any("key" in s for s in sas.values())
PY
sleep 2.5  # past the linger: only the current SAs are left
[[ $(ctl gw1 show sa --json | grep -o '"state": "lingering"' | wc -l) -eq 0 ]] || fail "lingering SAs were not removed"
ctl gw1 show sa to-peer --show-keys | grep -q "$k12" || fail "--show-keys does not show the key"
ctl gw1 show sa to-peer | grep -q "$k12" && fail "the key is shown without --show-keys"
ctl gw1 show sa 0x1103 >/dev/null || fail "show sa by SPI"
ctl gw1 show sa nothing-like-this >/dev/null 2>&1; [[ $? -eq 1 ]] || fail "show sa of a missing SA should exit 1"

# Trace: the next packets through gateway 1, what each met and where it went.
rp_ns "$RP_NS_A" ping -c 10 -i 0.1 -W 1 -q 203.0.113.10 >/dev/null 2>&1 &
tracer_ping=$!
ctl gw1 trace 6 >"$RP_DIR/trace.txt" || fail "trace"
wait $tracer_ping
grep -q "192.0.2.10 > 203.0.113.10 icmp .*0x00001103 *sent on outside" "$RP_DIR/trace.txt" ||
  fail "the trace does not show the ping leaving through the tunnel: $(cat "$RP_DIR/trace.txt")"
grep -q "198.51.100.2 > 198.51.100.1 esp .*0x00002203 *sent on inside" "$RP_DIR/trace.txt" ||
  fail "the trace does not show the reply coming in through the tunnel: $(cat "$RP_DIR/trace.txt")"
ctl gw1 trace 0 >/dev/null 2>&1; [[ $? -eq 1 ]] || fail "trace 0 should be refused"

# 2. A discard policy that outranks the tunnel's, then its removal.
ctl gw1 policy add 'name = "block-icmp"; direction = "outbound"; source = "192.0.2.0/24"; destination = "203.0.113.0/24"; protocol = "icmp"; action = "discard"; priority = 1;' >/dev/null ||
  fail "policy add"
ping_ab && fail "ping passed a discard policy"
ctl gw1 show policy | grep -q "block-icmp" || fail "show policy does not list the new policy"
ctl gw1 policy del block-icmp >/dev/null || fail "policy del"
ping_ab || fail "ping after the discard policy went"
ctl gw1 policy del block-icmp >/dev/null 2>&1; [[ $? -eq 1 ]] || fail "deleting a missing policy should exit 1"
ctl gw1 sa del to-peer >/dev/null 2>&1; [[ $? -eq 1 ]] || fail "an SA that policies name should not be deleted"

# 3. A more specific route that sends the tunnel to a next hop nobody answers for, then its
# removal (the SPD decides what is protected; routes decide where the ESP goes).
ctl gw1 route add 'destination = "198.51.100.2/32"; via = "198.51.100.99"; interface = "outside";' >/dev/null ||
  fail "route add"
ctl gw1 show routes | grep -q "198.51.100.2/32 *198.51.100.99" || fail "show routes does not list the new route"
ping_ab && fail "ping passed with the tunnel routed into a void"
ctl gw1 route del 198.51.100.2/32 >/dev/null || fail "route del"
ping_ab || fail "ping after the route went"
ctl gw1 route del 198.51.100.2/32 >/dev/null 2>&1; [[ $? -eq 1 ]] || fail "deleting a missing route should exit 1"

# 4. Reloads: a broken file is refused with its file:line and nothing changes; so is a change
# only a restart can make; the file the gateway started with puts its SAs back (both sides).
before=$(ctl gw1 show sa --json | sed 's/"packets": [0-9]*, "bytes": [0-9]*/-/g')
sed 's/spi = 0x1001;/spi = "oops";/' "$RP_DIR/gw1.conf" >"$RP_DIR/broken.conf"
ctl gw1 config reload "$RP_DIR/broken.conf" >/dev/null 2>"$RP_DIR/reload.err"
[[ $? -eq 1 ]] || fail "a broken reload should exit 1"
grep -q "broken.conf:[0-9]*: sas" "$RP_DIR/reload.err" || fail "the refusal does not name file:line: $(cat "$RP_DIR/reload.err")"
sed 's/address = "192.0.2.1\/24";/address = "192.0.2.1\/24"; mtu = 1400;/' "$RP_DIR/gw1.conf" >"$RP_DIR/mtu.conf"
ctl gw1 config reload "$RP_DIR/mtu.conf" >/dev/null 2>&1; [[ $? -eq 1 ]] || fail "an interface change should be refused"
after=$(ctl gw1 show sa --json | sed 's/"packets": [0-9]*, "bytes": [0-9]*/-/g')
[[ $before == "$after" ]] || fail "a refused reload changed the SAs"
ping_ab || fail "ping after the refused reloads"
ctl gw2 config reload >/dev/null || fail "gw2 reload"
ctl gw1 config reload --json | grep -q '"applied"' || fail "gw1 reload"
ping_ab 3 || fail "ping after both gateways reloaded their files"
ctl gw1 show sa | grep -q "0x00001001  outbound" || fail "the reload did not put the file's SA back"

gateways_stop
rp_test_verdict live_changes_test
