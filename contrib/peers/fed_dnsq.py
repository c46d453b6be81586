#!/usr/bin/env python3
"""A minimal DNS client (stdlib only) for contrib/peers/federation.sh: asks one server one
question over UDP and prints the answers, one a line, so the harness can wait until the test
DNS server (dnsmasq) serves a record it was just given.

  fed_dnsq.py SERVER NAME A|SRV [TIMEOUT]
      A:   one IPv4 address a line
      SRV: "PRIORITY WEIGHT PORT TARGET" a line
  Exit status: 0 with at least one answer, 1 for an answer without any (NXDOMAIN, NODATA,
  REFUSED), 3 for no answer at all (nothing listening, timeout).
"""
import os
import socket
import struct
import sys

TYPES = {"A": 1, "SRV": 33}


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\0"


def read_name(msg, pos):
    labels, jumped, end = [], False, pos
    while True:
        n = msg[pos]
        if n & 0xC0 == 0xC0:  # compression pointer
            if not jumped:
                end = pos + 2
            pos = ((n & 0x3F) << 8) | msg[pos + 1]
            jumped = True
            continue
        if n == 0:
            if not jumped:
                end = pos + 1
            return ".".join(labels), end
        labels.append(msg[pos + 1:pos + 1 + n].decode("ascii"))
        pos += 1 + n


def query(server, name, qtype, timeout):
    qid = struct.unpack("!H", os.urandom(2))[0]
    packet = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + encode_name(name) + \
        struct.pack("!HH", TYPES[qtype], 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(packet, (server, 53))
        while True:
            msg, _ = s.recvfrom(4096)
            if struct.unpack("!H", msg[:2])[0] == qid:
                break
    _, flags, qd, an, _, _ = struct.unpack("!HHHHHH", msg[:12])
    if flags & 0xF:  # rcode
        return []
    pos = 12
    for _ in range(qd):
        _, pos = read_name(msg, pos)
        pos += 4
    answers = []
    for _ in range(an):
        _, pos = read_name(msg, pos)
        rtype, _, _, rdlen = struct.unpack("!HHIH", msg[pos:pos + 10])
        pos += 10
        rdata = msg[pos:pos + rdlen]
        if rtype == 1 and qtype == "A":
            answers.append(socket.inet_ntoa(rdata))
        elif rtype == 33 and qtype == "SRV":
            prio, weight, port = struct.unpack("!HHH", rdata[:6])
            target, _ = read_name(msg, pos + 6)
            answers.append("%d %d %d %s" % (prio, weight, port, target))
        pos += rdlen
    return answers


def main(argv):
    if len(argv) not in (4, 5) or argv[3] not in TYPES:
        sys.stderr.write(__doc__)
        return 2
    try:
        answers = query(argv[1], argv[2], argv[3], float(argv[4]) if len(argv) == 5 else 1.0)
    except (OSError, socket.timeout):
        return 3
    for a in answers:
        print(a)
    return 0 if answers else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
