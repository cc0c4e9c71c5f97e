#!/usr/bin/python3
"""ESP (AES-GCM, RFC 4106) encrypt/decrypt through scapy, an independent peer for interop tests.

Usage (run with /usr/bin/python3, which has scapy 2.5.0):

    scapy_esp.py encrypt --spec SPEC.json --in IN.hex --out OUT.hex
    scapy_esp.py decrypt --spec SPEC.json --in IN.hex --out OUT.hex
    scapy_esp.py batch --jobs JOBS        # lines of "encrypt|decrypt SPEC IN OUT", one process

SPEC.json:

    {"spi": 4096,                         # 1 .. 2^32-1
     "cipher": "aes-gcm-128" | "aes-gcm-256",
     "key": "hex",                        # AES key || 4-byte salt: 20 or 36 bytes
     "mode": "tunnel" | "transport",
     "tunnel_src": "198.51.100.1",        # tunnel mode: outer header, IPv4 or IPv6 (same family
     "tunnel_dst": "203.0.113.1",         #   for both); ignored in transport mode
     "esn": false,                        # optional, default false
     "seq_start": 1,                      # optional, default 1; 64-bit when esn is true
     "nat_t": null | {"sport": 4500, "dport": 4500},   # optional, default null
     "iv": null | "hex 8 bytes" | "seq"}  # optional, default null

IN.hex / OUT.hex: one packet per line, hex, starting at the IP header. Output is lowercase.

encrypt: line i of IN is a plain IPv4/IPv6 packet (the inner packet in tunnel mode, the packet to
protect in transport mode); line i of OUT is outer IP [+ UDP if nat_t] + ESP with sequence number
seq_start + i (with esn, the high 32 bits go into the ICV's AAD, the low 32 bits on the wire).
"iv": null takes scapy's random IV, a hex string uses that IV for every packet, "seq" uses the
packet's 64-bit sequence number (big endian) as its IV.

decrypt: line i of IN is an ESP packet as encrypt writes it; line i of OUT is the decrypted inner
packet (tunnel mode) or the restored original packet (transport mode), or `ERROR <reason>` when
the packet is refused (bad ICV, wrong SPI, malformed, ...). With esn, every packet's high 32
sequence bits are taken as seq_start >> 32. Besides scapy's ICV check, this script refuses an IP
length field that does not match the line, a bad outer IPv4 header checksum, and with nat_t a
missing UDP header, a wrong UDP length, a non-zero UDP checksum that is wrong, keepalives and
non-ESP-marked (IKE) datagrams. It does not check the padding bytes (scapy does not either).

Exit status: 0 when the file was processed (ERROR lines included), 2 for bad usage, spec or
(encrypt) input, with a message on stderr.

Scapy 2.5.0 bugs this script works around (see the checks below):
- NAT-T encrypt leaves the UDP length at 8 (it re-parses the outer header before appending ESP);
  the UDP length is recomputed here.
- NAT-T encrypt writes UDP checksum 0 for IPv6 too; RFC 8200 forbids that, so it is computed for
  IPv6 here (IPv4 keeps 0, RFC 3948).
- NAT-T decrypt only finds ESP when a UDP port is 4500, and for IPv6 transport mode it leaves the
  UDP header in the result; the UDP header is stripped here before scapy decrypts.
- decrypt keeps TFC padding after a tunnelled inner packet; the inner packet is cut to its own
  IP length here (as a real receiver does).
- encrypt/decrypt take `seq_num or sa.seq_num` and `esn or sa.esn`, so 0 passed as an argument
  means "the SA's value"; the SA's values are set per packet here so sequence 0 works.
"""

import argparse
import ipaddress
import json
import logging
import struct
import sys

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
logging.getLogger("scapy.loading").setLevel(logging.ERROR)

try:
    from scapy.compat import raw
    from scapy.layers.inet import IP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.ipsec import ESP, IPSecIntegrityError, SecurityAssociation
    from scapy.utils import checksum
except ImportError as exc:  # pragma: no cover - environment problem
    sys.stderr.write("scapy_esp: cannot import scapy (%s); run with /usr/bin/python3\n" % exc)
    sys.exit(2)

IPPROTO_UDP = 17
IPPROTO_ESP = 50
KEY_BYTES = {"aes-gcm-128": 16, "aes-gcm-256": 32}
SALT_BYTES = 4
IV_BYTES = 8
SPEC_KEYS = {"spi", "cipher", "key", "mode", "tunnel_src", "tunnel_dst", "esn", "seq_start",
             "nat_t", "iv"}


class UsageError(Exception):
    pass


class Refused(Exception):
    """A packet decrypt refuses; becomes an ERROR line."""


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def parse_hex(text, what):
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise UsageError("%s is not valid hex" % what)


def load_spec(path):
    try:
        with open(path, encoding="utf-8") as f:
            spec = json.load(f)
    except (OSError, ValueError) as exc:
        raise UsageError("cannot read spec %s: %s" % (path, exc))
    if not isinstance(spec, dict):
        raise UsageError("spec must be a JSON object")
    unknown = sorted(set(spec) - SPEC_KEYS)
    if unknown:
        raise UsageError("spec: unknown key(s) %s" % ", ".join(unknown))
    for k in ("spi", "cipher", "key", "mode"):
        if k not in spec:
            raise UsageError("spec: missing '%s'" % k)

    out = {}
    spi = spec["spi"]
    if not is_int(spi) or not 1 <= spi <= 0xFFFFFFFF:
        raise UsageError("spec: spi must be an integer in 1..2^32-1")
    out["spi"] = spi

    cipher = spec["cipher"]
    if cipher not in KEY_BYTES:
        raise UsageError("spec: cipher must be aes-gcm-128 or aes-gcm-256")
    if not isinstance(spec["key"], str):
        raise UsageError("spec: key must be a hex string")
    key = parse_hex(spec["key"], "spec key")
    want = KEY_BYTES[cipher] + SALT_BYTES
    if len(key) != want:
        raise UsageError("spec: %s key must be %d bytes (AES key + 4-byte salt), got %d"
                         % (cipher, want, len(key)))
    out["key"] = key

    mode = spec["mode"]
    if mode not in ("tunnel", "transport"):
        raise UsageError("spec: mode must be tunnel or transport")
    out["mode"] = mode
    out["tunnel_header"] = None
    if mode == "tunnel":
        try:
            src = ipaddress.ip_address(spec.get("tunnel_src"))
            dst = ipaddress.ip_address(spec.get("tunnel_dst"))
        except ValueError as exc:
            raise UsageError("spec: tunnel mode needs tunnel_src and tunnel_dst addresses (%s)"
                             % exc)
        if src.version != dst.version:
            raise UsageError("spec: tunnel_src and tunnel_dst are of different families")
        if src.version == 4:
            out["tunnel_header"] = IP(src=str(src), dst=str(dst), ttl=64)
        else:
            out["tunnel_header"] = IPv6(src=str(src), dst=str(dst), hlim=64)

    esn = spec.get("esn", False)
    if not isinstance(esn, bool):
        raise UsageError("spec: esn must be true or false")
    out["esn"] = esn

    seq_start = spec.get("seq_start", 1)
    limit = 0xFFFFFFFFFFFFFFFF if esn else 0xFFFFFFFF
    if not is_int(seq_start) or not 0 <= seq_start <= limit:
        raise UsageError("spec: seq_start must be an integer in 0..%#x" % limit)
    out["seq_start"] = seq_start

    nat_t = spec.get("nat_t")
    out["nat_t"] = None
    if nat_t is not None:
        if not isinstance(nat_t, dict) or set(nat_t) != {"sport", "dport"}:
            raise UsageError("spec: nat_t must be null or {\"sport\": N, \"dport\": N}")
        for k in ("sport", "dport"):
            if not is_int(nat_t[k]) or not 1 <= nat_t[k] <= 65535:
                raise UsageError("spec: nat_t.%s must be a port in 1..65535" % k)
        out["nat_t"] = (nat_t["sport"], nat_t["dport"])

    iv = spec.get("iv")
    if iv is None or iv == "seq":
        out["iv"] = iv
    elif isinstance(iv, str):
        out["iv"] = parse_hex(iv, "spec iv")
        if len(out["iv"]) != IV_BYTES:
            raise UsageError("spec: iv must be 8 bytes of hex, \"seq\" or null")
    else:
        raise UsageError("spec: iv must be 8 bytes of hex, \"seq\" or null")
    return out


def make_sa(spec, seq_num, esn_high):
    nat_t_header = None
    if spec["nat_t"]:
        nat_t_header = UDP(sport=spec["nat_t"][0], dport=spec["nat_t"][1])
    # scapy splits crypt_key into AES key (all but the last salt_size=4 bytes) and salt.
    return SecurityAssociation(ESP, spi=spec["spi"], seq_num=seq_num, crypt_algo="AES-GCM",
                               crypt_key=spec["key"], tunnel_header=spec["tunnel_header"],
                               nat_t_header=nat_t_header, esn_en=spec["esn"], esn=esn_high)


def read_lines(path):
    try:
        with open(path, encoding="ascii") as f:
            lines = [line.strip() for line in f.read().splitlines()]
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError("cannot read %s: %s" % (path, exc))
    while lines and not lines[-1]:
        lines.pop()
    return lines


def ip_total_length(data):
    """Length the IP header claims for the whole packet, or None if it cannot be read."""
    if len(data) >= 20 and data[0] >> 4 == 4:
        return struct.unpack("!H", data[2:4])[0]
    if len(data) >= 40 and data[0] >> 4 == 6:
        return 40 + struct.unpack("!H", data[4:6])[0]
    return None


def dissect_ip(data, check_ipv4_checksum=True):
    """IP or IPv6 packet from bytes whose length matches the header's length field."""
    total = ip_total_length(data)
    if total is None:
        raise Refused("not an IPv4/IPv6 packet")
    if total != len(data):
        raise Refused("IP length field says %d bytes, packet has %d" % (total, len(data)))
    if data[0] >> 4 == 4:
        ihl = (data[0] & 0x0F) * 4
        if ihl < 20 or ihl > len(data):
            raise Refused("bad IPv4 header length")
        if check_ipv4_checksum and checksum(data[:ihl]) != 0:
            raise Refused("bad IPv4 header checksum")
        return IP(data)
    return IPv6(data)


def udp_checksum_ok(pkt):
    """Recompute the UDP checksum of pkt (IP/IPv6 with a UDP layer) and compare."""
    udp = pkt[UDP]
    if udp.chksum == 0:
        return True
    probe = pkt.copy()
    del probe[UDP].chksum
    return probe.__class__(raw(probe))[UDP].chksum == udp.chksum


def finish_outer(pkt):
    """Final bytes of an encrypted packet: all lengths and checksums recomputed."""
    pkt = pkt.copy()
    if UDP in pkt:
        del pkt[UDP].len
        if pkt.version == 4:
            pkt[UDP].chksum = 0      # RFC 3948 section 2.1
        else:
            del pkt[UDP].chksum      # RFC 8200 section 8.1: zero is not allowed
    if pkt.version == 4:
        del pkt.len
        del pkt.chksum
    else:
        del pkt.plen
    data = raw(pkt)
    if ip_total_length(data) != len(data):
        raise RuntimeError("internal error: outer length mismatch")
    return data


def encrypt(spec, lines):
    out = []
    sa = make_sa(spec, spec["seq_start"] & 0xFFFFFFFF, spec["seq_start"] >> 32)
    limit = 0xFFFFFFFFFFFFFFFF if spec["esn"] else 0xFFFFFFFF
    for i, line in enumerate(lines):
        seq = spec["seq_start"] + i
        if seq > limit:
            raise UsageError("line %d: sequence number %#x overflows (esn=%s)"
                             % (i + 1, seq, spec["esn"]))
        data = parse_hex(line, "input line %d" % (i + 1))
        try:
            pkt = dissect_ip(data, check_ipv4_checksum=False)
        except Refused as exc:
            raise UsageError("input line %d: %s" % (i + 1, exc))
        low, high = seq & 0xFFFFFFFF, seq >> 32
        # scapy uses `seq_num or sa.seq_num` and `esn or sa.esn`: set both so 0 works.
        sa.seq_num, sa.esn = low, high
        if spec["iv"] == "seq":
            iv = struct.pack("!Q", seq)
        else:
            iv = spec["iv"]
        enc = sa.encrypt(pkt, seq_num=low, iv=iv, esn_en=spec["esn"], esn=high)
        out.append(finish_outer(enc).hex())
    return out


def strip_nat_t(pkt):
    """IP/UDP/ESP -> IP/ESP (scapy cannot decrypt IPv6 transport NAT-T itself)."""
    if UDP not in pkt or pkt[UDP].underlayer is not pkt:
        raise Refused("no UDP header after the IP header (nat_t is set)")
    udp = pkt[UDP]
    body = raw(udp.payload)
    if udp.len != 8 + len(body):
        raise Refused("UDP length %d, datagram has %d bytes" % (udp.len, 8 + len(body)))
    if not udp_checksum_ok(pkt):
        raise Refused("bad UDP checksum")
    if len(body) == 1 and body == b"\xff":
        raise Refused("NAT-T keepalive, not ESP")
    if len(body) >= 4 and body[:4] == b"\x00\x00\x00\x00":
        raise Refused("non-ESP marker (IKE), not ESP")
    hdr = pkt.copy()
    hdr.remove_payload()
    if hdr.version == 4:
        hdr.proto = IPPROTO_ESP
        del hdr.len
        del hdr.chksum
    else:
        hdr.nh = IPPROTO_ESP
        del hdr.plen
    return hdr.__class__(raw(hdr / ESP(body)))


def decrypt_one(sa, spec, data):
    pkt = dissect_ip(data)
    if spec["nat_t"]:
        pkt = strip_nat_t(pkt)
    elif UDP in pkt and pkt[UDP].underlayer is pkt:
        raise Refused("UDP-encapsulated packet but nat_t is not set")
    if ESP not in pkt:
        raise Refused("no ESP header")
    esp = pkt[ESP]
    # ESP header 8 + IV 8 + pad length/next header 2 (encrypted) + ICV 16
    if len(raw(esp)) < 8 + IV_BYTES + 2 + 16:
        raise Refused("ESP packet too short")
    if esp.spi != spec["spi"]:
        raise Refused("SPI %#x does not match SA SPI %#x" % (esp.spi, spec["spi"]))
    high = spec["seq_start"] >> 32
    sa.esn = high
    try:
        res = sa.decrypt(pkt, verify=True, esn_en=spec["esn"], esn=high)
    except IPSecIntegrityError:
        raise Refused("ICV check failed")
    out = raw(res)
    if spec["mode"] == "tunnel":
        if not isinstance(res, (IP, IPv6)):
            # scapy has stored the ESP next header in the outer header it decapsulated
            raise Refused("inner packet is not IPv4/IPv6 (next header %d)"
                          % (pkt.proto if pkt.version == 4 else pkt.nh))
        total = ip_total_length(out)
        if total is None or total > len(out):
            raise Refused("inner packet truncated")
        out = out[:total]    # drop TFC padding, if any
    return out


def decrypt(spec, lines):
    out = []
    sa = make_sa(spec, 1, spec["seq_start"] >> 32)
    for i, line in enumerate(lines):
        try:
            try:
                data = bytes.fromhex(line)
            except ValueError:
                raise Refused("input line is not hex")
            if not data:
                raise Refused("empty line")
            out.append(decrypt_one(sa, spec, data).hex())
        except Refused as exc:
            out.append("ERROR " + str(exc))
        except Exception as exc:  # scapy refusing in some other way (malformed packet)
            text = " ".join(str(exc).split())[:120]
            out.append("ERROR %s%s" % (type(exc).__name__, ": " + text if text else ""))
    return out


def run_job(op, spec_path, in_path, out_path):
    spec = load_spec(spec_path)
    lines = read_lines(in_path)
    result = encrypt(spec, lines) if op == "encrypt" else decrypt(spec, lines)
    try:
        with open(out_path, "w", encoding="ascii") as f:
            f.writelines(line + "\n" for line in result)
    except OSError as exc:
        raise UsageError("cannot write %s: %s" % (out_path, exc))


def main(argv):
    parser = argparse.ArgumentParser(prog="scapy_esp.py",
                                     description="ESP AES-GCM encrypt/decrypt with scapy")
    parser.add_argument("op", choices=("encrypt", "decrypt", "batch"),
                        help="batch: run every line of --jobs, 'encrypt|decrypt SPEC IN OUT', "
                             "in one process (scapy takes a second to import)")
    parser.add_argument("--spec", help="SA description (JSON)")
    parser.add_argument("--in", dest="inp", metavar="IN", help="input, one hex packet a line")
    parser.add_argument("--out", help="output, one hex packet (or ERROR) a line")
    parser.add_argument("--jobs", help="batch: a file of 'encrypt|decrypt SPEC IN OUT' lines")
    args = parser.parse_args(argv)
    try:
        if args.op == "batch":
            if not args.jobs:
                raise UsageError("batch needs --jobs")
            for number, line in enumerate(read_lines(args.jobs), 1):
                words = line.split()
                if len(words) != 4 or words[0] not in ("encrypt", "decrypt"):
                    raise UsageError("%s:%d: expected 'encrypt|decrypt SPEC IN OUT'" % (args.jobs, number))
                run_job(*words)
        else:
            if not (args.spec and args.inp and args.out):
                raise UsageError("%s needs --spec, --in and --out" % args.op)
            run_job(args.op, args.spec, args.inp, args.out)
    except UsageError as exc:
        sys.stderr.write("scapy_esp: %s\n" % exc)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
