# The two-gateway topology, shared by scripts/demo and tests/integration/. Source it, then call
# topology_up, gateways_start, ..., topology_down. Needs root (network namespaces).
#
#   host A             gateway 1                     gateway 2             host B
#   192.0.2.10 --- [inside  192.0.2.1 |          |  203.0.113.1 inside] --- 203.0.113.10
#                  [outside 198.51.100.1] ----- [198.51.100.2 outside]
#                                 the "internet": only ESP crosses it
#
# Each gateway is a rampartd in its own namespace, on net_af_packet ports bound to its veths.
# Names carry this shell's PID so that parallel runs do not collide; everything is removed by
# name and PID in topology_down, never by pattern.

RP_ID=${RP_ID:-$$}
RP_NS_A=rp-a-$RP_ID
RP_NS_G1=rp-g1-$RP_ID
RP_NS_G2=rp-g2-$RP_ID
RP_NS_B=rp-b-$RP_ID
RP_DIR=${RP_DIR:-$(mktemp -d /tmp/rampart-topology.XXXXXX)}
RP_GW_PIDS=()

rp_ns() { ip netns exec "$@"; }

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
  # Hosts: an MTU that leaves room for ESP's 56 bytes on the 1500-byte internet segment.
  rp_ns "$RP_NS_A" ip link set a0 mtu 1400
  rp_ns "$RP_NS_A" ip addr add 192.0.2.10/24 dev a0
  rp_ns "$RP_NS_A" ip route add default via 192.0.2.1
  rp_ns "$RP_NS_B" ip link set b0 mtu 1400
  rp_ns "$RP_NS_B" ip addr add 203.0.113.10/24 dev b0
  rp_ns "$RP_NS_B" ip route add default via 203.0.113.1
}

# Writes one gateway's config. Keys are fixed demo keys: manual keying, as ipsec-secgw allows.
rp_gateway_config() {  # file inside_dev inside_addr outside_dev outside_addr peer_addr local_net remote_net out_spi in_spi out_key in_key
  cat >"$1" <<CONF
log_level = "info";
dataplane = { workers = [1]; mbufs = 8191; memory_mb = 256; };
interfaces = (
  { name = "inside";  device = "net_af_packet0,iface=$2"; address = "$3"; role = "protected"; },
  { name = "outside"; device = "net_af_packet1,iface=$4"; address = "$5"; role = "public"; }
);
routes = ( { destination = "$8"; via = "$6"; interface = "outside"; } );
sas = (
  { name = "out"; spi = $9; direction = "outbound"; mode = "tunnel"; cipher = "aes-gcm-128";
    key = "${11}"; local = "${5%/*}"; remote = "$6"; },
  { name = "in"; spi = ${10}; direction = "inbound"; mode = "tunnel"; cipher = "aes-gcm-128";
    key = "${12}"; local = "${5%/*}"; remote = "$6"; }
);
policies = (
  { name = "to-peer"; direction = "outbound"; source = "$7"; destination = "$8"; action = "protect"; sa = "out"; },
  { name = "from-peer"; direction = "inbound"; source = "$8"; destination = "$7"; action = "protect"; sa = "in"; }
);
CONF
}

gateways_start() {  # rampartd binary
  local rampartd=$1
  # The two gateways' SAs mirror each other: gateway 1's outbound SA is gateway 2's inbound.
  # Key material: AES-128 key, then the 4-byte salt (RFC 4106).
  local key_1to2=000102030405060708090a0b0c0d0e0fcafebabe
  local key_2to1=202122232425262728292a2b2c2d2e2fdeadbeef
  rp_gateway_config "$RP_DIR/gw1.conf" g1in 192.0.2.1/24 g1out 198.51.100.1/24 198.51.100.2 \
    192.0.2.0/24 203.0.113.0/24 0x1001 0x2001 $key_1to2 $key_2to1
  rp_gateway_config "$RP_DIR/gw2.conf" g2in 203.0.113.1/24 g2out 198.51.100.2/24 198.51.100.1 \
    203.0.113.0/24 192.0.2.0/24 0x2001 0x1001 $key_2to1 $key_1to2
  # Not through rp_ns: a shell function would run in a subshell, and $! would be its PID, not
  # rampartd's (ip netns exec execs the command in its own process).
  ip netns exec "$RP_NS_G1" "$rampartd" -c "$RP_DIR/gw1.conf" >"$RP_DIR/gw1.log" 2>&1 &
  RP_GW_PIDS+=($!)
  ip netns exec "$RP_NS_G2" "$rampartd" -c "$RP_DIR/gw2.conf" >"$RP_DIR/gw2.log" 2>&1 &
  RP_GW_PIDS+=($!)
  # Ready when both have logged that their workers run (EAL and ports take a moment).
  for _ in $(seq 100); do
    if grep -q "worker(s) running" "$RP_DIR/gw1.log" 2>/dev/null && grep -q "worker(s) running" "$RP_DIR/gw2.log" 2>/dev/null; then
      return 0
    fi
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
