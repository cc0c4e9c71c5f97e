#!/usr/bin/env bash
# rampart-bench for a fraction of a second per row. Self mode: it runs, every row's counts add up
# (sent = received + counted drops; the bench itself exits 1 otherwise), the JSON validates and
# describes the machine, the plot is a PNG, options change what is measured. DUT mode: against a
# loopback limited to a known rate, a fixed rate below it loses nothing and the search finds the
# limit. Bad usage exits 2.
# Usage: rampart_bench_test.sh RAMPART_BENCH
set -uo pipefail
bench=$1
dir=$(mktemp -d /tmp/rampart-bench-test.XXXXXX)
trap 'rm -rf "$dir"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

"$bench" self --sizes 64,imix --sas 1,3 --seconds 0.02 --json "$dir/run.json" --plot "$dir/run.png" >"$dir/run.txt" 2>&1 ||
  fail "self mode: $(cat "$dir/run.txt")"
/usr/bin/python3 - "$dir/run.json" <<'PY' || fail "the JSON: $(head -c 2000 "$dir/run.json")"
import json, sys
run = json.load(open(sys.argv[1]))
assert run["bench"] == "rampart-bench" and run["mode"] == "self"
machine = run["machine"]
for key in ("cpu", "flags", "cores", "ipsec_mb", "dpdk", "compiler", "kernel"):
    assert key in machine, key
assert machine["ipsec_mb"]["arch"] in ("sse", "avx", "avx2", "avx512", "aesni"), machine["ipsec_mb"]
rows = run["rows"]
systems = {r["system"] for r in rows}
assert systems == {"rampart", "rampart-esp", "rampart-clear", "rte_ipsec", "ipsec-mb"}, systems
assert len(rows) == 2 * 2 * 2 * 5, len(rows)  # SA counts x directions x sizes x systems
for r in rows:
    assert r["mpps"] > 0 and r["cycles_per_packet"] > 0, r
    assert r["gbps_l2"] > r["gbps_l3"] > 0, r
    if r["system"] in ("rampart", "rampart-esp", "rampart-clear"):
        assert r["sent"] == r["received"] + r["dropped"], r
        assert r["dropped"] == 0, r
    if r["system"] in ("rampart", "rampart-esp"):
        assert 0 < r["of_ceiling"] and r["vs_rte_ipsec"] > 0, r
PY
head -c 8 "$dir/run.png" | od -An -c | grep -q "P   N   G" || fail "no PNG plot"
grep -q "rampart-esp" "$dir/run.txt" || fail "no table on the terminal"

# AES-GCM-256 over IPv6; transport mode runs outbound only.
"$bench" self --sizes 512 --sas 2 --seconds 0.01 --cipher aes-gcm-256 --family ipv6 --no-baseline \
  >"$dir/v6.txt" 2>&1 || fail "AES-GCM-256 IPv6: $(cat "$dir/v6.txt")"
grep -q "AES-GCM-256 tunnel IPv6" "$dir/v6.txt" || fail "the IPv6 run does not say what it ran"
[[ $(grep -c "rampart  *outbound\|rampart  *inbound" "$dir/v6.txt") -eq 2 ]] || fail "the IPv6 run should have an outbound and an inbound row"
"$bench" self --sizes 64 --sas 1 --seconds 0.01 --mode transport >"$dir/transport.txt" 2>&1 ||
  fail "transport: $(cat "$dir/transport.txt")"
grep -q "inbound" "$dir/transport.txt" && fail "transport mode should run outbound only"

# DUT mode against a loopback limited to 200,000 frames/s: a fixed rate under the limit gets
# through; the search's PDR stays at or under the limit and something past it loses frames. On a
# busy machine the stand-in DUT's thread stalls and loses frames at any rate (2.7% seen at half
# the limit with stress-ng beside it), so the margins are a tenth of the quiet figures.
"$bench" dut --loopback 200000 --rate 100000 --seconds 0.3 --sizes 64,1420 --json "$dir/fixed.json" >"$dir/fixed.txt" 2>&1 ||
  fail "dut at a fixed rate: $(cat "$dir/fixed.txt")"
"$bench" dut --loopback 200000 --search --seconds 1 --sizes 64 --json "$dir/search.json" >"$dir/search.txt" 2>&1 ||
  fail "dut search: $(cat "$dir/search.txt")"
/usr/bin/python3 - "$dir/fixed.json" "$dir/search.json" <<'PY' || fail "DUT results: $(cat "$dir/fixed.txt" "$dir/search.txt")"
import json, sys
fixed = json.load(open(sys.argv[1]))
assert fixed["mode"] == "dut" and "cpu" in fixed["machine"]
assert [r["size"] for r in fixed["rows"]] == [64, 1420]
for r in fixed["rows"]:
    assert r["sent"] >= 3000 and 0 < r["received"] <= r["sent"] and r["loss"] <= 0.5, r
    assert 0 < r["latency_us"]["p50"] <= r["latency_us"]["p99"] <= r["latency_us"]["max"], r
search = json.load(open(sys.argv[2]))
pdr = [r for r in search["rows"] if r["kind"] == "pdr"][0]
assert 20000 <= pdr["offered_pps"] <= 204000, pdr  # at most the limit, plus the bucket's 10 ms over 1 s
assert pdr["loss"] <= 0.005, pdr
ndr = [r for r in search["rows"] if r["kind"] == "ndr"][0]
assert ndr["loss"] == 0 and ndr["offered_pps"] <= 204000, ndr
trials = [r for r in search["rows"] if r["kind"] == "trial"]
assert any(r["loss"] > 0.005 for r in trials), "the search never went past the limit"
PY
"$bench" dut --loopback 1000 >/dev/null 2>&1; [[ $? -eq 2 ]] || fail "dut without --rate or --search should be a usage error"

"$bench" self --sizes 63 >/dev/null 2>&1; [[ $? -eq 2 ]] || fail "a size below 64 should be a usage error"
"$bench" nonsense >/dev/null 2>&1; [[ $? -eq 2 ]] || fail "an unknown mode should be a usage error"

# ike-bench: every suite set up at least once, both ways of keying the responder, valid JSON.
"$(dirname "$bench")/ike-bench" --seconds 0.05 --json >"$dir/ike.json" || fail "ike-bench failed"
/usr/bin/python3 - "$dir/ike.json" <<'PY' || fail "ike-bench JSON: $(cat "$dir/ike.json")"
import json, sys
rows = json.load(open(sys.argv[1]))["rows"]
assert len(rows) == 8 and {r["dh_reuse_ms"] for r in rows} == {0, 1000}
assert {r["auth"] for r in rows} == {"psk", "ecdsa-p256"}
assert all(r["setups"] >= 1 and r["responder_setups_per_s"] > 0 for r in rows)
PY

if ((failures)); then
  echo "rampart_bench_test: $failures failure(s)"
  exit 1
fi
echo "rampart_bench_test: all checks passed"
