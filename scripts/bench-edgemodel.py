#!/usr/bin/env python3
"""EdgeModel benchmarks on EdgeSim (figures, not thresholds; DESIGN.md §5):

  * N EdgeModels created at once → all Ready (the real operator; EdgeSim runs every engine init
    container as a real `edgeml-engine` process against the trtexec double);
  * watch event → desired objects written: from an EdgeModel's creation to its Deployment's ADDED
    event on a watch, p50/p99 (includes both watch deliveries and the server-side apply; the
    models ask for 0 replicas so no simulated pod competes for the CPU);
  * engine rebuilds when nothing in the compatibility key changed: every pod replaced after a
    serving-image change (not part of the key) must take its engine from a cache.

  python3 scripts/bench-edgemodel.py [--bin .build-static/release/edgeml] [--models 1000]
"""
import argparse
import concurrent.futures
import hashlib
import http.client
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
from onnx_fixture import model as onnx_model  # noqa: E402

GROUP = "/apis/edgeml.io/v1alpha1/namespaces/default/edgemodels"


class API:
    def __init__(self, addr, token):
        self.addr, self.token = addr, token

    def post_keepalive(self, path, body):
        """POST on this thread's persistent connection (kubectl and client-go keep theirs open)."""
        local = self.__dict__.setdefault("_local", threading.local())
        if getattr(local, "conn", None) is None:
            host, port = self.addr.split("//", 1)[1].rsplit(":", 1)
            local.conn = http.client.HTTPConnection(host, int(port), timeout=120)
        local.conn.request("POST", path, body=json.dumps(body).encode(),
                           headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        r = local.conn.getresponse()
        data = r.read()
        if r.status >= 300:
            raise RuntimeError(f"POST {path}: {r.status} {data[:200]!r}")
        return json.loads(data)

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


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """(own, waited-for children) CPU seconds of a process, from /proc/PID/stat (utime+stime, cutime+cstime)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return ((int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick)


def operator_requests(port):
    """The operator's API requests so far by verb, from its Prometheus metrics."""
    out = {}
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            for line in r.read().decode().splitlines():
                m = re.match(r'edgeml_api_requests_total\{(.*)\} (\S+)', line)
                if m:
                    verb = re.search(r'verb="([^"]*)"', m.group(1)).group(1)
                    out[verb] = out.get(verb, 0) + int(float(m.group(2)))
    except OSError:
        pass
    return out


def operator_command(args, kc, metrics_port):
    """The operator's command line: `edgeml operator`, or a separate edgeml-operator executable. Operators
    built before --metrics-bind-address existed serve plain HTTP on --metrics-port."""
    if not args.operator_bin:
        cmd = [args.bin, "operator"]
    else:
        cmd = [args.operator_bin]
        helptext = subprocess.run(cmd + ["--help"], capture_output=True, text=True).stdout
        if "--metrics-bind-address" not in helptext:
            return cmd + ["--kubeconfig", kc, "--metrics-port", str(metrics_port), "--bind-address", "127.0.0.1", "--health-port", "0"]
    return cmd + ["--kubeconfig", kc, "--metrics-bind-address", f"127.0.0.1:{metrics_port}", "--metrics-secure=false", "--health-port", "0"]


def percentile(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, ".build-static", "release", "edgeml"))
    ap.add_argument("--models", type=int, default=1000)
    ap.add_argument("--latency-samples", type=int, default=200)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, sim root)")
    ap.add_argument("--no-shm", dest="shm", action="store_false", help="keep the sim root in $TMPDIR rather than on /dev/shm")
    # About ten requests per model (two applies, status writes, Events): at client-go's default of
    # 5 QPS a thousand models would wait on the operator's own rate limiter, not on anything measured.
    ap.add_argument("--qps", type=int, default=3000, help="the operator's --qps and --burst")
    ap.add_argument("--workers", type=int, default=4, help="the operator's --workers")
    ap.add_argument("--operator-bin", help="run this edgeml-operator executable instead of `edgeml operator` (to compare an "
                    "earlier operator against the same simulator); one from before the metrics flags changed is detected by its --help")
    args = ap.parse_args()
    # EdgeSim's kubelet runs the init containers with the programs built next to --bin.
    for program in ("edgeml-engine", "trtexec-double"):
        if not os.access(os.path.join(os.path.dirname(args.bin), program), os.X_OK):
            raise SystemExit(f"{program} is not built next to {args.bin} (swift build -c release --static-swift-stdlib "
                             f"--scratch-path .build-static --product {program})")
    # The simulated nodes' disks (a sim root with a directory tree per node and per pod) go on tmpfs
    # when the machine has one: a thousand nodes' disks are one disk here, and on ext4 creating a
    # pod's directories right after another run deleted its tree cost more CPU than the pod's API
    # writes (the inode allocator's recently-deleted check). A real node has its own disk.
    shm = "/dev/shm"
    d = tempfile.mkdtemp(prefix="edgeml-embench-", dir=shm if args.shm and os.access(shm, os.W_OK) else None)
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
        metrics_port = free_port()
        op = subprocess.Popen(operator_command(args, kc, metrics_port) + ["--workers", str(args.workers), "--qps", str(args.qps), "--burst", str(args.qps)],
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

        # 2. Throughput: N EdgeModels created at once → all Ready. Readiness is followed on a watch
        # (relisting a thousand models several times a second would load the server being measured).
        ready_at = {}
        watching = threading.Event()

        def follow_ready():
            req = urllib.request.Request(addr + GROUP + "?watch=true&allowWatchBookmarks=false")
            req.add_header("Authorization", f"Bearer {api.token}")
            with urllib.request.urlopen(req, timeout=args.timeout) as resp:
                watching.set()
                for raw in resp:
                    ev = json.loads(raw)
                    o = ev["object"]
                    name = o["metadata"]["name"]
                    if name.startswith("m") and o.get("status", {}).get("phase") == "Ready":
                        ready_at.setdefault(name, time.perf_counter())
                        if len(ready_at) >= args.models:
                            return
        follower = threading.Thread(target=follow_ready, daemon=True)
        follower.start()
        watching.wait(10)
        requests_before = operator_requests(metrics_port)
        rv_before = int(api.call("GET", "/api/v1/namespaces?limit=1")["metadata"]["resourceVersion"])
        cpu_before = {"sim": cpu_seconds(sim.pid), "op": cpu_seconds(op.pid)}
        client_before = os.times()
        t0 = time.perf_counter()
        # Eight clients, each on one kept-alive connection, as kubectl or a GitOps controller writes.
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: api.post_keepalive(GROUP, edgemodel(f"m{i:04d}", uri, digest)), range(args.models)))
        created = time.perf_counter() - t0
        follower.join(args.timeout)
        ready = len(ready_at)
        times = sorted(t - t0 for t in ready_at.values())
        all_ready = times[-1] if ready == args.models else time.perf_counter() - t0
        time.sleep(1)   # let the last status writes land before counting
        requests = {verb: n - requests_before.get(verb, 0) for verb, n in operator_requests(metrics_port).items()}
        writes = int(api.call("GET", "/api/v1/namespaces?limit=1")["metadata"]["resourceVersion"]) - rv_before
        cpu = {k: tuple(a - b for a, b in zip(v, cpu_before[k])) for k, v in {"sim": cpu_seconds(sim.pid), "op": cpu_seconds(op.pid)}.items()}
        client_after = os.times()
        client_cpu = (client_after.user - client_before.user) + (client_after.system - client_before.system)

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

        print(f"EdgeModel benchmark (release build, EdgeSim, {args.models + 10} simulated Orin NX nodes, real edgeml-engine processes, "
              f"sim root {'on tmpfs' if d.startswith(shm + '/') else 'in ' + os.path.dirname(d)})")
        print(f"  watch event -> Deployment written (create to ADDED on a watch), {len(latencies)} models: "
              f"p50 {percentile(latencies, 50):.1f} ms, p99 {percentile(latencies, 99):.1f} ms")
        print(f"  {args.models} EdgeModels created at once (creates took {created:.1f} s) -> {ready} Ready in {all_ready:.1f} s"
              + (f" (half Ready at {times[len(times) // 2]:.1f} s, 90% at {times[int(len(times) * 0.9)]:.1f} s)" if times else ""))
        print(f"  CPU while they came up: emulator with EdgeSim {cpu['sim'][0]:.1f} s, engine init-container processes "
              f"{cpu['sim'][1]:.1f} s, operator {cpu['op'][0]:.1f} s ({sum(c[0] + c[1] for c in cpu.values()) * 1000 / max(1, args.models):.0f} ms per model); "
              f"this benchmark's own client {client_cpu:.1f} s")
        print(f"  API writes (resourceVersions) while they came up: {writes} ({writes / max(1, args.models):.1f} per model, "
              "node Lease renewals included)")
        total = sum(requests.values())
        print(f"  operator API requests while they came up: {total} ({total / max(1, args.models):.1f} per model: "
              + ", ".join(f"{v} {n}" for v, n in sorted(requests.items())) + ")")
        print(f"  engine rebuilds after a serving-image change (key unchanged), {len(results)} new pods: {rebuilds}")
    finally:
        if op:
            op.terminate()
            op.wait(timeout=15)
        sim.terminate()
        sim.wait(timeout=30)
        # A run leaves a simulated node tree per node and a pod tree per pod: keep it only when asked.
        if args.keep:
            print(f"  logs and sim root kept in {d}")
        else:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
