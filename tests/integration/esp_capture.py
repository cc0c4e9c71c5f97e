#!/usr/bin/python3
"""Decrypts the ESP packets of a capture with scapy, using the keys the demo gateways were given,
and checks every inner packet is traffic between host A and host B. Also builds hostile packets
for the gateways (unknown SPI, a replay, cleartext from the internet).

    esp_capture.py check PCAP SPI KEYHEX [ipv4|ipv6|transport]  # "decrypted N of M ESP packets"; exit 1 on any failure
    esp_capture.py replay PCAP IFACE DST_MAC      # resends the capture's first ESP packet
    esp_capture.py inject IFACE DST_MAC           # unknown SPI and cleartext, toward 198.51.100.1
"""
import logging
import sys

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import IP, UDP, Ether, IPv6, Raw, defragment, rdpcap, sendp  # noqa: E402
from scapy.layers.ipsec import ESP, SecurityAssociation  # noqa: E402

HOSTS = {"192.0.2.10", "203.0.113.10", "2001:db8:1::10", "2001:db8:2::10"}


def check(pcap, spi, key, outer="ipv4"):
    # outer: the tunnel's family, or "transport" (the hosts' own headers, either family).
    if outer == "transport":
        sa = SecurityAssociation(ESP, spi=spi, crypt_algo="AES-GCM", crypt_key=bytes.fromhex(key))
    else:
        header = IPv6(src="::", dst="::") if outer == "ipv6" else IP(src="0.0.0.0", dst="0.0.0.0")
        sa = SecurityAssociation(ESP, spi=spi, crypt_algo="AES-GCM", crypt_key=bytes.fromhex(key), tunnel_header=header)
    total = ok = 0
    seen = set()
    # ESP that crossed in IPv4 fragments is put back together first, as a receiver would.
    for frame in defragment(rdpcap(pcap)):
        if ESP not in frame or frame[ESP].spi != spi:
            continue
        total += 1
        if frame[ESP].seq in seen:  # one writer per SA: a sequence number (and nonce) goes out once
            print("sequence number %d sent twice" % frame[ESP].seq)
            continue
        seen.add(frame[ESP].seq)
        try:
            inner = sa.decrypt(frame[IPv6] if IPv6 in frame else frame[IP])
        except Exception as exc:  # noqa: BLE001 - report any refusal
            print("refused seq %d: %s" % (frame[ESP].seq, exc))
            continue
        if inner.src in HOSTS and inner.dst in HOSTS:
            ok += 1
        else:
            print("unexpected inner packet %s -> %s" % (inner.src, inner.dst))
    print("decrypted %d of %d ESP packets with SPI %#x" % (ok, total, spi))
    return 0 if total > 0 and ok == total else 1


def replay(pcap, iface, mac):
    for frame in rdpcap(pcap):
        if ESP in frame:
            outer = frame[IPv6] if IPv6 in frame else frame[IP]
            sendp(Ether(dst=mac) / outer, iface=iface, verbose=False)
            return 0
    return 1


def inject(iface, mac):
    # ESP for an SPI no gateway has.
    sendp(Ether(dst=mac) / IP(src="198.51.100.2", dst="198.51.100.1", proto=50) / Raw(b"\x00\x00\xde\xad" + bytes(60)),
          iface=iface, verbose=False)
    # Cleartext from the internet to a protected host: no bypass policy allows it.
    sendp(Ether(dst=mac) / IP(src="198.51.100.2", dst="192.0.2.10") / UDP(sport=1, dport=2) / Raw(b"cleartext"),
          iface=iface, verbose=False)
    return 0


if __name__ == "__main__":
    op = sys.argv[1] if len(sys.argv) > 1 else ""
    if op == "check" and len(sys.argv) in (5, 6):
        sys.exit(check(sys.argv[2], int(sys.argv[3], 0), sys.argv[4], *sys.argv[5:]))
    if op == "replay" and len(sys.argv) == 5:
        sys.exit(replay(sys.argv[2], sys.argv[3], sys.argv[4]))
    if op == "inject" and len(sys.argv) == 4:
        sys.exit(inject(sys.argv[2], sys.argv[3]))
    sys.stderr.write(__doc__)
    sys.exit(2)
