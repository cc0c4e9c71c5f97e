#!/usr/bin/python3
"""Moves bytes across the demo topology and checks they arrive intact (stdlib only).

    transfer.py serve tcp|udp ADDRESS PORT SECONDS   # prints "received N bytes sha256 H" then exits
    transfer.py send  tcp|udp ADDRESS PORT BYTES     # prints "sent N bytes sha256 H"

The payload is deterministic (a counter pattern), so both sides can print the same digest.
"""
import hashlib
import socket
import sys
import time


def pattern(n):
    block = bytes(range(256)) * 64
    return (block * (n // len(block) + 1))[:n]


def family(address):
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def serve(proto, address, port, seconds):
    digest = hashlib.sha256()
    total = 0
    if proto == "tcp":
        s = socket.socket(family(address), socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((address, port))
        s.listen(1)
        s.settimeout(seconds)
        conn, _ = s.accept()
        conn.settimeout(seconds)
        while True:
            data = conn.recv(65536)
            if not data:
                break
            digest.update(data)
            total += len(data)
    else:
        s = socket.socket(family(address), socket.SOCK_DGRAM)
        s.bind((address, port))
        s.settimeout(seconds)
        try:
            while True:
                data, _ = s.recvfrom(65536)
                if data == b"END":
                    break
                digest.update(data)
                total += len(data)
        except socket.timeout:
            pass
    print("received %d bytes sha256 %s" % (total, digest.hexdigest()[:16]), flush=True)


def send(proto, address, port, count):
    data = pattern(count)
    if proto == "tcp":
        s = socket.create_connection((address, port), timeout=10)
        s.sendall(data)
        s.close()
    else:
        s = socket.socket(family(address), socket.SOCK_DGRAM)
        for at in range(0, count, 1000):
            s.sendto(data[at:at + 1000], (address, port))
            time.sleep(0.001)  # UDP has no flow control: pace it below what a busy 2-core box drops
        s.sendto(b"END", (address, port))
    print("sent %d bytes sha256 %s" % (count, hashlib.sha256(data).hexdigest()[:16]), flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 6 or sys.argv[1] not in ("serve", "send") or sys.argv[2] not in ("tcp", "udp"):
        sys.stderr.write(__doc__)
        sys.exit(2)
    (serve if sys.argv[1] == "serve" else send)(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
