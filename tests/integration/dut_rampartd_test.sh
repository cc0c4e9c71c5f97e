#!/usr/bin/env bash
# rampart-bench's DUT mode against real rampartd gateways: the two-gateway topology
# (scripts/lib/topology.sh) with host B's veth moved into host A's namespace, so that one
# rampart-bench process sends cleartext into gateway 1 on a0 and receives it on b0 after gateway 2
# has decrypted it. A fixed-rate trial and an NDR/PDR search through both gateways; the counts must
# agree with the gateways' own (every frame received went through both as ESP).
# Needs root. Usage: dut_rampartd_test.sh RAMPARTD RAMPART_BENCH
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rampartd=$1
bench=$2

source "$here/../../scripts/lib/topology.sh"
source "$here/../support/ns_test.sh"
rp_test_begin  # root, namespaces up, everything removed on exit
rp_move_to_a "$RP_NS_B" b0 203.0.113.10/24  # host B's end, received on by the bench
gateways_start "$rampartd" || exit 1
g1_mac=$(ip -n "$RP_NS_G1" -br link show g1in | awk '{print $3}')
rp_ns "$RP_NS_A" ping -c 2 -W 1 -q 192.0.2.1 >/dev/null 2>&1  # gateway 1 learns host A

dut() {
  rp_ns "$RP_NS_A" "$bench" dut --tx net_af_packet0,iface=a0 --rx net_af_packet1,iface=b0 --dst-mac "$g1_mac" \
    --src 192.0.2.10 --dst 203.0.113.10 "$@"
}
dut --rate 2000 --seconds 0.5 --sizes 64,1400 --json "$RP_DIR/fixed.json" >"$RP_DIR/fixed.txt" 2>&1 ||
  fail "fixed-rate trial: $(cat "$RP_DIR/fixed.txt")"
dut --search --max-rate 400000 --seconds 0.5 --sizes 512 --json "$RP_DIR/search.json" >"$RP_DIR/search.txt" 2>&1 ||
  fail "search: $(cat "$RP_DIR/search.txt")"
gateways_stop
counter() { awk -v name="$2" '$1 == name {print $2}' "$RP_DIR/$1.log"; }
/usr/bin/python3 - "$RP_DIR/fixed.json" "$RP_DIR/search.json" "$(counter gw1 esp_out_packets)" \
  "$(counter gw2 esp_in_packets)" <<'PY' || fail "results: $(cat "$RP_DIR/fixed.txt" "$RP_DIR/search.txt")"
import json, sys
fixed = json.load(open(sys.argv[1]))
for r in fixed["rows"]:
    # 2,000 pps is far below any limit, but a busy machine stalls the pollers: half must cross.
    assert r["sent"] >= 100 and r["received"] >= 0.5 * r["sent"], r
    assert 0 < r["latency_us"]["p50"] <= r["latency_us"]["max"], r
search = json.load(open(sys.argv[2]))
pdr = [r for r in search["rows"] if r["kind"] == "pdr"][0]
ndr = [r for r in search["rows"] if r["kind"] == "ndr"][0]
# Two searches on a machine with more busy pollers (two gateways' workers and the bench) than
# cores: each finds its own rate; only that they found one that passes is checked.
assert pdr["offered_pps"] >= 2000 and pdr["loss"] <= 0.005, pdr
assert ndr["offered_pps"] >= 2000 and ndr["loss"] == 0, ndr
# NDR and PDR rows repeat a trial: count each trial once.
received = sum(r["received"] for r in fixed["rows"] + search["rows"] if r["kind"] in ("fixed", "trial"))
esp_out, esp_in = int(sys.argv[3]), int(sys.argv[4])
# Everything the receiver counted crossed the tunnel (warm-up trials add more to the gateways).
assert esp_in >= received and esp_out >= esp_in, (received, esp_out, esp_in)
print(f"NDR {ndr['offered_pps']:.0f} pps, PDR {pdr['offered_pps']:.0f} pps at 512 B through two rampartd on af_packet")
PY
rp_test_verdict dut_rampartd_test
