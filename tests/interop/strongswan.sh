# strongSwan as gateway 2 of the test topology (scripts/lib/topology.sh): Debian's charon in the
# gateway-2 namespace, ESP done in userspace by its kernel-libipsec plugin (decrypted traffic
# leaves through the TUN device ipsec0 and is forwarded to host B). Source it after topology.sh;
# swan_configure, swan_start, then swanctl through swan_ctl; swan_stop stops charon by PID.
#
# Facts this relies on (strongSwan 5.9.8 as Debian 12 ships it):
# - kernel-libipsec must come before kernel-netlink in the plugin list: the first kernel IPsec
#   backend to register wins, and the kernel's own ESP is not what is tested.
# - libipsec always encapsulates ESP in UDP 4500: charon claims a NAT, so the peer must do NAT-T.
#   It has no transport mode and no ESN, and its replay window is fixed at 128.
# - charon writes /var/run/charon.pid whatever it is told: each instance runs in its own mount
#   namespace with a directory of its own bind-mounted over /run.
# - charon's file log is buffered unless flush_line is set; the tests read it while it runs.
# - charon installs the route to the remote selectors only when it has an address inside the
#   local ones (203.0.113.1 on the inside interface here).

SWAN_DIR=$RP_DIR/swan
SWAN_PID=
SWAN_CHARON=/usr/lib/ipsec/charon

swan_ctl() { STRONGSWAN_CONF="$SWAN_DIR/strongswan.conf" swanctl "$@" --uri "unix://$SWAN_DIR/charon.vici"; }

# Gateway 2's kernel side: addresses on both veths and forwarding between the inside and ipsec0.
swan_network() {
  rp_ns "$RP_NS_G2" ip addr add 198.51.100.2/24 dev g2out
  rp_ns "$RP_NS_G2" ip addr add 203.0.113.1/24 dev g2in
  rp_ns "$RP_NS_G2" sysctl -qw net.ipv4.ip_forward=1
  # IKE and ESP over IPv6 too (the inner traffic stays IPv4).
  rp_ns "$RP_NS_G2" sysctl -qw net.ipv6.conf.g2out.disable_ipv6=0
  rp_ns "$RP_NS_G2" ip -6 addr add 2001:db8:ff::2/64 dev g2out nodad
  # And IPv6 inside: host B's gateway address, forwarded into the tunnel.
  rp_ns "$RP_NS_G2" sysctl -qw net.ipv6.conf.g2in.disable_ipv6=0
  rp_ns "$RP_NS_G2" sysctl -qw net.ipv6.conf.all.forwarding=1
  rp_ns "$RP_NS_G2" ip -6 addr add 2001:db8:2::1/64 dev g2in nodad
}

# swan_configure KEY=VALUE...: ike, esp (proposals), initiate (yes/no), child_rekey, ike_rekey
# (seconds, 0 for never), dpd (seconds), auth (psk, or pubkey: gw2's RSA certificate from
# config/examples/certs, trusting that folder's CA), remote_scheme (with pubkey: what strongSwan
# requires of gw1's signature, e.g. pubkey-sha384), local and remote (IKE's addresses),
# local_ts and remote_ts (the CHILD_SA's selectors). A CHILD_SA's hard lifetime is twice its rekey time:
# libipsec counts whole seconds, and strongSwan's default (rekey time + 10%) can fall in the
# same second as the rekey, which then never happens.
swan_configure() {
  local ike=aes128gcm16-prfsha256-ecp256 esp=aes128gcm16 initiate=no child_rekey=0 ike_rekey=0 dpd=0 auth=psk kv
  local remote_scheme=pubkey
  local local=198.51.100.2 remote=198.51.100.1 local_ts=203.0.113.0/24 remote_ts=192.0.2.0/24
  for kv in "$@"; do local "$kv"; done
  mkdir -p "$SWAN_DIR/run" "$SWAN_DIR/x509ca" "$SWAN_DIR/x509" "$SWAN_DIR/private"
  rm -f "$SWAN_DIR"/x509ca/* "$SWAN_DIR"/x509/* "$SWAN_DIR"/private/*
  local certs local_auth="auth = psk" remote_auth="auth = psk"
  if [[ $auth == pubkey ]]; then
    certs=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../config/examples/certs" && pwd)
    cp "$certs/ca.pem" "$SWAN_DIR/x509ca/"
    cp "$certs/gw2.pem" "$SWAN_DIR/x509/"
    cp "$certs/gw2.key" "$SWAN_DIR/private/"
    local_auth="auth = pubkey
            certs = gw2.pem"
    remote_auth="auth = $remote_scheme"
  fi
  cat >"$SWAN_DIR/strongswan.conf" <<EOF
charon {
  load_modular = no
  load = random nonce openssl aes sha1 sha2 hmac gcm curve25519 gmp kdf pem pkcs1 pkcs8 x509 pubkey constraints kernel-libipsec kernel-netlink socket-default vici
  port = 500
  port_nat_t = 4500
  install_routes = yes
  install_virtual_ip = no
  retransmit_tries = 3
  retransmit_timeout = 1
  filelog {
    main {
      path = $SWAN_DIR/charon.log
      flush_line = yes
      time_format = %H:%M:%S
      time_add_ms = yes
      default = 1
      ike = 2
      chd = 4
    }
  }
  plugins {
    vici { socket = unix://$SWAN_DIR/charon.vici }
    kernel-libipsec { load = yes }
  }
}
swanctl {
  socket = unix://$SWAN_DIR/charon.vici
  load = random openssl pem pkcs1 pkcs8 x509 pubkey
}
EOF
  local start_action=none
  [[ $initiate == yes ]] && start_action=start
  cat >"$SWAN_DIR/swanctl.conf" <<EOF
connections {
  rampart {
    version = 2
    local_addrs = $local
    remote_addrs = $remote
    proposals = $ike
    mobike = no
    dpd_delay = ${dpd}s
    rekey_time = ${ike_rekey}s
    over_time = $((ike_rekey / 2 + 1))s
    reauth_time = 0
    rand_time = 0
    local { $local_auth
            id = gw2.example.net }
    remote { $remote_auth
             id = gw1.example.net }
    children {
      site {
        mode = tunnel
        local_ts = $local_ts
        remote_ts = $remote_ts
        esp_proposals = $esp
        rekey_time = ${child_rekey}s
        life_time = $((child_rekey * 2))s
        rand_time = 0
        start_action = $start_action
        dpd_action = clear
      }
    }
  }
}
secrets {
  ike-rampart {
    id-1 = gw1.example.net
    id-2 = gw2.example.net
    secret = "a documentation-only pre-shared key, never for real use"
  }
}
EOF
}

swan_start() {
  rm -f "$SWAN_DIR/charon.vici" "$SWAN_DIR/charon.log"
  # ip netns exec execs sh, which execs charon: $! is charon's PID.
  STRONGSWAN_CONF="$SWAN_DIR/strongswan.conf" ip netns exec "$RP_NS_G2" sh -c 'mount --bind "$1" /run && exec "$2"' \
    sh "$SWAN_DIR/run" "$SWAN_CHARON" </dev/null >"$SWAN_DIR/charon.out" 2>&1 &
  SWAN_PID=$!
  for _ in $(seq 100); do
    [[ -S $SWAN_DIR/charon.vici ]] && break
    kill -0 "$SWAN_PID" 2>/dev/null || { cat "$SWAN_DIR/charon.out"; return 1; }
    sleep 0.1
  done
  swan_ctl --load-all --file "$SWAN_DIR/swanctl.conf" >"$SWAN_DIR/load.out" 2>&1 || { cat "$SWAN_DIR/load.out"; return 1; }
}

swan_stop() {
  [[ -n $SWAN_PID ]] || return 0
  kill -TERM "$SWAN_PID" 2>/dev/null
  wait "$SWAN_PID" 2>/dev/null
  SWAN_PID=
}

# The established CHILD_SA's SPIs as strongSwan sees them: "IN OUT" in hex, or nothing.
swan_child_spis() {
  swan_ctl --list-sas --raw 2>/dev/null | python3 -c '
import re, sys
text = sys.stdin.read()
m = re.search(r"state=INSTALLED[^}]*?spi-in=([0-9a-f]+) spi-out=([0-9a-f]+)", text)
print(m.group(1), m.group(2)) if m else None'
}
