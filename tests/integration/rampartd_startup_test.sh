#!/usr/bin/env bash
# rampartd refuses to start, with one clear line and a non-zero exit (never a crash), when the
# config is broken (file:line), names what cannot run (proposals, credentials, interfaces,
# duplicates), a port cannot be used, or a worker lcore does not exist; --check refuses the same
# files and accepts the shipped examples; a failure after EAL is up exits cleanly and removes
# EAL's run directory; SIGHUP reloads, SIGPIPE is ignored, SIGTERM stops cleanly.
# The kernel interfaces the examples name exist in a namespace of this test's own.
# Needs root. Usage: rampartd_startup_test.sh RAMPARTD SOURCE_DIR
set -uo pipefail
rampartd=$1
source_dir=$2
rampartctl=$(dirname "$rampartd")/rampartctl
source "$(dirname "$0")/../../scripts/lib/wait_for.sh"
source "$(dirname "$0")/../support/ns_test.sh"
ns_test_begin
dir=$(mktemp -d /tmp/rampart-startup.XXXXXX)
ns_test_on_exit 'rm -rf "$dir"'
ns=rp-startup-$$
ns_test_netns "$ns" || exit 1
# The daemon under test changes from case to case: whichever runs at the end is stopped first.
daemon=
holder=
stop_daemons() {
  [[ -n $holder ]] && kill "$holder" 2>/dev/null
  [[ -n $daemon ]] && kill -TERM "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
}
ns_test_on_exit stop_daemons
n=0
for itf in g1in g1out g2in g2out rp-in rp-out; do  # veth pairs: this kernel has no dummy links
  n=$((n + 1))
  ip -n "$ns" link add "$itf" type veth peer name "peer$n" || exit 1
done
in_ns() { ip netns exec "$ns" "$@"; }

example=$source_dir/config/examples/site-to-site-gateway1.conf
ike_example=$source_dir/config/examples/ike-gateway1.conf
certs=$source_dir/config/examples/certs

# Refused at start-up (status 1, not a signal's 128+) and by --check alike, where --check can see it.
expect_refusal() {  # name config expected-stderr-pattern [start-up-only]
  local out status
  out=$(timeout 30 ip netns exec "$ns" "$rampartd" -c "$2" 2>&1)
  status=$?
  if [[ $status -ne 1 ]] || ! grep -qE "$3" <<<"$out"; then
    fail "$1: exit $status (want 1), output:"
    echo "$out" | tail -5
  fi
  [[ ${4:-} == start-up-only ]] && return
  out=$(timeout 30 ip netns exec "$ns" "$rampartd" -c "$2" --check 2>&1)
  status=$?
  if [[ $status -ne 1 ]] || ! grep -qE "$3" <<<"$out"; then
    fail "$1 (--check): exit $status (want 1), output:"
    echo "$out" | tail -5
  fi
}

for config in "$source_dir"/config/examples/*.conf "$source_dir/config/rampart.conf.example"; do
  in_ns "$rampartd" -c "$config" --check >/dev/null || fail "--check refused $config"
done

printf '%s\n' 'sas = ( { name = "a"; spi = 4096; direction = "outbound"; cipher = "aes-gcm-128";' \
  '  key = "000102030405060708090a0b0c0d0e0f01020304"; local = "198.51.100.1"; remote = "198.51.100.2"; },' \
  '  { name = "b"; spi = 4096; direction = "outbound"; cipher = "aes-gcm-128";' \
  '  key = "000102030405060708090a0b0c0d0e0f01020304"; local = "198.51.100.1"; remote = "198.51.100.2"; } );' \
  >"$dir/overlapping_spis.conf"
expect_refusal "overlapping SPIs" "$dir/overlapping_spis.conf" "overlapping_spis.conf:3: sas\[1\]\.spi: SPI 4096 is used by an earlier SA"

sed 's/sa = "to-peer"; }/sa = "no-such-sa"; }/' "$example" >"$dir/missing_sa.conf"
expect_refusal "a policy naming a missing SA" "$dir/missing_sa.conf" 'missing_sa.conf:[0-9]+: policies\[0\]\.sa: "no-such-sa" names no SA'

sed 's/workers = \[1\]/workers = [4096]/' "$example" >"$dir/bad_range.conf"
expect_refusal "an lcore out of range" "$dir/bad_range.conf" 'bad_range.conf:[0-9]+: dataplane.workers\[0\]: 4096 is not an lcore number'

# The loader's highest lcore: no CI machine of ours has, or lets rampartd run on, CPU 127.
sed "s/workers = \[1\]/workers = [127]/" "$example" >"$dir/missing_lcore.conf"
expect_refusal "a worker lcore this machine lacks" "$dir/missing_lcore.conf" "missing_lcore.conf:[0-9]+: dataplane.workers: lcore 127 is not a CPU rampartd may run on"

sed 's/workers = \[1\]/workers = (1, "2@127")/' "$example" >"$dir/missing_cpu.conf"
expect_refusal "a worker lcore on a CPU this machine lacks" "$dir/missing_cpu.conf" \
  "missing_cpu.conf:[0-9]+: dataplane.workers: lcore 2's CPU 127 is not one rampartd may run on"
# Four workers on two CPUs: accepted (correct, if slow).
sed 's/workers = \[1\]/workers = ["1@1", "2@0", "3@1", "4@0"]/' "$example" >"$dir/four_workers.conf"
in_ns "$rampartd" -c "$dir/four_workers.conf" --check >/dev/null || fail "--check refused four workers on two CPUs"

sed 's/iface=g1in/iface=rp-missing-if/' "$example" >"$dir/bad_port.conf"
expect_refusal "an af_packet interface that does not exist" "$dir/bad_port.conf" \
  'bad_port.conf:[0-9]+: interfaces\[0\].device: there is no network interface "rp-missing-if"'

# A device EAL cannot bring up: seen only at start-up.
sed 's/net_af_packet0,iface=g1in/net_no_such_driver0/' "$example" >"$dir/bad_driver.conf"
expect_refusal "a device no driver takes" "$dir/bad_driver.conf" "Unable to parse device 'net_no_such_driver0'" start-up-only

sed 's/ike = "aes128gcm16-prfsha256-ecp256"/ike = "banana"/' "$ike_example" >"$dir/banana.conf"
expect_refusal "an IKE proposal that is not one" "$dir/banana.conf" 'banana.conf:[0-9]+: connections\[0\]\.ike: '

# Proposals the data plane or IKE cannot run are refused by --check too (not only at start-up).
n=0
for proposal in 'esp = "aes256-sha256"' 'ike = "aes128gcm16-prfsha256-modp1024"' 'esp = "aes128gcm16,aes256gcm16"'; do
  n=$((n + 1))
  setting=${proposal%% =*}
  sed "s/$setting = \"[^\"]*\"/$proposal/" "$ike_example" >"$dir/proposal$n.conf"
  expect_refusal "the proposal $proposal" "$dir/proposal$n.conf" "proposal$n.conf:[0-9]+: connections\[0\]\.$setting: "
done

site=$(sed -n '/^connections = (/,/^);/p' "$ike_example" | sed '1d;$d')
{ sed '/^connections = (/,/^);/d' "$ike_example"; echo "connections = ("; echo "$site,"; echo "$site"; echo ");"; } >"$dir/twice.conf"
expect_refusal "two connections of one name" "$dir/twice.conf" 'twice.conf:[0-9]+: connections\[1\]\.name: "site" is used by an earlier connection'
{ sed '/^connections = (/,/^);/d' "$ike_example"; echo "connections = ("; echo "$site,"; echo "${site/name = \"site\"/name = \"other\"}"; echo ");"; } >"$dir/same_peer.conf"
expect_refusal "two connections for one peer" "$dir/same_peer.conf" 'same_peer.conf:[0-9]+: connections\[1\]\.remote: connections\[0\] \("site"\) has the same local and remote addresses'

pubkey='auth = "pubkey"; ca = "CA"; cert = "'$certs'/gw1.pem"; key = "KEY";'
with_certs() {  # ca key output
  local line=${pubkey/CA/$1}
  sed "s|psk = \"a documentation-only pre-shared key, never for real use\";|${line/KEY/$2}|" "$ike_example" >"$3"
}
with_certs "$certs/ca.pem" "$certs/gw1.key" "$dir/certs_ok.conf"
in_ns "$rampartd" -c "$dir/certs_ok.conf" --check >/dev/null || fail "--check refused good certificates"
with_certs "$dir/no-such-ca.pem" "$certs/gw1.key" "$dir/missing_ca.conf"
expect_refusal "a CA file that does not exist" "$dir/missing_ca.conf" 'missing_ca.conf:[0-9]+: connections\[0\]: .*no-such-ca.pem: cannot open it'
with_certs "$certs/ca.pem" "$certs/gw2.key" "$dir/wrong_key.conf"
expect_refusal "a key that is not the certificate's" "$dir/wrong_key.conf" 'wrong_key.conf:[0-9]+: connections\[0\]: .*gw2.key: not the private key of'

printf 'dataplane = { burst = 32 \n workers = [1,; };\n' >"$dir/syntax.conf"
expect_refusal "a syntax error" "$dir/syntax.conf" "syntax.conf:2: syntax error"

expect_refusal "a missing file" "$dir/none.conf" "none.conf: cannot read the file"

# Failures after EAL is up (the console socket's folder cannot be made; the metrics address is not ours)
# exit 1 with their message, destroy the gateway before EAL, and leave no run directory behind.
after_eal_failure() {  # name console-line pattern
  sed "\$a $2" "$example" >"$dir/after_eal.conf"
  # Under timeout, so that a hang fails here; rampartd is timeout's child (ip netns exec execs it).
  timeout 30 ip netns exec "$ns" "$rampartd" -c "$dir/after_eal.conf" >"$dir/after_eal.log" 2>&1 &
  local guard=$! pid= status
  for _ in $(seq 100); do
    pid=$(pgrep -P "$guard")
    [[ -n $pid ]] && break
    sleep 0.02
  done
  wait "$guard"
  status=$?
  [[ -n $pid ]] || fail "$1: rampartd's PID was not seen"
  [[ $status -eq 1 ]] || fail "$1: exit $status (want 1): $(tail -3 "$dir/after_eal.log")"
  grep -qE "$3" "$dir/after_eal.log" || fail "$1: no message: $(tail -3 "$dir/after_eal.log")"
  [[ -e /var/run/dpdk/rampartd_$pid ]] && fail "$1: /var/run/dpdk/rampartd_$pid was left behind"
}
touch "$dir/a-file"
after_eal_failure "a console socket under a file" "console = { socket = \"$dir/a-file/console.sock\"; };" \
  "rampartd: .*$dir/a-file"
port=$((20000 + $$ % 20000))
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" /usr/bin/python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(60)' "$port" &
holder=$!
listening() { ip netns exec "$ns" ss -ltnH "sport = :$port" | grep -q LISTEN; }
wait_for 10 listening || fail "the port holder did not listen"
after_eal_failure "a metrics port that is taken" "console = { socket = \"$dir/m.sock\"; metrics = \"127.0.0.1:$port\"; };" \
  "rampartd: metrics listener 127.0.0.1:$port"
kill "$holder"
wait "$holder" 2>/dev/null
holder=

# A running daemon: SIGHUP reloads the file (a route added to it appears), SIGPIPE does not kill
# it, SIGTERM stops it cleanly and removes EAL's run directory.
sed -e "s|net_af_packet0,iface=g1in|net_null0|" -e "s|net_af_packet1,iface=g1out|net_null1|" "$example" >"$dir/running.conf"
echo "console = { socket = \"$dir/running.sock\"; };" >>"$dir/running.conf"
"$rampartd" -c "$dir/running.conf" >"$dir/running.log" 2>&1 &
daemon=$!
ctl() { "$rampartctl" -s "$dir/running.sock" "$@"; }
if wait_for 20 ctl show routes >/dev/null 2>&1; then
  sed -i 's|^routes = (|routes = (\n  { destination = "198.18.0.0/15"; via = "198.51.100.2"; interface = "outside"; },|' "$dir/running.conf"
  kill -HUP "$daemon"
  wait_for 10 grep -q "SIGHUP: reloaded" "$dir/running.log" || fail "SIGHUP: no reload logged: $(tail -3 "$dir/running.log")"
  ctl show routes | grep -q "198.18.0.0/15" || fail "SIGHUP: the route added to the file is not there"
  echo "dataplane = { workers = [1]; burst = 16; };" >>"$dir/running.conf"
  kill -HUP "$daemon"
  wait_for 10 grep -q "SIGHUP: reload refused" "$dir/running.log" || fail "SIGHUP: a broken file was not refused"
  kill -PIPE "$daemon"
  # Clients that hang up before the answer: writing it must not kill the daemon either.
  for _ in 1 2 3 4 5; do
    /usr/bin/python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"show counters\n"); s.close()' \
      "$dir/running.sock" 2>/dev/null
  done
  kill -0 "$daemon" 2>/dev/null || fail "SIGHUP/SIGPIPE killed rampartd: $(tail -3 "$dir/running.log")"
  ctl show counters >/dev/null || fail "the console stopped answering after the signals"
else
  fail "the running daemon did not answer: $(tail -5 "$dir/running.log")"
fi
kill -TERM "$daemon"
wait "$daemon"
status=$?
[[ $status -eq 0 ]] || fail "SIGTERM: exit $status: $(tail -3 "$dir/running.log")"
grep -q "rampartd: stopped" "$dir/running.log" || fail "SIGTERM: did not stop cleanly"
[[ -e /var/run/dpdk/rampartd_$daemon ]] && fail "SIGTERM: /var/run/dpdk/rampartd_$daemon was left behind"
daemon=

if ((failures)); then
  echo "rampartd_startup_test: $failures failure(s)"
  exit 1
fi
echo "rampartd_startup_test: all checks passed"
