# The two-gateway topology, shared by scripts/demo and tests/integration/. Source it, then call
# topology_up, gateways_start, ..., topology_down. Needs root (network namespaces).
#
#   host A             gateway 1                     gateway 2             host B
#   192.0.2.10 --- [inside  192.0.2.1 |          |  203.0.113.1 inside] --- 203.0.113.10
#   2001:db8:1::10  (2001:db8:1::1)                      (2001:db8:2::1)     2001:db8:2::10
#                  [outside 198.51.100.1] ----- [198.51.100.2 outside]
#                                 the "internet": only ESP crosses it
#
# Each gateway is a rampartd in its own namespace, on net_af_packet ports bound to its veths.
# Names carry this shell's PID so that parallel runs do not collide; everything is removed by
# name and PID in topology_down, never by pattern.

source "$(dirname "${BASH_SOURCE[0]}")/wait_for.sh"

RP_ID=${RP_ID:-$$}
RP_NS_A=rp-a-$RP_ID
RP_NS_G1=rp-g1-$RP_ID
RP_NS_G2=rp-g2-$RP_ID
RP_NS_B=rp-b-$RP_ID
RP_DIR=${RP_DIR:-$(mktemp -d /tmp/rampart-topology.XXXXXX)}
RP_GW_PIDS=()

rp_ns() { ip netns exec "$@"; }

# Moves a namespace's veth end into host A's namespace with an address there, so that one
# process in host A (a traffic generator) holds both ends of the path under test; the kernel
# answers ARP for the address.
rp_move_to_a() {  # ns dev address/prefix
  rp_ns "$1" ip link set "$2" netns "$RP_NS_A"
  rp_ns "$RP_NS_A" ip link set "$2" up
  rp_ns "$RP_NS_A" ip addr add "$3" dev "$2"
}

# Something in namespace $1 listens on port $2 (TCP, or UDP with a third argument udp).
rp_listening() {  # ns port [tcp|udp]
  local kind=-Hltn
  [[ ${3:-tcp} == udp ]] && kind=-Hlun
  [[ -n $(ip netns exec "$1" ss $kind "sport = :$2") ]]
}

# 1 MB over TCP from one namespace to an address in another; fails, saying what each side saw,
# unless the digests match.
rp_transfer() {  # from_ns to_ns to_address
  local lib
  lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  rp_ns "$2" /usr/bin/python3 "$lib/transfer.py" serve tcp "$3" 5001 10 >"$RP_DIR/serve.out" &
  local server=$!
  wait_for 5 rp_listening "$2" 5001 || { echo "TCP to $3: no server listening"; kill $server; return 1; }
  local sent received
  sent=$(rp_ns "$1" /usr/bin/python3 "$lib/transfer.py" send tcp "$3" 5001 1000000)
  wait $server
  received=$(cat "$RP_DIR/serve.out")
  [[ -n ${sent#sent } && ${sent#sent } == "${received#received }" ]] || { echo "TCP to $3: $sent / $received"; return 1; }
}

# For tests: captures what each gateway receives on the internet segment into $RP_DIR/to_g1.pcap
# and to_g2.pcap (a gateway's own af_packet sends bypass the kernel's taps, so each side's
# capture holds the other's traffic), the tcpdumps in the caller's pids array.
rp_capture_internet() {
  ip netns exec "$RP_NS_G2" tcpdump -i g2out -n -U -w "$RP_DIR/to_g2.pcap" 2>"$RP_DIR/tcpdump_g2.err" &
  pids+=($!)
  ip netns exec "$RP_NS_G1" tcpdump -i g1out -n -U -w "$RP_DIR/to_g1.pcap" 2>"$RP_DIR/tcpdump_g1.err" &
  pids+=($!)
  # Capturing once each has said so.
  wait_for 5 grep -q "listening on" "$RP_DIR/tcpdump_g2.err" && wait_for 5 grep -q "listening on" "$RP_DIR/tcpdump_g1.err"
}
# Stops them (every process in pids), so the captures are complete.
rp_capture_stop() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid"; wait "$pid" 2>/dev/null; done
  pids=()
}

# A veth pair between two namespaces.
rp_link() {  # ns1 dev1 ns2 dev2
  ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
  for side in "$1 $2" "$3 $4"; do
    set -- $side
    rp_ns "$1" ip link set "$2" up
    # The gateways see frames through AF_PACKET: no offloads, so every frame carries finished
    # checksums and is no larger than the MTU.
    rp_ns "$1" ethtool -K "$2" tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
  done
}

topology_up() {
  for ns in "$RP_NS_A" "$RP_NS_G1" "$RP_NS_G2" "$RP_NS_B"; do
    ip netns add "$ns"
    rp_ns "$ns" ip link set lo up
  done
  rp_link "$RP_NS_A" a0 "$RP_NS_G1" g1in
  rp_link "$RP_NS_G1" g1out "$RP_NS_G2" g2out
  rp_link "$RP_NS_G2" g2in "$RP_NS_B" b0
  # The gateways' kernels must keep out of the way: no addresses, no IPv6 chatter.
  for pair in "$RP_NS_G1 g1in" "$RP_NS_G1 g1out" "$RP_NS_G2 g2in" "$RP_NS_G2 g2out"; do
    set -- $pair
    rp_ns "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1"
  done
  # Hosts keep the usual 1500-byte MTU: the gateways answer DF packets too big for the tunnel
  # with ICMP "fragmentation needed", and path MTU discovery (RFC 1191) does the rest.
  rp_ns "$RP_NS_A" ip addr add 192.0.2.10/24 dev a0
  rp_ns "$RP_NS_A" ip route add default via 192.0.2.1
  rp_ns "$RP_NS_A" ip -6 addr add 2001:db8:1::10/64 dev a0 nodad
  rp_ns "$RP_NS_A" ip -6 route add default via 2001:db8:1::1
  rp_ns "$RP_NS_B" ip addr add 203.0.113.10/24 dev b0
  rp_ns "$RP_NS_B" ip route add default via 203.0.113.1
  rp_ns "$RP_NS_B" ip -6 addr add 2001:db8:2::10/64 dev b0 nodad
  rp_ns "$RP_NS_B" ip -6 route add default via 2001:db8:2::1
}

gateways_start() {  # rampartd binary
  local rampartd=$1
  # The configs are the shipped examples: the demo proves them.
  local examples
  examples=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../config/examples" && pwd)
  local example=${RP_CONFIG_EXAMPLE:-site-to-site-gateway}  # ike-gateway: keys from IKEv2
  sed -e "${RP_CONFIG_FILTER:-}" "$examples/${example}1.conf" >"$RP_DIR/gw1.conf"
  sed -e "${RP_CONFIG_FILTER:-}" "$examples/${example}2.conf" >"$RP_DIR/gw2.conf"
  # Each gateway's console socket in this run's directory: rampartctl -s $RP_DIR/gw1.sock ...
  echo "console = { socket = \"$RP_DIR/gw1.sock\"; };" >>"$RP_DIR/gw1.conf"
  echo "console = { socket = \"$RP_DIR/gw2.sock\"; };" >>"$RP_DIR/gw2.conf"
  # Not through rp_ns: a shell function would run in a subshell, and $! would be its PID, not
  # rampartd's (ip netns exec execs the command in its own process). RP_GATEWAYS="gw1" starts
  # only gateway 1 (another peer plays gateway 2).
  local gw ns ready
  for gw in ${RP_GATEWAYS:-gw1 gw2}; do
    ns=$RP_NS_G1
    [[ $gw == gw2 ]] && ns=$RP_NS_G2
    ip netns exec "$ns" "$rampartd" -c "$RP_DIR/$gw.conf" >"$RP_DIR/$gw.log" 2>&1 &
    RP_GW_PIDS+=($!)
  done
  # Ready when each has logged that its workers run (EAL and ports take a moment).
  for _ in $(seq 100); do
    ready=1
    for gw in ${RP_GATEWAYS:-gw1 gw2}; do
      grep -q "worker(s) running" "$RP_DIR/$gw.log" 2>/dev/null || ready=0
    done
    ((ready)) && return 0
    for pid in "${RP_GW_PIDS[@]}"; do
      kill -0 "$pid" 2>/dev/null || { echo "a gateway exited during start-up:"; cat "$RP_DIR"/gw*.log; return 1; }
    done
    sleep 0.1
  done
  echo "gateways did not start in 10 s"; cat "$RP_DIR"/gw*.log
  return 1
}

# Stops the gateways by PID (SIGTERM: they print counters and check their mbufs on the way out).
gateways_stop() {
  local pid
  for pid in "${RP_GW_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${RP_GW_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  RP_GW_PIDS=()
}

topology_down() {
  gateways_stop
  for ns in "$RP_NS_A" "$RP_NS_G1" "$RP_NS_G2" "$RP_NS_B"; do ip netns del "$ns" 2>/dev/null || true; done
  [[ ${RP_KEEP_DIR:-0} == 1 ]] || rm -rf "$RP_DIR"
}
