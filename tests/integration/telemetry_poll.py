#!/usr/bin/python3
"""Polls a running rampartd for SECONDS: DPDK's telemetry through Debian's own client
(dpdk-telemetry.py, driven over a pipe), and the Prometheus listener over HTTP, while the test
adds and removes SAs beside it. Every answer must be whole: a walk of /rampart/sa/list's pages
finds each of the STATIC SAs (named sa-00000 ...) exactly once, /rampart/sa/info answers for
one of them, /rampart/counters has every counter, /metrics ends with its last series.
Usage: telemetry_poll.py FILE_PREFIX METRICS_PORT STATIC SECONDS
Prints "walks=N metrics=N requests=N" and exits non-zero on the first incomplete answer."""
import json
import os
import subprocess
import sys
import time
import urllib.request

prefix, metrics_port, static, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
client = subprocess.Popen(["/usr/bin/python3", "/usr/bin/dpdk-telemetry.py", "-f", prefix],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
                          env=dict(os.environ, PYTHONUNBUFFERED="1"))
requests = 0


def ask(command):
    global requests
    client.stdin.write(command + "\n")
    client.stdin.flush()
    line = client.stdout.readline()
    if not line:
        sys.exit(f"dpdk-telemetry.py ended at {command}")
    requests += 1
    answer = json.loads(line)
    if command.split(",")[0] not in answer:
        sys.exit(f"{command}: answered {line.strip()[:200]}")
    value = answer[command.split(",")[0]]
    if value is None:
        sys.exit(f"{command}: an error: {line.strip()[:200]}")
    return value


def walk():
    names, start = [], 0
    while True:
        page = ask(f"/rampart/sa/list,{start}")
        if page["start"] != start or not isinstance(page["sas"], list):
            sys.exit(f"page at {start}: {page}")
        names += page["sas"]
        if "next" not in page:
            if start + len(page["sas"]) != page["total"]:
                sys.exit(f"the last page ends at {start + len(page['sas'])}, the total is {page['total']}")
            return names
        if page["next"] != start + len(page["sas"]) or not page["sas"]:
            sys.exit(f"page at {start}: next {page['next']} after {len(page['sas'])} names")
        start = page["next"]


want = [f"sa-{i:05d}" for i in range(static)]
walks = scrapes = 0
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    names = walk()
    ours = [n for n in names if n.startswith("sa-")]
    if ours != want:
        missing = sorted(set(want) - set(ours))[:5]
        sys.exit(f"walk {walks}: {len(ours)} of {static} static SAs (missing {missing})")
    walks += 1
    info = ask(f"/rampart/sa/info,sa-{walks % static:05d}")
    if info.get("name") != f"sa-{walks % static:05d}" or "packets" not in info or info.get("direction") != "outbound":
        sys.exit(f"info: {info}")
    counters = ask("/rampart/counters")
    if "rx_packets" not in counters or "drop_no_sa" not in counters:
        sys.exit(f"counters: {sorted(counters)[:10]}")
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=30) as r:
        body = r.read().decode()
    if f'name="sa-{static - 1:05d}"' not in body or not body.endswith("\n"):
        sys.exit(f"metrics: {len(body)} bytes, incomplete")
    scrapes += 1
client.stdin.close()
client.wait(timeout=10)
print(f"walks={walks} metrics={scrapes} requests={requests}")
