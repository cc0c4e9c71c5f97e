#!/usr/bin/env bash
# DPDK's telemetry thread and the metrics listener never read what the control core frees: a
# rampartd with 10,000 SAs is polled for SECONDS (30) through dpdk-telemetry.py (every page of
# /rampart/sa/list, /rampart/sa/info, /rampart/counters) and /metrics over HTTP, while SAs are
# added and removed beside it through the console. Every answer must be whole, the daemon must
# not crash, and its memory must stay flat (each request once leaked the container DPDK
# refused). Runs under ASan in the sanitizer build. Usage: telemetry_churn_test.sh RAMPARTD SOURCE_DIR
set -uo pipefail
rampartd=$1
source_dir=$2
rampartctl=$(dirname "$rampartd")/rampartctl
seconds=${TELEMETRY_SECONDS:-30}
static=10000
dir=$(mktemp -d /tmp/rampart-telemetry.XXXXXX)
daemon=
poller=
cleanup() {
  [[ -n $poller ]] && kill "$poller" 2>/dev/null
  [[ -n $daemon ]] && kill -TERM "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
# ASan keeps freed memory in quarantine (256 MB by default), which would read as growth.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16

# A port the kernel says is free now (one of a fixed range could be an ephemeral port in use).
metrics_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed -e "s|net_af_packet0,iface=g1in|net_null0|" -e "s|net_af_packet1,iface=g1out|net_null1|" \
    -e "s|workers = \[1\];|workers = [1]; max_sas = 12000;|" \
    "$source_dir/config/examples/site-to-site-gateway1.conf" >"$dir/gw.conf"
echo "console = { socket = \"$dir/console.sock\"; metrics = \"127.0.0.1:$metrics_port\"; };" >>"$dir/gw.conf"
/usr/bin/python3 - "$static" >>"$dir/gw.conf" <<'PY'
import sys
n = int(sys.argv[1])
print("sas = (")
print(",\n".join(
    f'  {{ name = "sa-{i:05d}"; spi = {0x100000 + i}; direction = "outbound"; cipher = "aes-gcm-128"; '
    f'key = "{i:032x}01020304"; local = "198.51.100.1"; remote = "198.51.100.2"; }}' for i in range(n)))
print(");")
PY
# The example's own SAs stay too (its policies name them): drop the second sas list's opening by
# merging both into the first.
/usr/bin/python3 - "$dir/gw.conf" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
lists = [m for m in re.finditer(r"^sas = \(\n(.*?)^\);\n", text, re.S | re.M)]
assert len(lists) == 2, len(lists)
merged = "sas = (\n" + lists[0].group(1).rstrip().rstrip(",") + ",\n" + lists[1].group(1) + ");\n"
text = text[:lists[1].start()] + text[lists[1].end():]
text = text[:lists[0].start()] + merged + text[lists[0].end():]
open(sys.argv[1], "w").write(text)
PY
"$rampartd" -c "$dir/gw.conf" --check >/dev/null || { fail "the generated config: $("$rampartd" -c "$dir/gw.conf" --check 2>&1 | head -3)"; exit 1; }
"$rampartd" -c "$dir/gw.conf" >"$dir/gw.log" 2>&1 &
daemon=$!
ctl() { "$rampartctl" -s "$dir/console.sock" "$@"; }
for _ in $(seq 600); do
  ctl show counters >/dev/null 2>&1 && break
  kill -0 "$daemon" 2>/dev/null || break
  sleep 0.1
done
ctl show counters >/dev/null 2>&1 || { fail "rampartd did not come up: $(tail -5 "$dir/gw.log")"; exit 1; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$daemon/status"; }

/usr/bin/python3 "$source_dir/tests/integration/telemetry_poll.py" "rampartd_$daemon" "$metrics_port" "$static" "$seconds" \
  >"$dir/poll.out" 2>&1 &
poller=$!
# Churn beside the poller: SAs added and removed (their names sort after the static ones).
adds=0
rss_start=
start=$SECONDS
while kill -0 "$poller" 2>/dev/null; do
  ((SECONDS - start >= 3)) && [[ -z $rss_start ]] && rss_start=$(rss_kb)
  for k in 1 2 3; do
    spi=$((0x200000 + adds % 64 * 4 + k))
    ctl sa add "name = \"zz-churn-$k\"; spi = $spi; direction = \"outbound\"; cipher = \"aes-gcm-128\"; key = \"$(printf '%032x' $((adds + 7)))0a0b0c0d\"; local = \"198.51.100.1\"; remote = \"198.51.100.2\";" >/dev/null ||
      { fail "sa add $adds: $(ctl show counters 2>&1 | head -1)"; break 2; }
  done
  for k in 1 2 3; do ctl sa del "zz-churn-$k" >/dev/null || { fail "sa del $adds"; break 2; }; done
  adds=$((adds + 1))
done
wait "$poller"
status=$?
poller=
[[ $status -eq 0 ]] || fail "the poller: $(tail -3 "$dir/poll.out")"
kill -0 "$daemon" 2>/dev/null || fail "rampartd died: $(tail -20 "$dir/gw.log")"
rss_end=$(rss_kb)
echo "telemetry_churn: $(cat "$dir/poll.out"), $adds rounds of 3 SAs added and removed, RSS ${rss_start:-?} -> $rss_end kB"
# Each edit rebuilds the whole config (10,000 SAs): a few a second, one under ASan on a busy machine.
[[ $adds -ge 1 ]] || fail "no round of SA changes ran"
if [[ -n $rss_start && -n $rss_end ]] && ((rss_end - rss_start > 65536)); then
  fail "memory grew by $(((rss_end - rss_start) / 1024)) MB while polling"
fi
kill -TERM "$daemon"
wait "$daemon"
status=$?
daemon=
[[ $status -eq 0 ]] || fail "rampartd exited $status: $(tail -5 "$dir/gw.log")"
grep -q "Sanitizer" "$dir/gw.log" && fail "sanitizer report: $(grep -A20 Sanitizer "$dir/gw.log" | head -40)"
if ((failures)); then
  echo "telemetry_churn_test: $failures failure(s)"
  exit 1
fi
echo "telemetry_churn_test: all checks passed"
