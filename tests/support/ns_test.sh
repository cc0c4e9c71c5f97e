# The preamble every test that makes network namespaces shares. Source it, then call
# ns_test_begin (or, on the two-gateway topology of scripts/lib/topology.sh, rp_test_begin).
#
# ns_test_begin: refuses to run without root; defines fail (says why, counts in failures);
# on any way out, a timeout's signal included, stops every process in the caller's pids array
# by PID, then runs the steps registered with ns_test_on_exit, newest first (ns_test_netns
# registers the deletion of the namespace it makes, by name). Nothing is killed or removed by
# pattern.

ns_test_begin() {
  if [[ $(id -u) -ne 0 ]]; then echo "FAIL: needs root for network namespaces"; exit 1; fi
  failures=0
  pids=()
  ns_test_exit_steps=()
  trap ns_test_end EXIT
  trap 'exit 1' INT TERM
}
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ns_test_on_exit() { ns_test_exit_steps+=("$*"); }
ns_test_end() {
  local pid i
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  for ((i = ${#ns_test_exit_steps[@]} - 1; i >= 0; i--)); do eval "${ns_test_exit_steps[i]}"; done
}
# Makes a namespace that goes when the test ends.
ns_test_netns() {  # name
  ip netns add "$1" || return 1
  ns_test_on_exit "ip netns del $1 2>/dev/null"
}

# The two-gateway topology (scripts/lib/topology.sh, sourced before this): ns_test_begin, the
# topology up now and down at the end.
rp_test_begin() {
  ns_test_begin
  ns_test_on_exit topology_down
  topology_up
}
# After gateways_stop: each gateway stopped cleanly with every mbuf back and no sanitizer
# report (through fail), then the verdict; exits 1 on any failure.
rp_test_verdict() {  # test name
  for gw in ${RP_GATEWAYS:-gw1 gw2}; do
    grep -q "not returned to the pool" "$RP_DIR/$gw.log" && fail "$gw leaked mbufs"
    grep -q "rampartd: stopped" "$RP_DIR/$gw.log" || fail "$gw did not stop cleanly"
    grep -q "Sanitizer" "$RP_DIR/$gw.log" && fail "$gw: sanitizer report"
  done
  if ((failures)); then
    cat "$RP_DIR"/gw*.log
    echo "$1: $failures failure(s)"
    exit 1
  fi
  echo "$1: all checks passed"
}
