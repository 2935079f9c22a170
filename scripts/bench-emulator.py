#!/usr/bin/env python3
"""Benchmarks the emulator over real HTTP on loopback and prints figures (not a test: no thresholds).

  LIST of 10,000 pods (time to the last byte of the response: the first, then the median of 5 more)
  create throughput (pods/s, one keep-alive connection; and 4 connections)
  watch fan-out latency to 10 watchers (p50/p99 from the POST to each watcher's receipt)
  server RSS with 10,000 pods

Run `make bench` (release build) or `python3 scripts/bench-emulator.py [--bin PATH] [--pods N]`.
"""
import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start_sim(binary):
    d = tempfile.mkdtemp(prefix="edgeml-bench-")
    kc = os.path.join(d, "kubeconfig")
    # The bare API server: EdgeSim (on by default) would also act on the benchmark's pods.
    proc = subprocess.Popen([binary, "sim", "--no-edgesim", "--insecure-http", "--kubeconfig", kc, "--history-limit", "50000"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = None
    while True:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("sim did not start")
        m = re.match(r"edgeml sim: Kubernetes API at http://([\d.]+):(\d+)", line)
        if m:
            url = (m.group(1), int(m.group(2)))
        if line.startswith("try:"):
            break
    token = open(kc).read().split("token: ")[1].split()[0]
    return proc, url, token


def pod(name, i):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": "bench", "shard": str(i % 16)},
                         "annotations": {"edgeml.io/model": "detector", "edgeml.io/engine-key": "sha256:" + "ab" * 32}},
            "spec": {"nodeName": f"jetson-{i % 500:03d}",
                     "containers": [{"name": "triton", "image": "nvcr.io/nvidia/tritonserver:24.08-py3-igpu",
                                     "ports": [{"containerPort": 8000}, {"containerPort": 8002}],
                                     "resources": {"limits": {"nvidia.com/gpu": "1"}, "requests": {"cpu": "500m", "memory": "1Gi"}},
                                     "env": [{"name": "MODEL", "value": "detector"}]}]}}


class Client:
    def __init__(self, addr, token):
        self.conn = http.client.HTTPConnection(*addr, timeout=120)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"}

    def request(self, method, path, body=None):
        self.conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=self.headers)
        r = self.conn.getresponse()
        data = r.read()
        if r.status >= 300:
            raise SystemExit(f"{method} {path}: {r.status} {data[:200]}")
        return data


def rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values, p):
    values = sorted(values)
    k = max(0, min(len(values) - 1, int(round(p / 100 * (len(values) - 1)))))
    return values[k]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, ".build-static", "release", "edgeml"))
    ap.add_argument("--pods", type=int, default=10_000)
    args = ap.parse_args()
    proc, addr, token = start_sim(args.bin)
    try:
        print(f"emulator benchmark ({args.bin})")
        print(f"  server RSS, empty cluster: {rss_mib(proc.pid):.1f} MiB")
        c = Client(addr, token)
        n = args.pods
        t0 = time.perf_counter()
        for i in range(n // 2):
            c.request("POST", "/api/v1/namespaces/default/pods", pod(f"p{i:05d}", i))
        single = (n // 2) / (time.perf_counter() - t0)
        # The other half from 4 connections at once.
        def worker(k):
            cc = Client(addr, token)
            for i in range(n // 2 + k, n, 4):
                cc.request("POST", "/api/v1/namespaces/default/pods", pod(f"p{i:05d}", i))
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
        t0 = time.perf_counter()
        for t in threads: t.start()
        for t in threads: t.join()
        parallel = (n - n // 2) / (time.perf_counter() - t0)
        print(f"  create throughput: {single:.0f} pods/s on 1 connection, {parallel:.0f} pods/s on 4 connections")
        rss_created = rss_mib(proc.pid)
        # The server keeps each stored version's JSON, made once for whichever answer serves it first
        # (here each create's answer), so every LIST copies it; the first one is reported apart.
        times, size = [], 0
        for _ in range(6):
            t0 = time.perf_counter()
            body = c.request("GET", "/api/v1/pods")
            times.append(time.perf_counter() - t0)
            size = len(body)
        first, times = times[0], times[1:]
        items = len(json.loads(body)["items"])
        print(f"  LIST of {items} pods: median {statistics.median(times) * 1000:.1f} ms (min {min(times) * 1000:.1f} ms, {size / 1e6:.1f} MB); "
              f"the first: {first * 1000:.1f} ms")
        print(f"  server RSS with {items} pods: {rss_created:.1f} MiB created, {rss_mib(proc.pid):.1f} MiB after the LISTs")

        # Watch fan-out: 10 watchers on configmaps, 200 creates.
        rv = json.loads(c.request("GET", "/api/v1/namespaces/default/configmaps"))["metadata"]["resourceVersion"]
        sent = {}
        latencies = []
        lock = threading.Lock()
        ready = threading.Barrier(11)
        events_wanted = 200

        def watcher():
            conn = http.client.HTTPConnection(*addr, timeout=60)
            conn.request("GET", f"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}",
                         headers={"Authorization": f"Bearer {token}"})
            r = conn.getresponse()
            ready.wait()
            got = 0
            while got < events_wanted:
                line = r.fp.readline()
                if not line:
                    break
                if not line.strip() or line.strip().isalnum() and len(line.strip()) < 8:
                    continue   # chunk-size lines when read raw
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                now = time.perf_counter()
                name = ev["object"]["metadata"]["name"]
                with lock:
                    if name in sent:
                        latencies.append(now - sent[name])
                got += 1
            conn.close()

        ws = [threading.Thread(target=watcher) for _ in range(10)]
        for w in ws: w.start()
        ready.wait()
        for i in range(events_wanted):
            name = f"w{i:04d}"
            with lock:
                sent[name] = time.perf_counter()
            c.request("POST", "/api/v1/namespaces/default/configmaps", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}})
        for w in ws: w.join()
        if latencies:
            print(f"  watch fan-out to 10 watchers ({len(latencies)} deliveries): p50 {percentile(latencies, 50) * 1000:.2f} ms, p99 {percentile(latencies, 99) * 1000:.2f} ms")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
