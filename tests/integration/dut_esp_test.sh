#!/usr/bin/env bash
# rampart-bench's DUT mode as the far-end gateway: one rampartd (gateway 1, manual keys from
# config/examples/site-to-site-gateway1.conf) between host A's veth and the internet veth, both
# in host A's namespace, where rampart-bench plays gateway 2 (198.51.100.2) with gateway 2's keys.
#   - outbound: cleartext into gateway 1's inside port, ESP out of its outside port, opened by
#     the bench with SPI 0x1001;
#   - inbound: ESP sealed by the bench with SPI 0x2001 into the outside port, cleartext out of
#     the inside port.
# A fixed-rate trial each way, whose counts must agree with gateway 1's own ESP counters, then
# a search for the no-drop rate each way.
# Needs root. Usage: dut_esp_test.sh RAMPARTD RAMPART_BENCH
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rampartd=$1
bench=$2

source "$here/../../scripts/lib/topology.sh"
source "$here/../support/ns_test.sh"
export RP_GATEWAYS=gw1
rp_test_begin  # root, namespaces up, everything removed on exit
rp_move_to_a "$RP_NS_G2" g2out 198.51.100.2/24  # gateway 2's outside end, played by the bench
gateways_start "$rampartd" || exit 1
g1_in=$(ip -n "$RP_NS_G1" -br link show g1in | awk '{print $3}')
g1_out=$(ip -n "$RP_NS_G1" -br link show g1out | awk '{print $3}')
rp_ns "$RP_NS_A" ping -c 2 -W 1 -q 192.0.2.1 >/dev/null 2>&1  # gateway 1 learns host A

# Gateway 2's keys: it receives on gateway 1's outbound SA and sends on its inbound one.
open_sa=0x1001,000102030405060708090a0b0c0d0e0fcafebabe
seal_sa=0x2001,202122232425262728292a2b2c2d2e2fdeadbeef
dut() {
  rp_ns "$RP_NS_A" "$bench" dut --rate 2000 --seconds 0.5 --sizes 64,1400 --tunnel 198.51.100.2,198.51.100.1 "$@"
}
dut --tx net_af_packet0,iface=a0 --rx net_af_packet1,iface=g2out --dst-mac "$g1_in" --src 192.0.2.10 --dst 203.0.113.10 \
  --open "$open_sa" --json "$RP_DIR/outbound.json" >"$RP_DIR/outbound.txt" 2>&1 || fail "outbound trial: $(cat "$RP_DIR/outbound.txt")"
dut --tx net_af_packet0,iface=g2out --rx net_af_packet1,iface=a0 --dst-mac "$g1_out" --src 203.0.113.10 --dst 192.0.2.10 \
  --seal "$seal_sa" --json "$RP_DIR/inbound.json" >"$RP_DIR/inbound.txt" 2>&1 || fail "inbound trial: $(cat "$RP_DIR/inbound.txt")"
# NDR at 512 B each way (what one rampartd on af_packet takes from a peer that keys it by hand).
for dir in outbound inbound; do
  if [[ $dir == outbound ]]; then
    args=(--tx net_af_packet0,iface=a0 --rx net_af_packet1,iface=g2out --dst-mac "$g1_in" --src 192.0.2.10 --dst 203.0.113.10 --open "$open_sa")
  else
    args=(--tx net_af_packet0,iface=g2out --rx net_af_packet1,iface=a0 --dst-mac "$g1_out" --src 203.0.113.10 --dst 192.0.2.10 --seal "$seal_sa")
  fi
  rp_ns "$RP_NS_A" "$bench" dut --search --max-rate 300000 --loss 0 --seconds 0.5 --sizes 512 --tunnel 198.51.100.2,198.51.100.1 \
    "${args[@]}" --json "$RP_DIR/search-$dir.json" >"$RP_DIR/search-$dir.txt" 2>&1 || fail "$dir search: $(cat "$RP_DIR/search-$dir.txt")"
  /usr/bin/python3 -c 'import json,sys; r=[r for r in json.load(open(sys.argv[1]))["rows"] if r["kind"]=="ndr"][0]; print(sys.argv[2], "NDR at 512 B: %.0f pps" % r["offered_pps"])' \
    "$RP_DIR/search-$dir.json" "$dir" || fail "$dir search found no rate"
done
gateways_stop
counter() { awk -v name="$1" '$1 == name {print $2}' "$RP_DIR/gw1.log"; }
/usr/bin/python3 - "$RP_DIR/outbound.json" "$RP_DIR/inbound.json" "$(counter esp_out_packets)" "$(counter esp_in_packets)" <<'PY' ||
import json, sys
out = json.load(open(sys.argv[1]))["rows"]
inb = json.load(open(sys.argv[2]))["rows"]
for r in out + inb:
    # 2,000 pps is far below any limit, but a busy machine stalls the pollers: half must cross.
    assert r["sent"] >= 100 and r["received"] >= 0.5 * r["sent"], r
    assert 0 < r["latency_us"]["p50"] <= r["latency_us"]["max"], r
esp_out, esp_in = int(sys.argv[3]), int(sys.argv[4])
# Every frame the bench opened, gateway 1 sealed; every frame it sealed and got back, gateway 1 opened
# (warm-up trials add more to the gateway's counts).
assert esp_out >= sum(r["received"] for r in out), (esp_out, out)
assert esp_in >= sum(r["received"] for r in inb), (esp_in, inb)
print("outbound %d/%d, inbound %d/%d frames through one rampartd with the bench as its peer" %
      (sum(r["received"] for r in out), sum(r["sent"] for r in out), sum(r["received"] for r in inb), sum(r["sent"] for r in inb)))
PY
  fail "results: $(cat "$RP_DIR/outbound.txt" "$RP_DIR/inbound.txt")"
rp_test_verdict dut_esp_test
