#!/usr/bin/env bash
# Self-check of tests/interop/scapy_esp.py (ESP AES-GCM through scapy). For every layout (4in4,
# 6in6, 4in6, 6in4, IPv4 and IPv6 transport) x aes-gcm-128/256 x ESN off/on x NAT-T off/on it
# encrypts three UDP packets, checks the ESP packets field by field and decrypts them again with
# python-cryptography's AESGCM directly (salt || IV nonce, SPI || [seq hi] || seq lo AAD, RFC 4106
# and 4303), then decrypts them with scapy_esp.py and compares with the input; a flipped ICV byte and
# a flipped ciphertext byte must give ERROR lines. tshark, when installed, must accept the ICV of
# every non-ESN packet and find the inner packet. Prints "scapy_esp selftest: N ok, M failed".
set -u

here=$(cd "$(dirname "$0")" && pwd)
tool="$here/scapy_esp.py"
py=/usr/bin/python3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/scapy_esp_selftest.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

ok=0
failed=0
pass() { ok=$((ok + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

# Helper: packet generation and the independent checks.
cat > "$tmp/check.py" <<'EOF'
import json, logging, struct, sys
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from scapy.compat import raw
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.utils import checksum


def gen(family, path):
    # Three UDP packets, 100-byte payloads that differ per packet.
    with open(path, "w") as f:
        for n in range(3):
            payload = bytes((n * 37 + k) % 256 for k in range(100))
            if family == "4":
                p = IP(src="192.0.2.10", dst="203.0.113.20", id=100 + n) / UDP(sport=1234, dport=5678)
            else:
                p = IPv6(src="2001:db8:1::10", dst="2001:db8:2::20") / UDP(sport=1234, dport=5678)
            f.write(raw(p / payload).hex() + "\n")


def udp6_fix(b):
    # Recompute the UDP checksum of IPv6/UDP bytes (after a byte was flipped on purpose).
    p = IPv6(b)
    del p[UDP].chksum
    return raw(p)


def check(spec_path, in_path, enc_path, flipped_path):
    spec = json.load(open(spec_path))
    inner = [bytes.fromhex(l) for l in open(in_path).read().split()]
    enc = [bytes.fromhex(l) for l in open(enc_path).read().split()]
    errors = []

    def err(i, msg):
        errors.append("packet %d: %s" % (i, msg))

    if len(enc) != len(inner):
        print("expected %d lines, got %d" % (len(inner), len(enc)))
        return 1
    key, salt = bytes.fromhex(spec["key"])[:-4], bytes.fromhex(spec["key"])[-4:]
    tunnel = spec["mode"] == "tunnel"
    nat = spec.get("nat_t")
    esn = spec.get("esn", False)
    for i, (pin, b) in enumerate(zip(inner, enc)):
        seq = spec["seq_start"] + i
        fam_in = pin[0] >> 4
        fam_out = (6 if ":" in spec["tunnel_src"] else 4) if tunnel else fam_in
        if b[0] >> 4 != fam_out:
            err(i, "outer IP version %d, want %d" % (b[0] >> 4, fam_out))
            continue
        if fam_out == 4:
            hl = (b[0] & 15) * 4
            if hl != 20: err(i, "outer IPv4 header length %d" % hl)
            if struct.unpack("!H", b[2:4])[0] != len(b): err(i, "IPv4 total length")
            if checksum(b[:hl]) != 0: err(i, "IPv4 header checksum")
            proto = b[9]
            if tunnel:
                if b[8] != 64: err(i, "outer TTL %d" % b[8])
                if b[12:20] != IP(src=spec["tunnel_src"], dst=spec["tunnel_dst"]).build()[12:20]:
                    err(i, "outer addresses")
            else:
                # transport: everything but length, protocol and checksum is the original's
                if b[0:2] + b[4:9] + b[12:20] != pin[0:2] + pin[4:9] + pin[12:20]:
                    err(i, "transport IPv4 header changed")
        else:
            hl = 40
            if struct.unpack("!H", b[4:6])[0] != len(b) - 40: err(i, "IPv6 payload length")
            proto = b[6]
            if tunnel:
                if b[7] != 64: err(i, "outer hop limit %d" % b[7])
                if b[8:40] != IPv6(src=spec["tunnel_src"], dst=spec["tunnel_dst"]).build()[8:40]:
                    err(i, "outer addresses")
            elif b[0:4] + b[7:40] != pin[0:4] + pin[7:40]:
                err(i, "transport IPv6 header changed")
        off = hl
        if nat:
            if proto != 17: err(i, "outer protocol %d, want UDP" % proto)
            sport, dport, ulen, csum = struct.unpack("!HHHH", b[off:off + 8])
            if (sport, dport) != (nat["sport"], nat["dport"]): err(i, "UDP ports %d>%d" % (sport, dport))
            if ulen != len(b) - off: err(i, "UDP length %d, want %d" % (ulen, len(b) - off))
            if fam_out == 4 and csum != 0: err(i, "IPv4 NAT-T UDP checksum %#x, want 0" % csum)
            if fam_out == 6:
                p = IPv6(b)
                del p[UDP].chksum
                if csum == 0 or IPv6(raw(p))[UDP].chksum != csum: err(i, "IPv6 UDP checksum")
            off += 8
        elif proto != 50:
            err(i, "outer protocol %d, want ESP" % proto)
        esp = b[off:]
        spi, seq_lo = struct.unpack("!II", esp[:8])
        if spi != spec["spi"]: err(i, "SPI %#x" % spi)
        if seq_lo != seq & 0xFFFFFFFF: err(i, "sequence %#x, want %#x" % (seq_lo, seq & 0xFFFFFFFF))
        iv, ct = esp[8:16], esp[16:]
        if spec.get("iv") == "seq" and iv != struct.pack("!Q", seq): err(i, "IV is not the sequence")
        if spec.get("iv") not in (None, "seq") and iv != bytes.fromhex(spec["iv"]): err(i, "IV")
        if (len(ct) - 16) % 4: err(i, "encrypted part not a multiple of 4 bytes")
        aad = struct.pack("!III", spi, seq >> 32, seq_lo) if esn else struct.pack("!II", spi, seq_lo)
        try:
            pt = AESGCM(key).decrypt(salt + iv, ct, aad)
        except Exception:
            err(i, "independent AES-GCM check refuses the ICV")
            continue
        nh, padlen = pt[-1], pt[-2]
        if pt[-2 - padlen:-2] != bytes(range(1, padlen + 1)): err(i, "padding bytes")
        if padlen > 3: err(i, "padding %d bytes, more than needed" % padlen)
        body = pt[:-2 - padlen]
        if tunnel:
            if nh != (4 if fam_in == 4 else 41): err(i, "next header %d" % nh)
            if body != pin: err(i, "encrypted payload is not the inner packet")
        else:
            if nh != 17: err(i, "next header %d" % nh)
            if body != pin[20 if fam_in == 4 else 40:]: err(i, "encrypted payload is not the UDP datagram")
    for e in errors:
        print(e)
    # Decrypt input: the good packets, one with a flipped ICV byte, one with a flipped
    # ciphertext byte (IPv6 NAT-T: UDP checksum fixed again so the ESP layer has to catch it).
    with open(flipped_path, "w") as f:
        for b in enc:
            f.write(b.hex() + "\n")
        for pos in (len(enc[0]) - 1, len(enc[0]) - 30):
            bad = bytearray(enc[0])
            bad[pos] ^= 0x01
            bad = bytes(bad)
            if nat and (bad[0] >> 4) == 6:
                bad = udp6_fix(bad)
            f.write(bad.hex() + "\n")
    return 1 if errors else 0


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(sys.argv[2], sys.argv[3])
        sys.exit(0)
    if sys.argv[1] == "pcap":
        from scapy.packet import Raw
        from scapy.utils import PcapWriter
        w = PcapWriter(sys.argv[2], linktype=101)  # LINKTYPE_RAW: packets start at IP
        for path in sys.argv[3:]:
            for l in open(path).read().split():
                w.write(Raw(bytes.fromhex(l)))
        w.close()
        sys.exit(0)
    sys.exit(check(*sys.argv[2:6]))
EOF

if ! "$py" "$tmp/check.py" gen 4 "$tmp/in4.hex" || ! "$py" "$tmp/check.py" gen 6 "$tmp/in6.hex"; then
    echo "scapy_esp selftest: cannot generate packets with $py (scapy missing?)" >&2
    echo "scapy_esp selftest: 0 ok, 1 failed"
    exit 1
fi

key128=000102030405060708090a0b0c0d0e0fc0c1c2c3
key256=101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2fd0d1d2d3
tshark_sa=()       # esp_sa UAT records for the tshark pass
tshark_files=()    # encrypted non-ESN files
tshark_expect=0

# write_spec FILE SPI CIPHER KEY MODE TSRC TDST ESN SEQ NAT IV (NAT/IV as JSON)
write_spec() {
    printf '{"spi": %d, "cipher": "%s", "key": "%s", "mode": "%s", "tunnel_src": "%s", "tunnel_dst": "%s", "esn": %s, "seq_start": %d, "nat_t": %s, "iv": %s}\n' \
        "$2" "$3" "$4" "$5" "$6" "$7" "$8" "$9" "${10}" "${11}" > "$1"
}

case_no=0
for layout in 4in4 6in6 4in6 6in4 4tr 6tr; do
    case $layout in
        4in4) inner=4 mode=tunnel tsrc=198.51.100.1 tdst=203.0.113.1 ;;
        6in6) inner=6 mode=tunnel tsrc=2001:db8:ff::1 tdst=2001:db8:ff::2 ;;
        4in6) inner=4 mode=tunnel tsrc=2001:db8:ff::1 tdst=2001:db8:ff::2 ;;
        6in4) inner=6 mode=tunnel tsrc=198.51.100.1 tdst=203.0.113.1 ;;
        4tr) inner=4 mode=transport tsrc='' tdst='' ;;
        6tr) inner=6 mode=transport tsrc='' tdst='' ;;
    esac
    for cipher in aes-gcm-128 aes-gcm-256; do
        [ $cipher = aes-gcm-128 ] && key=$key128 || key=$key256
        for esn in false true; do
            [ $esn = true ] && seq=$((0x100000005)) || seq=1
            for nat in null '{"sport": 4500, "dport": 4500}'; do
                case_no=$((case_no + 1))
                spi=$((0x1000 + case_no))
                case $((case_no % 3)) in    # cover random, fixed and sequence IVs
                    0) iv=null ;;
                    1) iv='"a0a1a2a3a4a5a6a7"' ;;
                    2) iv='"seq"' ;;
                esac
                if [ "$nat" = null ]; then natname=plain; else natname="nat-t"; fi
                name="$layout $cipher esn=$esn $natname"
                d="$tmp/c$case_no"
                mkdir "$d"
                write_spec "$d/spec.json" "$spi" "$cipher" "$key" "$mode" "$tsrc" "$tdst" "$esn" "$seq" "$nat" "$iv"
                if ! "$py" "$tool" encrypt --spec "$d/spec.json" --in "$tmp/in$inner.hex" --out "$d/enc.hex" 2> "$d/err"; then
                    fail "$name: encrypt failed: $(cat "$d/err")"
                    continue
                fi
                if out=$("$py" "$tmp/check.py" check "$d/spec.json" "$tmp/in$inner.hex" "$d/enc.hex" "$d/dec_in.hex"); then
                    pass
                else
                    fail "$name: encrypted packets: $out"
                fi
                if ! "$py" "$tool" decrypt --spec "$d/spec.json" --in "$d/dec_in.hex" --out "$d/dec.hex" 2> "$d/err"; then
                    fail "$name: decrypt failed: $(cat "$d/err")"
                    continue
                fi
                if cmp -s <(head -n 3 "$d/dec.hex") "$tmp/in$inner.hex"; then
                    pass
                else
                    fail "$name: decrypted packets differ from the input"
                fi
                tampered=$(tail -n +4 "$d/dec.hex")
                if [ "$(grep -c '^ERROR ICV check failed$' <<< "$tampered")" = 2 ] && [ "$(wc -l < "$d/dec.hex")" = 5 ]; then
                    pass
                else
                    fail "$name: tampered packets not refused: $tampered"
                fi
                if [ $esn = false ]; then   # Wireshark 4.0 has no ESN setting for ESP SAs
                    # the SA's address family is the outer header's
                    fam=IPv4
                    if [ "$mode" = tunnel ] && [[ $tsrc == *:* ]]; then fam=IPv6; fi
                    if [ "$mode" = transport ] && [ "$inner" = 6 ]; then fam=IPv6; fi
                    tshark_sa+=(-o "uat:esp_sa:\"$fam\",\"*\",\"*\",\"$(printf '0x%08x' $spi)\",\"AES-GCM with 16 octet ICV [RFC4106]\",\"0x$key\",\"NULL\",\"\"")
                    tshark_files+=("$d/enc.hex")
                    tshark_expect=$((tshark_expect + 3))
                fi
            done
        done
    done
done

# Single checks. spec_for NAME makes a 4in4 spec with the given overrides (jq-free: python).
spec_for() {
    "$py" - "$@" <<'EOF'
import json, sys
spec = {"spi": 4096, "cipher": "aes-gcm-128", "key": "000102030405060708090a0b0c0d0e0fc0c1c2c3",
        "mode": "tunnel", "tunnel_src": "198.51.100.1", "tunnel_dst": "203.0.113.1",
        "esn": False, "seq_start": 1, "nat_t": None, "iv": None}
spec.update(json.loads(sys.argv[2]))
for k in [k for k, v in spec.items() if v == "DROP"]:
    del spec[k]
json.dump(spec, open(sys.argv[1], "w"))
EOF
}
run() { "$py" "$tool" "$@" 2> "$tmp/err"; }
s="$tmp/s"

# ESN with low 32 bits 0: the packet carries sequence 0 on the wire, AAD high bits 2.
spec_for "$s.json" '{"esn": true, "seq_start": 8589934592, "iv": "seq"}'
if run encrypt --spec "$s.json" --in "$tmp/in4.hex" --out "$s.enc" &&
   "$py" "$tmp/check.py" check "$s.json" "$tmp/in4.hex" "$s.enc" "$s.dec_in" > "$tmp/out" &&
   run decrypt --spec "$s.json" --in "$s.enc" --out "$s.dec" && cmp -s "$s.dec" "$tmp/in4.hex"; then
    pass
else
    fail "ESN seq_start 0x200000000: $(cat "$tmp/out" "$tmp/err")"
fi

# ESN: decrypting with other high bits must fail the ICV (the high bits are in the AAD).
spec_for "$s.json" '{"esn": true, "seq_start": 4294967301}'
spec_for "$s.other.json" '{"esn": true, "seq_start": 5}'
if run encrypt --spec "$s.json" --in "$tmp/in4.hex" --out "$s.enc" &&
   run decrypt --spec "$s.other.json" --in "$s.enc" --out "$s.dec" &&
   [ "$(grep -c '^ERROR ICV check failed$' "$s.dec")" = 3 ]; then
    pass
else
    fail "ESN high bits not authenticated"
fi

# A fixed IV gives the same bytes twice; a random one does not.
spec_for "$s.json" '{"iv": "0001020304050607"}'
spec_for "$s.rnd.json" '{}'
if run encrypt --spec "$s.json" --in "$tmp/in6.hex" --out "$s.a" && run encrypt --spec "$s.json" --in "$tmp/in6.hex" --out "$s.b" &&
   cmp -s "$s.a" "$s.b" && run encrypt --spec "$s.rnd.json" --in "$tmp/in6.hex" --out "$s.c" &&
   run encrypt --spec "$s.rnd.json" --in "$tmp/in6.hex" --out "$s.d" && ! cmp -s "$s.c" "$s.d"; then
    pass
else
    fail "fixed/random IV"
fi

# NAT-T on other ports (scapy itself only finds ESP behind port 4500), IPv6 transport.
spec_for "$s.json" '{"mode": "transport", "tunnel_src": "DROP", "tunnel_dst": "DROP", "nat_t": {"sport": 61000, "dport": 4501}}'
if run encrypt --spec "$s.json" --in "$tmp/in6.hex" --out "$s.enc" &&
   "$py" "$tmp/check.py" check "$s.json" "$tmp/in6.hex" "$s.enc" "$s.dec_in" > "$tmp/out" &&
   run decrypt --spec "$s.json" --in "$s.enc" --out "$s.dec" && cmp -s "$s.dec" "$tmp/in6.hex"; then
    pass
else
    fail "NAT-T ports 61000>4501: $(cat "$tmp/out" "$tmp/err")"
fi

# Wrong SPI, garbage and a plain packet each give an ERROR line; the good packet still decrypts.
spec_for "$s.json" '{}'
spec_for "$s.other.json" '{"spi": 4097}'
run encrypt --spec "$s.json" --in "$tmp/in4.hex" --out "$s.enc"
run encrypt --spec "$s.other.json" --in "$tmp/in4.hex" --out "$s.enc2"
{ head -n 1 "$s.enc2"; echo "zz"; head -n 1 "$tmp/in4.hex"; head -n 1 "$s.enc"; } > "$s.mix"
if run decrypt --spec "$s.json" --in "$s.mix" --out "$s.dec" &&
   [ "$(grep -c '^ERROR ' "$s.dec")" = 3 ] && [ "$(sed -n 4p "$s.dec")" = "$(head -n 1 "$tmp/in4.hex")" ]; then
    pass
else
    fail "mixed bad input: $(cat "$s.dec")"
fi

# Bad specs and overflowing sequence numbers exit non-zero with a message.
bad=0
for override in '{"key": "000102030405060708090a0b0c0d0e0f"}' '{"cipher": "aes-cbc"}' '{"bogus": 1}' \
                '{"tunnel_src": "DROP"}' '{"tunnel_dst": "2001:db8:ff::2"}' '{"iv": "0001"}' \
                '{"seq_start": 4294967296}' '{"seq_start": 4294967295}' '{"nat_t": {"sport": 0, "dport": 4500}}'; do
    spec_for "$s.json" "$override"
    if run encrypt --spec "$s.json" --in "$tmp/in4.hex" --out "$s.enc" || [ ! -s "$tmp/err" ]; then
        fail "spec $override accepted"
        bad=1
    fi
done
[ $bad = 0 ] && pass

# tshark (Wireshark's own ESP decryption), when installed.
if command -v tshark > /dev/null 2>&1 && [ ${#tshark_files[@]} -gt 0 ]; then
    "$py" "$tmp/check.py" pcap "$tmp/all.pcap" "${tshark_files[@]}"
    tshark -r "$tmp/all.pcap" -o esp.enable_encryption_decode:TRUE -o esp.enable_authentication_check:TRUE \
        "${tshark_sa[@]}" -T fields -e esp.icv_good -e udp.dstport 2> /dev/null > "$tmp/tshark.txt"
    # every frame: ICV good and the inner UDP datagram to port 5678 visible after decryption
    good=$(grep -cE '^(1|True)[[:space:]].*5678$' "$tmp/tshark.txt")
    if [ "$good" = "$tshark_expect" ]; then
        pass
    else
        fail "tshark accepted $good of $tshark_expect packets"
        head -n 5 "$tmp/tshark.txt" >&2
    fi
else
    echo "scapy_esp selftest: tshark not installed, skipping the tshark check" >&2
fi

echo "scapy_esp selftest: $ok ok, $failed failed"
[ $failed = 0 ]
