#!/usr/bin/env python3
"""EdgeModel benchmarks on EdgeSim (figures, not thresholds; DESIGN.md §5):

  * N EdgeModels created at once → all Ready (the real operator; EdgeSim runs every engine init
    container as a real `edgeml engine` process against the trtexec double);
  * watch event → desired objects written: from an EdgeModel's creation to its Deployment's ADDED
    event on a watch, p50/p99 (includes both watch deliveries and the server-side apply; the
    models ask for 0 replicas so no simulated pod competes for the CPU);
  * engine rebuilds when nothing in the compatibility key changed: every pod replaced after a
    serving-image change (not part of the key) must take its engine from a cache.

  python3 scripts/bench-edgemodel.py [--bin .build-release/release/edgeml] [--models 1000]
"""
import argparse
import concurrent.futures
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "acceptance"))
from onnx_fixture import model as onnx_model  # noqa: E402

GROUP = "/apis/edgeml.io/v1alpha1/namespaces/default/edgemodels"


class API:
    def __init__(self, addr, token):
        self.addr, self.token = addr, token

    def call(self, method, path, body=None, ctype="application/json"):
        req = urllib.request.Request(self.addr + path, data=json.dumps(body).encode() if body is not None else None, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        req.add_header("Content-Type", ctype)
        with urllib.request.urlopen(req, timeout=120) as r:
            return json.loads(r.read())


def edgemodel(name, uri, digest, image="nvcr.io/nvidia/tritonserver:24.08-py3-igpu", replicas=1):
    return {"apiVersion": "edgeml.io/v1alpha1", "kind": "EdgeModel", "metadata": {"name": name},
            "spec": {"model": {"uri": uri, "digest": digest, "version": "1"},
                     "engine": {"cache": {"sharedClaimName": "engines"}},
                     "placement": {"jetson": {"modules": ["orin-nx-16gb"]}, "replicas": replicas},
                     "serving": {"image": image}}}


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, ".build-release", "release", "edgeml"))
    ap.add_argument("--models", type=int, default=1000)
    ap.add_argument("--latency-samples", type=int, default=200)
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args()
    d = tempfile.mkdtemp(prefix="edgeml-embench-")
    kc = os.path.join(d, "kubeconfig")
    # Enough Orin NX nodes for one pod each (every pod asks for the node's one nvidia.com/gpu).
    nodes = f"orin-nx-16gb={args.models + 10}"
    sim = subprocess.Popen([args.bin, "sim", "--insecure-http", "--kubeconfig", kc, "--nodes", nodes, "--speed", "0.0005",
                            "--no-pod-metrics", "--sim-root", os.path.join(d, "sim")],
                           stdout=subprocess.PIPE, stderr=open(os.path.join(d, "sim.log"), "w"), text=True)
    addr = None
    while True:
        line = sim.stdout.readline()
        m = re.match(r"edgeml sim: Kubernetes API at (http://\S+)", line)
        if m:
            addr = m.group(1)
        if line.startswith("try:") or not line:
            break
    api = API(addr, open(kc).read().split("token: ")[1].split()[0])
    op = None
    try:
        r = subprocess.run(["kubectl", "--kubeconfig", kc, "apply", "-f", os.path.join(ROOT, "crds")], capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"applying the CRDs failed: {r.stderr}")
        api.call("POST", "/api/v1/namespaces/default/persistentvolumeclaims", {
            "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "engines"},
            "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}}}})
        data = onnx_model(salt="bench")
        path = os.path.join(d, "model.onnx")
        open(path, "wb").write(data)
        uri, digest = "file://" + path, "sha256:" + hashlib.sha256(data).hexdigest()
        op = subprocess.Popen([args.bin, "operator", "--kubeconfig", kc, "--metrics-port", "0", "--health-port", "0",
                               "--workers", "4", "--qps", "500", "--burst", "1000"],
                              stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "operator.log"), "w"))
        time.sleep(1.5)

        # 1. Latency: EdgeModel created → its Deployment ADDED on a watch.
        seen = {}
        stop = threading.Event()

        def watch():
            req = urllib.request.Request(addr + "/apis/apps/v1/namespaces/default/deployments?watch=true")
            req.add_header("Authorization", f"Bearer {api.token}")
            with urllib.request.urlopen(req, timeout=600) as resp:
                for raw in resp:
                    if stop.is_set():
                        return
                    ev = json.loads(raw)
                    if ev["type"] == "ADDED":
                        model = ev["object"]["metadata"].get("labels", {}).get("edgeml.io/model", "")
                        seen.setdefault(model, time.perf_counter())
        t = threading.Thread(target=watch, daemon=True)
        t.start()
        time.sleep(0.5)
        latencies = []
        for i in range(args.latency_samples):
            name = f"lat{i:04d}"
            t0 = time.perf_counter()
            # No replicas: the Deployment is still planned and written, but no pod starts, so the
            # figure is the operator's and the API server's, not the simulated kubelets' CPU.
            api.call("POST", GROUP, edgemodel(name, uri, digest, replicas=0))
            while name not in seen:
                time.sleep(0.0005)
            latencies.append((seen[name] - t0) * 1000)
        stop.set()
        for i in range(args.latency_samples):
            api.call("DELETE", f"{GROUP}/lat{i:04d}")
        time.sleep(3)

        # 2. Throughput: N EdgeModels created at once → all Ready.
        t0 = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: api.call("POST", GROUP, edgemodel(f"m{i:04d}", uri, digest)), range(args.models)))
        created = time.perf_counter() - t0
        ready = 0
        deadline = time.time() + args.timeout
        while time.time() < deadline:
            items = [i for i in api.call("GET", GROUP)["items"] if i["metadata"]["name"].startswith("m")]
            ready = sum(1 for i in items if i.get("status", {}).get("phase") == "Ready")
            if ready == args.models:
                break
            time.sleep(0.2)
        all_ready = time.perf_counter() - t0

        # 3. Rebuilds with an unchanged key: a new serving image replaces every pod.
        pods_before = {p["metadata"]["name"] for p in api.call("GET", "/api/v1/namespaces/default/pods")["items"]}
        sample = [f"m{i:04d}" for i in range(min(50, args.models))]
        for name in sample:
            api.call("PATCH", f"{GROUP}/{name}", {"spec": {"serving": {"image": "nvcr.io/nvidia/tritonserver:24.09-py3-igpu"}}},
                     ctype="application/merge-patch+json")
        results = []
        deadline = time.time() + 120
        while time.time() < deadline:
            pods = [p for p in api.call("GET", "/api/v1/namespaces/default/pods?labelSelector=edgeml.io/model")["items"]
                    if p["metadata"]["name"] not in pods_before and p["metadata"]["labels"].get("edgeml.io/model") in sample]
            results = []
            for p in pods:
                for c in p.get("status", {}).get("initContainerStatuses", []):
                    msg = c.get("state", {}).get("terminated", {}).get("message")
                    if msg:
                        results.append(json.loads(msg))
            if len(results) >= len(sample):
                break
            time.sleep(0.5)
        rebuilds = sum(1 for r in results if not r.get("cacheHit"))

        print(f"EdgeModel benchmark (release build, EdgeSim, {args.models + 10} simulated Orin NX nodes, real edgeml engine processes)")
        print(f"  watch event -> Deployment written (create to ADDED on a watch), {len(latencies)} models: "
              f"p50 {percentile(latencies, 50):.1f} ms, p99 {percentile(latencies, 99):.1f} ms")
        print(f"  {args.models} EdgeModels created at once (creates took {created:.1f} s) -> {ready} Ready in {all_ready:.1f} s")
        print(f"  engine rebuilds after a serving-image change (key unchanged), {len(results)} new pods: {rebuilds}")
    finally:
        if op:
            op.terminate()
            op.wait(timeout=15)
        sim.terminate()
        sim.wait(timeout=30)


if __name__ == "__main__":
    main()
