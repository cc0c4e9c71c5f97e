#!/usr/bin/python3
"""Hostile IKE datagrams for a gateway under test, sent with scapy from the namespace this runs in.

    ike_junk.py TARGET PEER

TARGET is the gateway's address; PEER the address of its real IKE peer, which this also forges
(spoofed sources need raw sockets: run as root). Sent, all to UDP 500:
  - garbage: short datagrams, a header whose length is past the end, a payload whose length is
    past the end, an unknown payload with the critical bit, an unknown exchange type, an
    IKE_AUTH for an IKE SA that does not exist;
  - IKE_SA_INIT from 100 addresses no connection names;
  - 50 well-formed IKE_SA_INIT (AES-GCM-128, HMAC-SHA2-256, ecp256, real public values) forged
    from PEER, with fresh SPIs: the first leaves a half-open IKE SA, the rest must get cookies.
Prints how many datagrams it sent.
"""
import os
import struct
import sys

from cryptography.hazmat.primitives.asymmetric import ec
from scapy.all import IP, UDP, Raw, conf, send

conf.verb = 0


def header(spi_i, spi_r, next_payload, exchange, flags, message_id, length):
    return struct.pack("!QQBBBBII", spi_i, spi_r, next_payload, 0x20, exchange, flags, message_id, length)


def payload(next_payload, body, critical=False):
    return struct.pack("!BBH", next_payload, 0x80 if critical else 0, 4 + len(body)) + body


def transform(last, kind, ident, attributes=b""):
    body = struct.pack("!BxH", kind, ident) + attributes
    return struct.pack("!BxH", 0 if last else 3, 4 + len(body)) + body


def ike_sa_init(spi_i):
    transforms = (transform(False, 1, 20, struct.pack("!HH", 0x800E, 128)) +  # ENCR AES-GCM-16, 128
                  transform(False, 2, 5) +                                    # PRF HMAC-SHA2-256
                  transform(True, 4, 19))                                     # DH ecp256
    proposal = struct.pack("!BxHBBBB", 0, 8 + len(transforms), 1, 1, 0, 3) + transforms
    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    ke = struct.pack("!Hxx", 19) + point.x.to_bytes(32, "big") + point.y.to_bytes(32, "big")
    body = payload(34, proposal) + payload(40, ke) + payload(0, os.urandom(32))  # SA, KE, Nonce
    return header(spi_i, 0, 33, 34, 0x08, 0, 28 + len(body)) + body


def garbage():
    spi = int.from_bytes(os.urandom(8), "big")
    nonce = payload(0, os.urandom(32))
    yield os.urandom(10)                                                    # shorter than a header
    yield header(spi, 0, 40, 34, 0x08, 0, 500) + nonce                      # length past the end
    yield header(spi, 0, 40, 34, 0x08, 0, 28 + 8) + struct.pack("!BBH", 0, 0, 400) + b"abcd"  # payload past the end
    critical = payload(0, b"unknown", critical=True)
    yield header(spi, 0, 200, 34, 0x08, 0, 28 + len(critical)) + critical   # unknown critical payload
    yield header(spi, 0, 40, 99, 0x08, 0, 28 + len(nonce)) + nonce          # unknown exchange type
    sk = payload(35, os.urandom(64))
    yield header(spi, spi + 1, 46, 35, 0x08, 1, 28 + len(sk)) + sk          # IKE_AUTH for no IKE SA


def main():
    target, peer = sys.argv[1], sys.argv[2]
    sent = 0
    for datagram in garbage():
        send(IP(src=peer, dst=target) / UDP(sport=500, dport=500) / Raw(datagram))
        sent += 1
    for i in range(100):
        source = "203.0.113.%d" % (100 + i)
        send(IP(src=source, dst=target) / UDP(sport=500, dport=500) / Raw(ike_sa_init(1000 + i)))
        sent += 1
    for i in range(50):
        send(IP(src=peer, dst=target) / UDP(sport=500, dport=500) / Raw(ike_sa_init(int.from_bytes(os.urandom(8), "big"))))
        sent += 1
    print("sent %d" % sent)


if __name__ == "__main__":
    main()
