#!/usr/bin/env bash
# Golden test through net_pcap: rampartd (gateway 1 of the site-to-site example, static
# neighbours instead of ARP) reads crafted pcaps on both ports and writes what it sends to pcaps;
# scapy checks the meaning (decrypts, compares) and then the exact bytes against
# tests/integration/golden/. Usage: pcap_golden_test.sh RAMPARTD SOURCE_DIR [--update]
set -uo pipefail
rampartd=$1
source_dir=$2
dir=$(mktemp -d /tmp/rampart-golden.XXXXXX)
trap 'rm -rf "$dir"' EXIT
/usr/bin/python3 "$source_dir/tests/integration/pcap_golden.py" make "$dir" || exit 1
sed -e "s|net_af_packet0,iface=g1in|net_pcap0,rx_pcap=$dir/inside_in.pcap,tx_pcap=$dir/inside_out.pcap|" \
    -e "s|net_af_packet1,iface=g1out|net_pcap1,rx_pcap=$dir/outside_in.pcap,tx_pcap=$dir/outside_out.pcap|" \
    "$source_dir/config/examples/site-to-site-gateway1.conf" >"$dir/gw1.conf"
metrics_port=$((20000 + $$ % 20000))
echo "console = { socket = \"$dir/console.sock\"; metrics = \"127.0.0.1:$metrics_port\"; };" >>"$dir/gw1.conf"
cat >>"$dir/gw1.conf" <<'CONF'
neighbours = (
  { address = "198.51.100.2"; mac = "02:00:00:00:00:02"; },
  { address = "192.0.2.10"; mac = "02:00:00:00:00:10"; }
);
CONF
"$rampartd" -c "$dir/gw1.conf" >"$dir/gw1.log" 2>&1 &
pid=$!
# The pcaps are a dozen packets, through in microseconds once the worker runs; start-up may take
# long on a busy machine or under ASan: wait (with a bound) until every frame is counted.
rampartctl=$(dirname "$rampartd")/rampartctl
frames=$(($(tcpdump -r "$dir/inside_in.pcap" 2>/dev/null | wc -l) + $(tcpdump -r "$dir/outside_in.pcap" 2>/dev/null | wc -l)))
for _ in $(seq 600); do
  received=$("$rampartctl" -s "$dir/console.sock" show counters 2>/dev/null | awk '$1 == "rx_packets" {print $2}')
  [[ ${received:-0} -ge $frames ]] && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.1
done

# The console while it runs: every command in both output modes, a refused command, a client
# that sends garbage and one that hangs up, and then the console still answers.
console_failures=0
for command in counters drops sa interfaces policy routes neighbors workers; do
  "$rampartctl" -s "$dir/console.sock" show $command >"$dir/$command.txt" || console_failures=$((console_failures + 1))
  "$rampartctl" -s "$dir/console.sock" show $command --json >"$dir/$command.json" || console_failures=$((console_failures + 1))
  /usr/bin/python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$dir/$command.json" || console_failures=$((console_failures + 1))
done
grep -q "drop_unknown_spi *1 " "$dir/counters.txt" || console_failures=$((console_failures + 1))
grep -q "reassembled_packets *1 " "$dir/counters.txt" || console_failures=$((console_failures + 1))
grep -q '"spi": 4097, "direction": "outbound"' "$dir/sa.json" || console_failures=$((console_failures + 1))
grep -q "0x00001001  outbound" "$dir/sa.txt" || console_failures=$((console_failures + 1))
grep -q "203.0.113.0/24 *198.51.100.2 *outside" "$dir/routes.txt" || console_failures=$((console_failures + 1))
grep -q "192.0.2.0/24 *on link *inside" "$dir/routes.txt" || console_failures=$((console_failures + 1))
grep -q "198.51.100.2 *02:00:00:00:00:02" "$dir/neighbors.txt" || console_failures=$((console_failures + 1))
grep -q '"lcore": 1' "$dir/workers.json" || console_failures=$((console_failures + 1))
"$rampartctl" -s "$dir/console.sock" metrics >"$dir/metrics.txt" || console_failures=$((console_failures + 1))
grep -q '^rampart_drop_unknown_spi_total 1$' "$dir/metrics.txt" || console_failures=$((console_failures + 1))
grep -q '^rampart_sa_packets_total{spi="0x00001001",name="to-peer",direction="outbound"} 4$' "$dir/metrics.txt" || console_failures=$((console_failures + 1))
# The same over HTTP, as Prometheus scrapes it; anything but GET /metrics is refused.
/usr/bin/python3 - "$metrics_port" "$dir/metrics.txt" <<'PY' || console_failures=$((console_failures + 1))
import sys, urllib.request, urllib.error
url = f"http://127.0.0.1:{sys.argv[1]}"
with urllib.request.urlopen(url + "/metrics", timeout=5) as r:
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
    body = r.read().decode()
assert 'rampart_sa_packets_total{spi="0x00001001",name="to-peer",direction="outbound"} 4' in body
try:
    urllib.request.urlopen(url + "/other", timeout=5)
    raise SystemExit("a path other than /metrics was answered")
except urllib.error.HTTPError as e:
    assert e.code == 404
PY
# DPDK's telemetry socket, as dpdk-telemetry.py speaks to it: our two endpoints answer.
/usr/bin/python3 - "/var/run/dpdk/rampartd_$pid/dpdk_telemetry.v2" <<'PY' || console_failures=$((console_failures + 1))
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
json.loads(s.recv(16384))
s.send(b"/rampart/counters")
assert json.loads(s.recv(65536))["/rampart/counters"]["drop_unknown_spi"] == 1
s.send(b"/rampart/sa/list")
page = json.loads(s.recv(65536))["/rampart/sa/list"]
assert page == {"total": 2, "start": 0, "sas": ["from-peer", "to-peer"]}, page
for key in (b"to-peer", b"0x1001"):
    s.send(b"/rampart/sa/info," + key)
    info = json.loads(s.recv(65536))["/rampart/sa/info"]
    assert info["packets"] == 4 and info["spi"] == "0x00001001" and info["direction"] == "outbound", info
s.send(b"/rampart/sa/info,no-such-sa")
assert json.loads(s.recv(65536))["/rampart/sa/info"] is None
PY
"$rampartctl" -s "$dir/console.sock" counters clear >/dev/null || console_failures=$((console_failures + 1))
"$rampartctl" -s "$dir/console.sock" show drops --json | grep -qx '{}' || console_failures=$((console_failures + 1))
"$rampartctl" -s "$dir/console.sock" show nonsense 2>/dev/null; [[ $? -eq 1 ]] || console_failures=$((console_failures + 1))
"$rampartctl" -s "$dir/no-such.sock" show sa 2>/dev/null; [[ $? -eq 2 ]] || console_failures=$((console_failures + 1))
/usr/bin/python3 - "$dir/console.sock" <<'PY'
import os, socket, sys
junk = socket.socket(socket.AF_UNIX); junk.connect(sys.argv[1]); junk.sendall(os.urandom(3000)); junk.close()
quiet = socket.socket(socket.AF_UNIX); quiet.connect(sys.argv[1]); quiet.close()
PY
"$rampartctl" -s "$dir/console.sock" show counters >/dev/null || console_failures=$((console_failures + 1))
if ((console_failures)); then
  echo "FAIL: console: $console_failures check(s)"
  cat "$dir"/*.txt
  kill -TERM $pid
  exit 1
fi
kill -TERM $pid
wait $pid
status=$?
if [[ $status -ne 0 ]]; then
  echo "FAIL: rampartd exited $status"
  cat "$dir/gw1.log"
  exit 1
fi
/usr/bin/python3 "$source_dir/tests/integration/pcap_golden.py" check "$dir" "$source_dir/tests/integration/golden" ${3:-} ||
  { cat "$dir/gw1.log"; exit 1; }
grep -q "drop_unknown_spi *1 " "$dir/gw1.log" && grep -q "drop_cleartext *1 " "$dir/gw1.log" &&
  grep -q "drop_no_policy *1 " "$dir/gw1.log" || { echo "FAIL: drop counters"; cat "$dir/gw1.log"; exit 1; }
