#!/usr/bin/env python3
"""Operator footprint benchmark (figures, not thresholds): idle RSS on an empty cluster, cold start to
the first reconcile, RSS with 1,000 EdgeModels cached, and API writes while nothing changes.

  python3 scripts/bench-operator.py [--bin .build-static/release/edgeml] [--operator-bin PATH]

The emulator always runs from `--bin` (`edgeml sim`). The operator measured is `--operator-bin`: by
default the slim `edgeml-operator` next to `--bin` when it was built (what the Deployment runs), else
`edgeml operator`. Pass `--operator-bin` the `edgeml` binary itself to measure the all-in-one.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))


def rss_mib(pid):
    """(total, anonymous, file-backed) resident MiB of a process, from /proc/PID/status."""
    fields = {}
    for line in open(f"/proc/{pid}/status"):
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
            fields[key] = int(rest.split()[0]) / 1024
    return fields.get("VmRSS", float("nan")), fields.get("RssAnon", float("nan")), fields.get("RssFile", float("nan"))


def show(rss):
    total, anon, file_backed = rss
    return f"{total:.1f} MiB (anonymous {anon:.1f}, file-backed {file_backed:.1f})"


def free_port():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, ".build-static", "release", "edgeml"))
    ap.add_argument("--operator-bin", help="edgeml-operator, or edgeml to run `edgeml operator` (default: the "
                                           "edgeml-operator beside --bin if it exists, else --bin)")
    ap.add_argument("--models", type=int, default=1000)
    ap.add_argument("--metrics", action="store_true", help="serve /metrics over HTTPS (the manifests' way) while measuring")
    args = ap.parse_args()
    slim = os.path.join(os.path.dirname(args.bin), "edgeml-operator")
    operator_bin = args.operator_bin or (slim if os.path.exists(slim) else args.bin)
    # `edgeml-operator` takes the flags of `edgeml operator` directly.
    operator_cmd = [operator_bin] if os.path.basename(operator_bin).startswith("edgeml-operator") else [operator_bin, "operator"]
    d = tempfile.mkdtemp(prefix="edgeml-opbench-")
    kc = os.path.join(d, "kubeconfig")
    sim = subprocess.Popen([args.bin, "sim", "--no-edgesim", "--insecure-http", "--kubeconfig", kc], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    addr = None
    while True:
        line = sim.stdout.readline()
        m = re.match(r"edgeml sim: Kubernetes API at (http://\S+)", line)
        if m:
            addr = m.group(1)
        if line.startswith("try:") or not line:
            break
    token = open(kc).read().split("token: ")[1].split()[0]

    def call(method, path, body=None, ctype="application/json"):
        req = urllib.request.Request(addr + path, data=json.dumps(body).encode() if body is not None else None, method=method)
        req.add_header("Authorization", f"Bearer {token}")
        req.add_header("Content-Type", ctype)
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())

    def rv():
        return int(call("GET", "/api/v1/namespaces")["metadata"]["resourceVersion"])

    try:
        r = subprocess.run(["kubectl", "--kubeconfig", kc, "apply", "-f", os.path.join(ROOT, "crds")], capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"applying the CRDs failed: {r.stderr}")
        # Cold start: the operator starts with one EdgeModel waiting; time to its status.
        model = lambda n: {"apiVersion": "edgeml.io/v1alpha1", "kind": "EdgeModel", "metadata": {"name": n},
                           "spec": {"model": {"uri": f"oci://registry.example.com/{n}:1"}, "serving": {"image": "triton:1"}}}
        call("POST", "/apis/edgeml.io/v1alpha1/namespaces/default/edgemodels", model("first"))
        t0 = time.perf_counter()
        # As the manifests run it: /metrics over HTTPS with TokenReview (`--metrics-secure` is the
        # default), on a loopback port; or no metrics server at all.
        metrics = ["--metrics-bind-address", f"127.0.0.1:{free_port()}"] if args.metrics else ["--metrics-bind-address", "0"]
        op = subprocess.Popen([*operator_cmd, "--kubeconfig", kc, *metrics, "--health-port", "0"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while "observedGeneration" not in call("GET", "/apis/edgeml.io/v1alpha1/namespaces/default/edgemodels/first").get("status", {}):
            time.sleep(0.005)
        cold = time.perf_counter() - t0
        time.sleep(2)
        idle = rss_mib(op.pid)
        for i in range(args.models):
            call("POST", "/apis/edgeml.io/v1alpha1/namespaces/default/edgemodels", model(f"m{i:04d}"))
        for i in range(500):
            call("POST", "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"jetson-{i:03d}",
                 "labels": {"edgeml.io/jetson.module": "orin-nx-16gb", "edgeml.io/l4t": "36.3.0", "edgeml.io/tensorrt": "10.3.0"}},
                 "status": {"allocatable": {"nvidia.com/gpu": "1", "memory": "16Gi"}}})
        for i in range(5000):
            call("POST", "/api/v1/namespaces/default/pods", {"apiVersion": "v1", "kind": "Pod",
                 # Labelled as the operator's own pods, so its pod informer (which selects on
                 # managed-by) caches all 5,000 of them, as the budget says.
                 "metadata": {"name": f"p{i:05d}", "labels": {"app.kubernetes.io/managed-by": "edgeml-operator",
                                                              "edgeml.io/model": f"m{i % args.models:04d}"}},
                 "spec": {"nodeName": f"jetson-{i % 500:03d}", "containers": [{"name": "triton", "image": "triton:1",
                          "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}})
        deadline = time.time() + 120
        while time.time() < deadline:
            items = call("GET", "/apis/edgeml.io/v1alpha1/namespaces/default/edgemodels")["items"]
            if sum(1 for i in items if "observedGeneration" in i.get("status", {})) == len(items):
                break
            time.sleep(0.5)
        time.sleep(2)
        loaded = rss_mib(op.pid)
        before = rv()
        time.sleep(20)
        writes = rv() - before
        print("operator benchmark (release build, emulator over HTTP)")
        print(f"  operator measured: {' '.join(operator_cmd)}" + (" (metrics over HTTPS, as the manifests run it)" if args.metrics else " (no metrics server)"))
        print(f"  cold start to first reconcile written: {cold * 1000:.0f} ms")
        print(f"  RSS with 1 EdgeModel cached: {show(idle)}")
        print(f"  RSS with {args.models + 1} EdgeModels, 5,000 pods and 500 nodes cached: {show(loaded)}")
        print(f"  API writes in 20 s with nothing changing: {writes}")
        op.terminate()
        op.wait(timeout=10)
    finally:
        sim.terminate()
        sim.wait(timeout=10)


if __name__ == "__main__":
    main()
