#!/usr/bin/env python3
"""Rollout benchmark on EdgeSim (figures, not thresholds; DESIGN.md §5; issue "Rollout", Speed):

N Rollouts progressing at once, each a canary `setWeight: 50`, an indefinite pause, `setWeight: 100`
and a pause, on N one-replica EdgeModels. For each, from the moment a step's condition is met to the
moment its weight is written, both seen on the same watch connection:

  * candidate pod Ready → Rollout.status.candidateWeight = 50 (the whole path: the EdgeModel
    controller reports the candidate in EdgeModel.status, the Rollout controller acts on it);
  * EdgeModel.status.candidate Ready for weight 50 → Rollout.status.candidateWeight = 50 (the
    Rollout controller alone), while the simulated cluster starts N candidate pods (engine builds
    and all) on the same two cores;
  * `kubectl edgeml resume` (the gate, written to status) → Rollout.status.candidateWeight = 100, for
    N gates written at once: the gate is consumed, the EdgeModel scales for the next step, its
    status reports it, and the Rollout writes the weight (two controllers, three status writes; no
    pod starts).

Prints p50/p99/max of both, the operator's RSS (peak while the rollouts progress), and its CPU.

The simulated nodes' work (kubelets, the engine builds they start) runs at nice 10
(`edgeml sim --node-nice 10`), so that it leaves the simulated API server the share of the cores it
would have with the nodes on machines of their own (docs/edgesim.md, "The nodes' CPU priority");
`--node-nice 0` runs it at the API server's priority, as `edgeml sim` does by default.

`--router gateway-api` routes each rollout through an HTTPRoute of its own (Gateway API v1.6.1
CRDs, the test fixtures): the weights are then written to the HTTPRoute by the Rollout controller in
the reconcile that meets the step's condition, and "weight written" is the HTTPRoute's candidate
backendRef reaching the step's weight, seen on a watch of HTTPRoutes. With the default replica
ratio the weight is the candidate's share of pods, so the resume path also waits for the EdgeModel
controller to scale the candidate and report it.

  python3 scripts/bench-rollout.py [--bin .build-static/release/edgeml] [--rollouts 100] [--router replica-ratio|gateway-api] [--node-nice 10]
"""
import argparse
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "acceptance"))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from onnx_fixture import model as onnx_model  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_edgemodel", os.path.join(ROOT, "scripts", "bench-edgemodel.py"))
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

NS = "/apis/edgeml.io/v1alpha1/namespaces/default"


def rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def watch(addr, token, path, on_event, stop):
    """Streams a watch, calling on_event(type, object, arrival time) for each event."""
    req = urllib.request.Request(addr + path + ("&" if "?" in path else "?") + "watch=true")
    req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=3600) as resp:
        for raw in resp:
            if stop.is_set():
                return
            ev = json.loads(raw)
            on_event(ev["type"], ev["object"], time.perf_counter())


def bench_patch_status(api, path, body):
    """A merge patch of a status subresource, as `kubectl edgeml` writes a gate."""
    req = urllib.request.Request(api.addr + path, data=json.dumps(body).encode(), method="PATCH")
    req.add_header("Authorization", f"Bearer {api.token}")
    req.add_header("Content-Type", "application/merge-patch+json")
    with urllib.request.urlopen(req, timeout=60) as r:
        r.read()


def free_port():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def histogram_summary(text, metric, label):
    """`metric{label}`'s count, mean and the share of observations within 10 and 50 ms, from the
    Prometheus text of a histogram."""
    buckets, total, count = {}, 0.0, 0
    for line in text.splitlines():
        if not line.startswith(metric) or label not in line:
            continue
        name, _, value = line.rpartition(" ")
        if name.startswith(metric + "_bucket"):
            le = re.search(r'le="([^"]+)"', name).group(1)
            buckets[float("inf") if le == "+Inf" else float(le)] = float(value)
        elif name.startswith(metric + "_sum"):
            total = float(value)
        elif name.startswith(metric + "_count"):
            count = int(float(value))
    if not count:
        return f"{metric.removeprefix('edgeml_')}: no observations"
    within = lambda bound: max((v for le, v in buckets.items() if le <= bound), default=0) / count * 100
    return (f"{metric.removeprefix('edgeml_')}: {count} observations, mean {total / count * 1000:.1f} ms, "
            f"{within(0.010):.0f}% ≤ 10 ms, {within(0.050):.0f}% ≤ 50 ms")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, ".build-static", "release", "edgeml"))
    ap.add_argument("--rollouts", type=int, default=100)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--router", choices=("replica-ratio", "gateway-api"), default="replica-ratio")
    ap.add_argument("--node-nice", type=int, default=10,
                    help="nice value of EdgeSim's simulated nodes' work (edgeml sim --node-nice; 0: the same priority as the API server)")
    args = ap.parse_args()
    gateway = args.router == "gateway-api"
    for program in ("edgeml-engine", "trtexec-double"):
        if not os.access(os.path.join(os.path.dirname(args.bin), program), os.X_OK):
            raise SystemExit(f"{program} is not built next to {args.bin}")
    n = args.rollouts
    shm = "/dev/shm"
    d = tempfile.mkdtemp(prefix="edgeml-robench-", dir=shm if os.access(shm, os.W_OK) else None)
    kc = os.path.join(d, "kubeconfig")
    # A node per stable pod and per candidate pod (each asks for the node's one GPU).
    sim = subprocess.Popen([args.bin, "sim", "--insecure-http", "--kubeconfig", kc, "--nodes", f"orin-nx-16gb={2 * n + 10}",
                            "--speed", "0.0005", "--no-pod-metrics", "--node-nice", str(args.node_nice), "--sim-root", os.path.join(d, "sim")],
                           stdout=subprocess.PIPE, stderr=open(os.path.join(d, "sim.log"), "w"), text=True)
    addr = None
    while True:
        line = sim.stdout.readline()
        m = re.match(r"edgeml sim: Kubernetes API at (http://\S+)", line)
        if m:
            addr = m.group(1)
        if line.startswith("try:") or not line:
            break
    api = bench.API(addr, open(kc).read().split("token: ")[1].split()[0])
    op = None
    stop = threading.Event()
    try:
        subprocess.run(["kubectl", "--kubeconfig", kc, "apply", "-f", os.path.join(ROOT, "crds")], check=True, capture_output=True)
        if gateway:
            subprocess.run(["kubectl", "--kubeconfig", kc, "apply", "--server-side", "-f",
                            os.path.join(ROOT, "Tests", "Fixtures", "crds", "gateway-api-v1.6.1")], check=True, capture_output=True)
        api.call("POST", "/api/v1/namespaces/default/persistentvolumeclaims", {
            "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "engines"},
            "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}}}})
        files = {}
        for version in ("1", "2"):
            data = onnx_model(salt="rollout-bench-" + version)
            path = os.path.join(d, f"model-v{version}.onnx")
            open(path, "wb").write(data)
            files[version] = ("file://" + path, "sha256:" + hashlib.sha256(data).hexdigest())
        slim = os.path.join(os.path.dirname(args.bin), "edgeml-operator")
        cmd = [slim] if os.access(slim, os.X_OK) else [args.bin, "operator"]
        metrics_port = free_port()
        op = subprocess.Popen(cmd + ["--kubeconfig", kc, "--metrics-bind-address", f"127.0.0.1:{metrics_port}", "--metrics-secure=false", "--health-port", "0", "--workers", str(args.workers),
                                     "--qps", "3000", "--burst", "3000"],
                              stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "operator.log"), "w"))
        uri, digest = files["1"]
        for i in range(n):
            api.post_keepalive(NS + "/edgemodels", bench.edgemodel(f"m{i:04d}", uri, digest, replicas=1))
            if gateway:
                api.post_keepalive("/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes", {
                    "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": f"m{i:04d}"},
                    "spec": {"parentRefs": [{"name": "edge-gateway"}],
                             "rules": [{"backendRefs": [{"name": f"m{i:04d}", "port": 8000}]}]}})
        ready = set()
        pod_ready, model_met, written = {}, {}, {}

        def on_model(kind, obj, t):
            name, s = obj["metadata"]["name"], obj.get("status", {})
            if s.get("phase") == "Ready" and s.get("currentVersion") == "1":
                ready.add(name)
            c = s.get("candidate") or {}
            engines = c.get("engines") or []
            if (gateway or c.get("weight") == 50) and c.get("readyReplicas", 0) >= max(1, c.get("replicas", 0)) and engines \
                    and all(e.get("state") == "Built" for e in engines):
                model_met.setdefault(name, t)

        def on_pod(kind, obj, t):
            labels = obj["metadata"].get("labels", {})
            if labels.get("edgeml.io/track") == "candidate" and any(
                    c["type"] == "Ready" and c["status"] == "True" for c in obj.get("status", {}).get("conditions", [])):
                pod_ready.setdefault(labels.get("edgeml.io/model"), t)

        paused, written100 = {}, {}

        def on_rollout(kind, obj, t):
            s = obj.get("status", {})
            if s.get("candidateWeight") == 50 and not gateway:
                written.setdefault(obj["spec"]["modelRef"]["name"], t)
            if s.get("candidateWeight") == 50 and s.get("currentStep") == 1 and s.get("phase") == "Paused":
                paused.setdefault(obj["metadata"]["name"], t)
            if s.get("candidateWeight") == 100 and not gateway:
                written100.setdefault(obj["metadata"]["name"], t)

        def on_route(kind, obj, t):
            # The candidate's share of the first rule's weights: model mNNNN belongs to rollout rNNNN.
            model = obj["metadata"]["name"]
            refs = ((obj.get("spec", {}).get("rules") or [{}])[0].get("backendRefs") or [])
            weights = {r.get("name"): r.get("weight", 1) for r in refs}
            total = sum(weights.values())
            share = round(100 * weights.get(model + "-candidate", 0) / total) if total else 0
            if share == 50:
                written.setdefault(model, t)
            if share == 100:
                written100.setdefault("r" + model[1:], t)

        watches = [(NS + "/edgemodels", on_model), ("/api/v1/namespaces/default/pods?labelSelector=edgeml.io%2Ftrack%3Dcandidate", on_pod),
                   (NS + "/rollouts", on_rollout)]
        if gateway:
            watches.append(("/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes", on_route))
        for path, fn in watches:
            threading.Thread(target=watch, args=(addr, api.token, path, fn, stop), daemon=True).start()
        deadline = time.monotonic() + args.timeout
        while len(ready) < n and time.monotonic() < deadline:
            time.sleep(0.2)
        print(f"{len(ready)}/{n} EdgeModels Ready on version 1")
        cpu0 = bench.cpu_seconds(op.pid)[0]
        t0 = time.perf_counter()
        curi, cdigest = files["2"]
        for i in range(n):
            api.post_keepalive(NS + "/rollouts", {
                "apiVersion": "edgeml.io/v1alpha1", "kind": "Rollout", "metadata": {"name": f"r{i:04d}"},
                "spec": {"modelRef": {"name": f"m{i:04d}"}, "candidate": {"model": {"uri": curi, "digest": cdigest, "version": "2"}},
                         "strategy": {"canary": {"steps": [{"setWeight": 50}, {"pause": {}}, {"setWeight": 100}, {"pause": {}}]}},
                         **({"trafficRouting": {"gatewayAPI": {"httpRoute": f"m{i:04d}"}}} if gateway else {})}})
        peak = rss_mib(op.pid)
        while len(written) < n and time.monotonic() < deadline:
            peak = max(peak, rss_mib(op.pid))
            time.sleep(0.1)
        elapsed = time.perf_counter() - t0
        cpu = bench.cpu_seconds(op.pid)[0] - cpu0
        whole = [(written[m] - pod_ready[m]) * 1000 for m in written if m in pod_ready]
        alone = [(written[m] - model_met[m]) * 1000 for m in written if m in model_met]
        print(f"{len(written)}/{n} rollouts at weight 50 in {elapsed:.1f} s (candidate engines built and pods started meanwhile)")
        for label, values in (("candidate pod Ready → weight written", whole), ("EdgeModel reports candidate Ready → weight written", alone)):
            print(f"{label}: p50 {bench.percentile(values, 50):.1f} ms, p99 {bench.percentile(values, 99):.1f} ms, "
                  f"max {max(values) if values else float('nan'):.1f} ms ({len(values)} rollouts)")
        # The gates: every rollout waits at its pause; resume them all at once.
        while len(paused) < n and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)
        gated = {}
        for i in range(n):
            name = f"r{i:04d}"
            gated[name] = time.perf_counter()
            bench_patch_status(api, NS + f"/rollouts/{name}/status", {"status": {"request": {"action": "resume", "requestedBy": "bench"}}})
        while len(written100) < n and time.monotonic() < deadline:
            peak = max(peak, rss_mib(op.pid))
            time.sleep(0.05)
        gate = [(written100[k] - gated[k]) * 1000 for k in written100 if k in gated]
        print(f"router: {args.router}; EdgeSim's nodes at nice {args.node_nice}")
        print(f"kubectl edgeml resume → weight 100 written, {n} gates at once: p50 {bench.percentile(gate, 50):.1f} ms, "
              f"p99 {bench.percentile(gate, 99):.1f} ms, max {max(gate) if gate else float('nan'):.1f} ms ({len(gate)} rollouts)")
        print(f"operator RSS: peak {peak:.1f} MiB while {n} rollouts progressed, {rss_mib(op.pid):.1f} MiB after; CPU {cpu:.2f} s (first step)")
        # Where the operator's time went: the Rollout controller's queue wait and reconcile time,
        # from its own histograms (whole run; bucket bounds, so "≤ 50 ms" is exact only at a bound).
        text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).read().decode()
        for metric, label in (("edgeml_workqueue_queue_duration_seconds", 'name="rollout"'),
                              ("edgeml_reconcile_duration_seconds", 'controller="rollout"')):
            print("rollout controller " + histogram_summary(text, metric, label))
        # The API server's share: how long its answers took, all the operator's controllers together.
        for verb in ("GET", "PATCH", "POST", "PUT"):
            print(f"operator's {verb} requests " + histogram_summary(text, "edgeml_api_request_duration_seconds", f'verb="{verb}"'))
    finally:
        stop.set()
        for p in (op, sim):
            if p:
                p.terminate()
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(d, ignore_errors=True)   # in /dev/shm: memory until removed


if __name__ == "__main__":
    main()
