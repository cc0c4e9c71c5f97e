#!/usr/bin/python3
"""The pcap golden test's inputs and checks (scapy). rampartd runs gateway 1 of the site-to-site
example on net_pcap ports: inside_in.pcap and outside_in.pcap in, inside_out.pcap and
outside_out.pcap out.

    pcap_golden.py make DIR                    # writes DIR/inside_in.pcap, DIR/outside_in.pcap
    pcap_golden.py check DIR GOLDEN [--update]  # checks DIR/*_out.pcap, then compares with GOLDEN/*.hex

One of the peer's ESP packets arrives in IP fragments (scapy's), for the gateway to reassemble.
check decrypts what gateway 1 sent with the peer's key and compares every packet with what went
in (one hop less), then compares the exact bytes with the golden files (--update rewrites them);
the IV start is random, so ESP is compared exactly with what scapy seals under the same IV, and
its golden file holds the headers and the decrypted inner packets.
"""
import logging
import os
import sys

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import ICMP, IP, UDP, Ether, Raw, fragment, rdpcap, wrpcap  # noqa: E402
from scapy.layers.ipsec import ESP, SecurityAssociation  # noqa: E402

KEY_1TO2 = bytes.fromhex("000102030405060708090a0b0c0d0e0fcafebabe")
KEY_2TO1 = bytes.fromhex("202122232425262728292a2b2c2d2e2fdeadbeef")
HOST_MAC = "02:00:00:00:00:10"
PEER_MAC = "02:00:00:00:00:02"
SIZES = (1, 100, 1000, 1372)
FRAGMENTED = 1300  # the inner size of the ESP packet that arrives in fragments


def inner_to_b(i, size):
    return IP(src="192.0.2.10", dst="203.0.113.10", id=100 + i, ttl=64) / UDP(sport=1000 + i, dport=2000) / \
        Raw(bytes((i + k) % 256 for k in range(size)))


def inner_to_a(i, size):
    return IP(src="203.0.113.10", dst="192.0.2.10", id=200 + i, ttl=64) / UDP(sport=2000, dport=1000 + i) / \
        Raw(bytes((3 * i + k) % 256 for k in range(size)))


def one_hop(pkt):
    p = IP(bytes(pkt))
    p.ttl -= 1
    del p.chksum
    return IP(bytes(p))


def make(d):
    inside = [Ether(src=HOST_MAC, dst="02:00:00:00:00:01") / inner_to_b(i, s) for i, s in enumerate(SIZES)]
    inside.append(Ether(src=HOST_MAC) / IP(src="192.0.2.10", dst="192.0.2.1") / ICMP(id=7, seq=1) / Raw(b"golden"))
    inside.append(Ether(src=HOST_MAC) / IP(src="192.0.2.10", dst="233.252.0.1") / UDP() / Raw(b"no policy"))
    peer = SecurityAssociation(ESP, spi=0x2001, crypt_algo="AES-GCM", crypt_key=KEY_2TO1,
                               tunnel_header=IP(src="198.51.100.2", dst="198.51.100.1", ttl=64))
    outside = []
    for i, s in enumerate(SIZES):
        esp = peer.encrypt(inner_to_a(i, s), seq_num=i + 1, iv=(i + 1).to_bytes(8, "big"))
        outside.append(Ether(src=PEER_MAC) / IP(bytes(esp)))
    # ESP that crossed a smaller MTU on the way, split by scapy into pieces of 512 bytes, last first.
    esp = peer.encrypt(inner_to_a(len(SIZES), FRAGMENTED), seq_num=len(SIZES) + 1, iv=(len(SIZES) + 1).to_bytes(8, "big"))
    for piece in reversed(fragment(IP(bytes(esp)), fragsize=512)):
        outside.append(Ether(src=PEER_MAC) / piece)
    outside.append(Ether(src=PEER_MAC) / IP(src="198.51.100.2", dst="198.51.100.1", proto=50) /
                   Raw(b"\x00\x00\xde\xad" + bytes(60)))                      # unknown SPI
    outside.append(Ether(src=PEER_MAC) / IP(src="198.51.100.2", dst="192.0.2.10") / UDP() / Raw(b"clear"))
    wrpcap(os.path.join(d, "inside_in.pcap"), inside)
    wrpcap(os.path.join(d, "outside_in.pcap"), outside)
    return 0


def check(d, golden, update):
    errors = []
    sent = rdpcap(os.path.join(d, "outside_out.pcap"))
    received = rdpcap(os.path.join(d, "inside_out.pcap"))
    # The exact bytes, taken now: scapy's decrypt below changes the packets it is given.
    texts = {"inside_out": "".join(bytes(f).hex() + "\n" for f in received), "outside_out": ""}
    sent_bytes = [bytes(f) for f in sent]
    peer = SecurityAssociation(ESP, spi=0x1001, crypt_algo="AES-GCM", crypt_key=KEY_1TO2,
                               tunnel_header=IP(src="198.51.100.1", dst="198.51.100.2"))
    if len(sent) != len(SIZES):
        errors.append("outside: %d packets out, expected %d" % (len(sent), len(SIZES)))
    ivs = []
    for i, frame in enumerate(sent[:len(SIZES)]):
        if frame[Ether].dst != PEER_MAC or ESP not in frame:
            errors.append("outside %d: not ESP to the peer's MAC" % i)
            continue
        seq, iv = frame[ESP].seq, sent_bytes[i][14 + 28:14 + 36]
        inner = peer.decrypt(frame[IP])
        if bytes(inner) != bytes(one_hop(inner_to_b(i, SIZES[i]))):
            errors.append("outside %d: decrypts to something other than what went in" % i)
        # Each install draws a random IV start (RFC 4106: never the same nonce under one key), so
        # the encrypted part differs between runs. Exact all the same: scapy seals the same inner
        # packet with the same sequence number and IV into the very bytes rampartd sent.
        resealed = peer.encrypt(IP(bytes(one_hop(inner_to_b(i, SIZES[i])))), seq_num=seq, iv=iv)
        if bytes(resealed[ESP]) != sent_bytes[i][14 + 20:]:
            errors.append("outside %d: ESP differs from what scapy seals with its sequence number and IV" % i)
        ivs.append(int.from_bytes(iv, "big"))
        # The golden file keeps what does not depend on the IV: Ethernet, outer IP, SPI and
        # sequence number, and the decrypted inner packet.
        texts["outside_out"] += sent_bytes[i][:14 + 28].hex() + " " + bytes(inner).hex() + "\n"
    if any(b != (a + 1) % 2**64 for a, b in zip(ivs, ivs[1:])):
        errors.append("outside: IVs do not follow the sequence numbers: %s" % [hex(v) for v in ivs])
    expected = [None] + [one_hop(inner_to_a(i, s)) for i, s in enumerate(SIZES)]  # echo reply first
    expected.append(one_hop(inner_to_a(len(SIZES), FRAGMENTED)))  # put back together, then opened
    if len(received) != len(expected):
        errors.append("inside: %d packets out, expected %d" % (len(received), len(expected)))
    else:
        if ICMP not in received[0] or received[0][ICMP].type != 0:
            errors.append("inside 0: not the echo reply")
        for i in range(1, len(expected)):
            if bytes(received[i][IP]) != bytes(expected[i]) or received[i][Ether].dst != HOST_MAC:
                errors.append("inside %d: not the decrypted packet" % i)
    for name, text in texts.items():
        path = os.path.join(golden, name + ".hex")
        if update:
            with open(path, "w") as f:
                f.write(text)
        elif not os.path.exists(path) or open(path).read() != text:
            errors.append("%s differs from %s" % (name, path))
    for e in errors:
        print("FAIL: " + e)
    print("pcap golden: %s" % ("all checks passed" if not errors else "%d failure(s)" % len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "make":
        sys.exit(make(sys.argv[2]))
    if len(sys.argv) in (4, 5) and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2], sys.argv[3], sys.argv[4:] == ["--update"]))
    sys.stderr.write(__doc__)
    sys.exit(2)
