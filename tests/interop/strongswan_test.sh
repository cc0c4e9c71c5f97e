#!/usr/bin/env bash
# rampartd against strongSwan (Debian's charon, userspace ESP through kernel-libipsec), on the
# test topology: host A - rampartd (gateway 1) - internet - strongSwan (gateway 2) - host B.
# strongSwan always claims to be behind a NAT, so every case runs IKE on 4500 and ESP in UDP.
#   1. rampartd initiates, AES-GCM-128 with ecp256: both sides agree on the SPIs (show ike and
#      swanctl --list-sas), pings and TCP both ways, and tshark decrypts the captured IKE and ESP
#      with the keys rampartd shows.
#   2. strongSwan initiates, AES-GCM-256 with x25519.
#   3. rampartd initiates, AES-GCM-128 with modp2048 and PFS on CHILD_SA rekeys; the operator
#      rekeys the CHILD_SA and the IKE SA through rampartctl, then terminates.
#   4. Both sides rekey by timer (CHILD_SAs every few seconds, IKE SAs too) under a ping every
#      50 ms: not one lost.
#   5. DPD: strongSwan is killed; rampartd finds the peer dead, removes the CHILD_SA, and brings
#      the tunnel back by itself when strongSwan returns.
#   6. Certificates (config/examples/certs): rampartd's ECDSA certificate against strongSwan's RSA
#      one, one CA, RFC 7427 signatures; each side initiates once.
#   7. Hostile IKE (ike_junk.py): garbage of every kind, IKE_SA_INIT from 100 strangers and a
#      flood of well-formed ones forged from strongSwan's address; each is dropped or answered
#      (cookies once an IKE SA is half open) and counted, and strongSwan still gets its tunnel,
#      through a cookie.
#   8. IKE and ESP (in UDP) over IPv6 between the gateways, IPv4 inside; each side initiates once.
#   9. IPv6 inside (2001:db8:1::/64 <-> 2001:db8:2::/64, TS_IPV6_ADDR_RANGE) over IPv4.
#  10. start_action = "trap": no IKE SA until host A's traffic meets the policy; then rampartd
#      initiates and the pings get through.
#  11. A strict peer: strongSwan accepts only SHA-384 AUTH signatures from gw1 (ike:pubkey-sha384). gw1's P-256 key (which
#      signs with SHA-256) is refused; its P-384 key signs with SHA-384 and gets the tunnel.
#  12. A CHILD_SA deleted under a standing IKE SA comes back: strongSwan terminates it and creates
#      it again (CREATE_CHILD_SA without REKEY_SA); and when rampartd keeps the tunnel up
#      (initiate), rampartd creates it again by itself.
# Needs root. Usage: [STRONGSWAN_CASES="N..."] strongswan_test.sh RAMPARTD
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rampartd=$1
rampartctl=$(dirname "$rampartd")/rampartctl

source "$here/../../scripts/lib/topology.sh"
source "$here/../support/ns_test.sh"
source "$here/strongswan.sh"
[[ -x $SWAN_CHARON ]] || { echo "FAIL: strongSwan is not installed (scripts/setup installs it)"; exit 1; }
rp_test_begin
ns_test_on_exit swan_stop
swan_network
export RP_GATEWAYS=gw1 RP_CONFIG_EXAMPLE=ike-gateway
ctl() { "$rampartctl" -s "$RP_DIR/gw1.sock" "$@"; }

# start_case IKE ESP RAMPART_INITIATES "RAMPART SETTINGS" [swan_configure KEY=VALUE...]
start_case() {
  local ike=$1 esp=$2 initiate=$3 extra=$4
  shift 4
  swan_configure ike="$ike" esp="$esp" "$@"
  swan_start || { fail "charon did not start"; return 1; }
  RP_CONFIG_FILTER="s|ike = \"[^\"]*\"; esp = \"[^\"]*\";|ike = \"$ike\"; esp = \"$esp\"; $extra|; s|initiate = true;|initiate = $initiate;|; ${CASE_FILTER:-}" \
    gateways_start "$rampartd" || { fail "rampartd did not start"; return 1; }
}

stop_case() {  # case name
  swan_stop
  gateways_stop
  grep -q "rampartd: stopped" "$RP_DIR/gw1.log" || fail "$1: rampartd did not stop cleanly"
  grep -q "not returned to the pool" "$RP_DIR/gw1.log" && fail "$1: rampartd leaked mbufs"
  grep -q "Sanitizer" "$RP_DIR/gw1.log" && fail "$1: sanitizer report"
  cp "$RP_DIR/gw1.log" "$RP_DIR/gw1-$1.log"
  cp "$SWAN_DIR/charon.log" "$RP_DIR/charon-$1.log" 2>/dev/null
}

# "IN OUT" CHILD_SA SPIs in hex as rampartd has them, when established.
rampart_child_spis() {
  ctl show ike --json | /usr/bin/python3 -c '
import json, sys
s = json.load(sys.stdin)[0]
if s["state"] == "established" and s["inbound_spi"]:
    print("%08x %08x" % (s["inbound_spi"], s["outbound_spi"]))'
}

# Both sides established on the same CHILD_SA (each one's inbound is the other's outbound).
agreed() {
  local r s rin rout sin sout
  r=$(rampart_child_spis)
  s=$(swan_child_spis)
  [[ -n $r && -n $s ]] || return 1
  read -r rin rout <<<"$r"
  read -r sin sout <<<"$s"
  [[ $rin == "$sout" && $rout == "$sin" ]]
}
wait_agreed() {  # seconds
  for _ in $(seq $(($1 * 10))); do
    agreed && return 0
    sleep 0.1
  done
  return 1
}

traffic() {  # case name
  rp_ns "$RP_NS_A" ping -c 3 -i 0.2 -W 2 -q 203.0.113.10 >/dev/null || fail "$1: ping A -> B"
  rp_ns "$RP_NS_B" ping -c 3 -i 0.2 -W 2 -q 192.0.2.10 >/dev/null || fail "$1: ping B -> A"
  local why
  why=$(rp_transfer "$RP_NS_A" "$RP_NS_B" 203.0.113.10) || fail "$1: $why"
  why=$(rp_transfer "$RP_NS_B" "$RP_NS_A" 192.0.2.10) || fail "$1: $why"
}

case1() {
  ip netns exec "$RP_NS_G2" tcpdump -i g2out -n -U -w "$RP_DIR/case1.pcap" udp 2>"$RP_DIR/tcpdump.err" &
  capture=$!
  sleep 0.5
  if start_case aes128gcm16-prfsha256-ecp256 aes128gcm16 true ""; then
    wait_agreed 15 || fail "case 1: no agreed CHILD_SA: $(ctl show ike; swan_ctl --list-sas)"
    traffic "case 1"
    ctl show ike --json --show-keys >"$RP_DIR/ike.json"
    swan_ctl --list-sas --raw >"$RP_DIR/swan-sas.txt"
    /usr/bin/python3 - "$RP_DIR/ike.json" "$RP_DIR/swan-sas.txt" <<'PY' || fail "case 1: swanctl and rampartctl disagree: $(cat "$RP_DIR/ike.json" "$RP_DIR/swan-sas.txt")"
import json, sys
ours = json.load(open(sys.argv[1]))[0]
theirs = open(sys.argv[2]).read()
spi_i, spi_r = ours["initiator_spi"].split(":")
assert f"initiator-spi={spi_i}" in theirs and f"responder-spi={spi_r}" in theirs, "IKE SPIs"
assert "encr-alg=AES_GCM_16 encr-keysize=128 prf-alg=PRF_HMAC_SHA2_256 dh-group=ECP_256" in theirs, "IKE suite"
assert f"spi-in={ours['outbound_spi']:08x} spi-out={ours['inbound_spi']:08x}" in theirs, "CHILD_SA SPIs"
assert "nat-remote=yes" in theirs or "nat-fake=yes" in theirs or "nat-any=yes" in theirs, "NAT-T"
assert ours["udp_encapsulation"] and ours["peer"] == "198.51.100.2:4500"
PY
    # The keys as rampartd shows them, for tshark: the IKE SA's, and each ESP SA's.
    ctl show sa --json --show-keys >"$RP_DIR/sa.json"
    mkdir -p "$RP_DIR/wireshark"
    /usr/bin/python3 - "$RP_DIR/ike.json" "$RP_DIR/sa.json" "$RP_DIR/wireshark" <<'PY'
import json, sys
ike = json.load(open(sys.argv[1]))[0]
sas = json.load(open(sys.argv[2]))
out = sys.argv[3]
spi_i, spi_r = ike["initiator_spi"].split(":")
with open(out + "/ikev2_decryption_table", "w") as f:
    f.write(f'{spi_i},{spi_r},{ike["sk_ei"]},{ike["sk_er"]},"AES-GCM-128 with 16 octet ICV [RFC5282]",,,"NONE [RFC4306]"\n')
with open(out + "/esp_sa", "w") as f:
    for sa in sas:
        f.write(f'"IPv4","*","*","0x{sa["spi"]:08x}","AES-GCM with 16 octet ICV [RFC4106]","0x{sa["key"]}","NULL",""\n')
PY
  fi
  stop_case case1
  kill "$capture"
  wait "$capture" 2>/dev/null
  decoded=$(WIRESHARK_CONFIG_DIR="$RP_DIR/wireshark" tshark -r "$RP_DIR/case1.pcap" -o esp.enable_encryption_decode:TRUE \
    -T fields -e isakmp.exchangetype -e isakmp.id.data.fqdn -e icmp.type 2>/dev/null)
  echo "$decoded" >"$RP_DIR/tshark.txt"
  grep -q "gw1.example.net" <<<"$decoded" || fail "case 1: tshark did not decrypt IKE_AUTH with rampartd's keys (IDi not found)"
  [[ $(grep -cE '(^|\s)(0|8)$' <<<"$decoded") -ge 12 ]] || fail "case 1: tshark did not decrypt the ESP pings: $(head -20 <<<"$decoded")"
}

case2() {
  if start_case aes256gcm16-prfsha384-x25519 aes256gcm16 false "" initiate=yes; then
    wait_agreed 15 || fail "case 2: no agreed CHILD_SA: $(ctl show ike; swan_ctl --list-sas)"
    traffic "case 2"
    ctl show ike | grep -q responder || fail "case 2: rampartd is not the responder: $(ctl show ike)"
  fi
  stop_case case2
}

case3() {
  if start_case aes128gcm16-prfsha256-modp2048 aes128gcm16-modp2048 true ""; then
    wait_agreed 15 || fail "case 3: no agreed CHILD_SA: $(ctl show ike; swan_ctl --list-sas)"
    first=$(rampart_child_spis)
    ike_first=$(ctl show ike --json | grep -o '"initiator_spi": "[^"]*"')
    ctl ike rekey-child site >/dev/null || fail "case 3: rampartctl ike rekey-child"
    for _ in $(seq 50); do [[ $(rampart_child_spis) != "$first" ]] && agreed && break; sleep 0.1; done
    [[ $(rampart_child_spis) != "$first" ]] && agreed || fail "case 3: the CHILD_SA rekey (PFS, modp2048) did not complete: $(swan_ctl --list-sas)"
    ctl ike rekey-ike site >/dev/null || fail "case 3: rampartctl ike rekey-ike"
    sleep 2
    [[ $(ctl show ike --json | grep -o '"initiator_spi": "[^"]*"') != "$ike_first" ]] || fail "case 3: the IKE SA kept its SPIs"
    swan_ctl --list-sas --raw | grep -q "$(ctl show ike --json | grep -o '"initiator_spi": "[^:]*' | cut -d'"' -f4)" ||
      fail "case 3: strongSwan does not know the rekeyed IKE SA: $(swan_ctl --list-sas)"
    traffic "case 3"
    ctl ike terminate site >/dev/null || fail "case 3: rampartctl ike terminate"
    sleep 1
    [[ -z $(swan_child_spis) ]] || fail "case 3: strongSwan still has the CHILD_SA after terminate"
    ctl show sa --json | grep -q '"name": "site-' && fail "case 3: rampartd still has the CHILD_SA after terminate"
  fi
  stop_case case3
}

case4() {
  if start_case aes128gcm16-prfsha256-x25519 aes128gcm16 false "child_rekey = 5; ike_rekey = 9;" \
    initiate=yes child_rekey=4 ike_rekey=7; then
    wait_agreed 15 || fail "case 4: no agreed CHILD_SA: $(ctl show ike; swan_ctl --list-sas)"
    lost=$(rp_ns "$RP_NS_A" ping -c 400 -i 0.05 -W 1 -q 203.0.113.10 | grep -o '[0-9]* received')
    [[ $lost == "400 received" ]] || fail "case 4: pings lost across rekeys: $lost of 400"
    rekeys=$(ctl show ike --json | /usr/bin/python3 -c 'import json,sys; s=json.load(sys.stdin)[0]; print(s["child_rekeys"], s["ike_rekeys"])')
    read -r child_rekeys ike_rekeys <<<"$rekeys"
    ((child_rekeys >= 3 && ike_rekeys >= 1)) || fail "case 4: too few rekeys in 20 s: CHILD_SA $child_rekeys, IKE SA $ike_rekeys"
    # Both still rekey every few seconds: one side may be a rekey ahead at any instant, so agree
    # within a bound, not at once.
    wait_agreed 10 || fail "case 4: the sides disagree after the rekeys: $(ctl show ike; swan_ctl --list-sas)"
    echo "case 4: 400/400 pings over $child_rekeys CHILD_SA and $ike_rekeys IKE SA rekeys"
  fi
  stop_case case4
}

case5() {
  if start_case aes128gcm16-prfsha256-ecp256 aes128gcm16 true "dpd = 2; retransmit_tries = 3;"; then
    wait_agreed 15 || fail "case 5: no agreed CHILD_SA: $(ctl show ike; swan_ctl --list-sas)"
    kill -KILL "$SWAN_PID"
    wait "$SWAN_PID" 2>/dev/null
    SWAN_PID=
    dead=0
    for _ in $(seq 150); do
      if ! ctl show sa --json | grep -q '"name": "site-'; then dead=1; break; fi
      sleep 0.1
    done
    ((dead)) || fail "case 5: rampartd kept the CHILD_SA of a dead peer: $(ctl show ike)"
    grep -q "dead peer" "$RP_DIR/gw1.log" || fail "case 5: rampartd did not log the dead peer"
    swan_start || fail "case 5: charon did not start again"
    wait_agreed 20 || fail "case 5: the tunnel did not come back: $(ctl show ike; swan_ctl --list-sas)"
    rp_ns "$RP_NS_A" ping -c 3 -i 0.2 -W 2 -q 203.0.113.10 >/dev/null || fail "case 5: ping after the restart"
  fi
  stop_case case5
}

case6() {
  local certs
  certs=$(cd "$here/../../config/examples/certs" && pwd)
  local pubkey="auth = \"pubkey\"; ca = \"$certs/ca.pem\"; cert = \"$certs/gw1.pem\"; key = \"$certs/gw1.key\";"
  for rampart_initiates in true false; do
    local swan_initiates=yes
    [[ $rampart_initiates == true ]] && swan_initiates=no
    if start_case aes128gcm16-prfsha256-ecp256 aes128gcm16 $rampart_initiates "$pubkey" auth=pubkey initiate=$swan_initiates; then
      wait_agreed 15 || fail "case 6 ($rampart_initiates): no agreed CHILD_SA with certificates: $(ctl show ike; swan_ctl --list-sas)"
      swan_ctl --list-sas --raw | grep -q "remote-id=gw1.example.net" || fail "case 6: strongSwan did not see gw1's identity"
      grep -q "authentication of 'gw1.example.net' with RSA\|authentication of 'gw1.example.net' with ECDSA" "$SWAN_DIR/charon.log" ||
        fail "case 6: strongSwan's log does not show gw1's signature verified"
      rp_ns "$RP_NS_A" ping -c 3 -i 0.2 -W 2 -q 203.0.113.10 >/dev/null || fail "case 6 ($rampart_initiates): ping A -> B"
    fi
    stop_case "case6-$rampart_initiates"
  done
}

case7() {
  if start_case aes128gcm16-prfsha256-ecp256 aes128gcm16 false ""; then
    local sent totals
    sent=$(rp_ns "$RP_NS_G2" /usr/bin/python3 "$here/ike_junk.py" 198.51.100.1 198.51.100.2 2>&1)
    [[ $sent == "sent 156" ]] || fail "case 7: ike_junk.py: $sent"
    sleep 1
    totals=$(ctl show ike | tail -1)
    /usr/bin/python3 - "$totals" <<'PY' || fail "case 7: not every hostile datagram was counted: $totals"
import re, sys
n = [int(x) for x in re.findall(r"(\d+)", sys.argv[1])]
unknown_peer, no_sa, bad_init, cookies = n
assert unknown_peer >= 100, "strangers"
assert no_sa >= 3, "garbage for no IKE SA"
assert bad_init >= 3, "malformed IKE_SA_INIT"
assert cookies >= 49, "cookies for the forged flood"
PY
    kill -0 "${RP_GW_PIDS[0]}" || fail "case 7: rampartd died"
    swan_ctl --initiate --child site --timeout 20 >"$RP_DIR/initiate.out" 2>&1 || fail "case 7: strongSwan could not connect: $(tail -5 "$RP_DIR/initiate.out")"
    wait_agreed 10 || fail "case 7: no agreed CHILD_SA after the flood: $(ctl show ike; swan_ctl --list-sas)"
    grep -qi "cookie" "$SWAN_DIR/charon.log" || fail "case 7: strongSwan was never asked for a cookie"
    rp_ns "$RP_NS_A" ping -c 3 -i 0.2 -W 2 -q 203.0.113.10 >/dev/null || fail "case 7: ping after the flood"
  fi
  stop_case case7
}

case8() {
  local CASE_FILTER='s|local = "198.51.100.1"; remote = "198.51.100.2";|local = "2001:db8:ff::1"; remote = "2001:db8:ff::2";|'
  for rampart_initiates in true false; do
    local swan_initiates=yes
    [[ $rampart_initiates == true ]] && swan_initiates=no
    if start_case aes128gcm16-prfsha256-x25519 aes128gcm16 $rampart_initiates "" initiate=$swan_initiates \
      local=2001:db8:ff::2 remote=2001:db8:ff::1; then
      wait_agreed 15 || fail "case 8 ($rampart_initiates): no agreed CHILD_SA over IPv6: $(ctl show ike; swan_ctl --list-sas)"
      ctl show ike | grep -q '\[2001:db8:ff::2\]:4500' || fail "case 8: show ike does not show the IPv6 peer: $(ctl show ike)"
      local why
      rp_ns "$RP_NS_A" ping -c 3 -i 0.2 -W 2 -q 203.0.113.10 >/dev/null || fail "case 8 ($rampart_initiates): ping A -> B"
      why=$(rp_transfer "$RP_NS_B" "$RP_NS_A" 192.0.2.10) || fail "case 8 ($rampart_initiates): $why"
    fi
    stop_case "case8-$rampart_initiates"
  done
}

case9() {
  local CASE_FILTER='s|local_ts = "192.0.2.0/24"; remote_ts = "203.0.113.0/24";|local_ts = "2001:db8:1::/64"; remote_ts = "2001:db8:2::/64";|'
  if start_case aes128gcm16-prfsha256-ecp256 aes128gcm16 true "" local_ts=2001:db8:2::/64 remote_ts=2001:db8:1::/64; then
    wait_agreed 15 || fail "case 9: no agreed CHILD_SA for IPv6 selectors: $(ctl show ike; swan_ctl --list-sas)"
    rp_ns "$RP_NS_A" ping -6 -c 3 -i 0.2 -W 2 -q 2001:db8:2::10 >/dev/null || fail "case 9: ping6 A -> B"
    rp_ns "$RP_NS_B" ping -6 -c 3 -i 0.2 -W 2 -q 2001:db8:1::10 >/dev/null || fail "case 9: ping6 B -> A"
    local why
    why=$(rp_transfer "$RP_NS_A" "$RP_NS_B" 2001:db8:2::10) || fail "case 9: $why"
    ctl show policy | grep -q "2001:db8:1::/64" || fail "case 9: no IPv6 policy: $(ctl show policy)"
  fi
  stop_case case9
}

case10() {
  local CASE_FILTER='s|initiate = false;|start_action = "trap";|'
  if start_case aes128gcm16-prfsha256-ecp256 aes128gcm16 false ""; then
    sleep 1
    ctl show ike | grep -q "idle" || fail "case 10: the trap connection did not wait: $(ctl show ike)"
    ctl show policy | grep -q "site-out" || fail "case 10: no trap policy: $(ctl show policy)"
    local received
    received=$(rp_ns "$RP_NS_A" ping -c 10 -i 0.3 -W 1 -q 203.0.113.10 | grep -o '[0-9]* received')
    ((${received% received} >= 5)) || fail "case 10: the trap did not bring the tunnel up in time: $received of 10"
    agreed || fail "case 10: no agreed CHILD_SA after the trap: $(ctl show ike; swan_ctl --list-sas)"
    grep -q "(trap)" "$RP_DIR/gw1.log" || fail "case 10: rampartd did not log the trap"
  fi
  stop_case case10
}

case11() {
  local certs
  certs=$(cd "$here/../../config/examples/certs" && pwd)
  local key
  for key in gw1 gw1-p384; do
    local pubkey="auth = \"pubkey\"; ca = \"$certs/ca.pem\"; cert = \"$certs/$key.pem\"; key = \"$certs/$key.key\";"
    if start_case aes256gcm16-prfsha384-ecp384 aes256gcm16 true "$pubkey" auth=pubkey remote_scheme=ike:pubkey-sha384; then
      if [[ $key == gw1 ]]; then
        sleep 3
        agreed && fail "case 11: strongSwan took a SHA-256 signature it was told to refuse"
        grep -q "not acceptable\|non-matching authentication" "$SWAN_DIR/charon.log" ||
          fail "case 11: strongSwan's log does not show the refusal: $(tail -5 "$SWAN_DIR/charon.log")"
        ctl show ike | grep -q "established" && fail "case 11: rampartd calls a refused IKE SA established: $(ctl show ike)"
      else
        wait_agreed 15 || fail "case 11: no agreed CHILD_SA with the P-384 key: $(ctl show ike; swan_ctl --list-sas)"
        grep -q "authentication of 'gw1.example.net' with ECDSA-384 signature scheme with SHA-384\|authentication of 'gw1.example.net' with ECDSA_WITH_SHA384" "$SWAN_DIR/charon.log" ||
          fail "case 11: strongSwan's log does not show a SHA-384 signature: $(grep "authentication of 'gw1" "$SWAN_DIR/charon.log")"
        rp_ns "$RP_NS_A" ping -c 3 -i 0.2 -W 2 -q 203.0.113.10 >/dev/null || fail "case 11: ping A -> B"
      fi
    fi
    stop_case "case11-$key"
  done
}

case12() {
  for rampart_initiates in false true; do
    if start_case aes128gcm16-prfsha256-ecp256 aes128gcm16 $rampart_initiates "" initiate=$([[ $rampart_initiates == true ]] && echo no || echo yes); then
      wait_agreed 15 || fail "case 12 ($rampart_initiates): no CHILD_SA: $(ctl show ike; swan_ctl --list-sas)"
      local before
      before=$(rampart_child_spis)
      swan_ctl --terminate --child site --timeout 10 >/dev/null 2>&1 || fail "case 12: swanctl --terminate --child failed"
      if [[ $rampart_initiates == false ]]; then
        swan_ctl --initiate --child site --timeout 15 >"$RP_DIR/initiate.out" 2>&1 ||
          fail "case 12: strongSwan could not create the CHILD_SA again: $(tail -5 "$RP_DIR/initiate.out")"
      fi
      wait_agreed 20 || fail "case 12 ($rampart_initiates): the CHILD_SA did not come back: $(ctl show ike; swan_ctl --list-sas)"
      [[ $(rampart_child_spis) != "$before" ]] || fail "case 12 ($rampart_initiates): still the old CHILD_SA"
      [[ $(swan_ctl --list-sas --raw | grep -o "rampart {" | wc -l) == 1 ]] || fail "case 12: not the same single IKE SA"
      rp_ns "$RP_NS_A" ping -c 3 -i 0.2 -W 2 -q 203.0.113.10 >/dev/null || fail "case 12 ($rampart_initiates): ping A -> B"
    fi
    stop_case "case12-$rampart_initiates"
  done
}

# STRONGSWAN_CASES="1 4" runs only those.
for n in ${STRONGSWAN_CASES:-1 2 3 4 5 6 7 8 9 10 11 12}; do "case$n"; done

if ((failures)); then
  for f in "$RP_DIR"/gw1-*.log "$RP_DIR"/charon-*.log; do echo "== $f"; tail -40 "$f"; done
  echo "strongswan_test: $failures failure(s)"
  exit 1
fi
echo "strongswan_test: all checks passed"
