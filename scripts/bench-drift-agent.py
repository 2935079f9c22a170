#!/usr/bin/env python3
"""Benchmark `edgeml drift-agent`: CPU time per 1,000 observations and summary size per feature per window.

Starts the agent (4 features: 2 numerical, 2 categorical with 8 categories each) on a free loopback
port and posts batches of 100 rows over one keep-alive connection, as a serving path would. The
agent's CPU time is read from /proc/PID/stat (utime + stime) before and after, so the client's own
work is not counted; the figure is CPU-ms per 1,000 observations (one observation = one row of all
4 features, i.e. one inference request). Then, for windows of 1k to 1M rows, the summary a window
holds per feature: a numerical feature's serialized KLL sketch (the base64 of /v1/summaries,
decoded) and a categorical feature's counts (names + 8 bytes each), and the agent's RSS.

Usage: swift build -c release --product edgeml && python3 scripts/bench-drift-agent.py [--bin PATH]
"""
import argparse
import base64
import http.client
import json
import os
import random
import socket
import subprocess
import time

ROWS = 100
FEATURES = ["brightness:numerical", "contrast:numerical", "label:categorical", "weather:categorical"]
CATEGORIES = [f"c{i}" for i in range(8)]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bodies(count, rng):
    out = []
    for _ in range(count):
        out.append(json.dumps({"features": {
            "brightness": [rng.gauss(0.5, 0.1) for _ in range(ROWS)],
            "contrast": [rng.gauss(10, 3) for _ in range(ROWS)],
            "label": [rng.choice(CATEGORIES) for _ in range(ROWS)],
            "weather": [rng.choice(CATEGORIES) for _ in range(ROWS)],
        }}).encode())
    return out


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Agent:
    def __init__(self, binary, window):
        self.port = free_port()
        args = [binary, "drift-agent", "--host", "127.0.0.1", "--port", str(self.port), "--window", window, "--retain", window]
        for f in FEATURES:
            args += ["--feature", f]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                self.conn.request("GET", "/healthz")
                if self.conn.getresponse().read() == b"ok":
                    return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("drift agent did not start")

    def post(self, body):
        self.conn.request("POST", "/v1/observations", body=body, headers={"Content-Type": "application/json"})
        response = self.conn.getresponse()
        response.read()
        if response.status != 202:
            raise SystemExit(f"agent answered {response.status}")

    def summaries(self):
        self.conn.request("GET", "/v1/summaries")
        return json.loads(self.conn.getresponse().read())

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=".build/release/edgeml")
    parser.add_argument("--batches", type=int, default=5000)
    args = parser.parse_args()
    rng = random.Random(7)
    pool = bodies(64, rng)

    agent = Agent(args.bin, "3600s")
    for body in pool[:8]:
        agent.post(body)  # warm up
    before, wall = cpu_seconds(agent.proc.pid), time.perf_counter()
    for i in range(args.batches):
        agent.post(pool[i % len(pool)])
    cpu, wall = cpu_seconds(agent.proc.pid) - before, time.perf_counter() - wall
    rows = args.batches * ROWS
    print(f"drift agent: {rows:,} observations ({len(FEATURES)} features, batches of {ROWS}) over one keep-alive connection")
    print(f"  agent CPU {cpu * 1000 / (rows / 1000):.2f} ms per 1,000 observations "
          f"({cpu:.2f} s CPU, {wall:.2f} s wall, {rows / wall:,.0f} observations/s end to end)")
    agent.stop()

    print("summary size per feature per window (bytes, before base64):")
    print(f"  {'rows in window':>15}  {'numerical (KLL k=400)':>22}  {'categorical (8 categories)':>27}  {'agent RSS MiB':>14}")
    for n in (1_000, 10_000, 100_000, 1_000_000):
        agent = Agent(args.bin, "86400s")
        for i in range(n // ROWS):
            agent.post(pool[i % len(pool)])
        report = agent.summaries()
        sketch = len(base64.b64decode(report["features"]["brightness"]["sketch"]))
        counts = report["features"]["label"]["counts"]
        categorical = sum(len(k.encode()) + 8 for k in counts)
        print(f"  {n:>15,}  {sketch:>22,}  {categorical:>27,}  {rss_mib(agent.proc.pid):>14.1f}")
        agent.stop()


if __name__ == "__main__":
    main()
