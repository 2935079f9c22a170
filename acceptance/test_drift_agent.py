"""The drift agent sidecar on EdgeSim, driven as a person would: pods applied with kubectl, the
real `edgeml drift-agent` running at each pod IP, drift commanded with `edgeml sim drift`, and the
summaries read over HTTP in the DriftSummaryReport format (docs/drift-agent.md)."""
import base64
import http.client
import json
import math
import struct
import subprocess
import time

import pytest

from conftest import EDGEML, Sim, wait_for

POD = """
apiVersion: v1
kind: Pod
metadata: {{name: {name}, labels: {{edgeml.io/model: detector}}}}
spec:
  nodeName: {node}
  volumes: [{{name: models, emptyDir: {{}}}}]
  initContainers:
    - {{name: repo, image: busybox, command: [mkdir, -p, /models/detector/1], volumeMounts: [{{name: models, mountPath: /models}}]}}
    - {{name: engine, image: busybox, command: [cp, /etc/passwd, /models/detector/1/model.plan], volumeMounts: [{{name: models, mountPath: /models}}]}}
  containers:
    - name: triton
      image: nvcr.io/nvidia/tritonserver:24.08-py3-igpu
      args: [tritonserver, --model-repository=/models]
      ports: [{{name: metrics, containerPort: 8002}}]
      volumeMounts: [{{name: models, mountPath: /models}}]
    - name: drift-agent
      image: ghcr.io/edgeml/edgeml:0.1.0
      command: [edgeml, drift-agent, --port, "9470", --host, $(POD_IP), --feature, "brightness:numerical",
                --feature, "label:categorical", --window, 1s]
      env:
        - {{name: POD_IP, valueFrom: {{fieldRef: {{fieldPath: status.podIP}}}}}}
        - {{name: POD_NAME, valueFrom: {{fieldRef: {{fieldPath: metadata.name}}}}}}
      ports: [{{name: drift, containerPort: 9470}}]
      readinessProbe: {{httpGet: {{path: /healthz, port: drift}}, periodSeconds: 1}}
"""


@pytest.fixture(scope="module")
def drift_sim():
    s = Sim("--nodes", "orin-nx-16gb=2", "--speed", "0.05", "--background-rps", "4", edgesim=True)
    yield s
    s.stop()


def summaries(ip, since, until):
    conn = http.client.HTTPConnection(ip, 9470, timeout=10)
    conn.request("GET", f"/v1/summaries?since={int(since)}&until={int(until)}")
    response = conn.getresponse()
    assert response.status == 200
    return json.loads(response.read())


def sketch_median(report):
    """The median of a report's brightness sketch, read from KLLSketch.serialized()'s layout:
    "KLL1", k u32, count u64, min f64, max f64, coin state u64, level count u32, then per level h a
    size u32 and that many f64 values of weight 2^h."""
    raw = base64.b64decode(report["features"]["brightness"]["sketch"])
    assert raw[:4] == b"KLL1"
    _, count, _, _, _, levels = struct.unpack_from("<IQddQI", raw, 4)
    offset, items = 4 + struct.calcsize("<IQddQI"), []
    for h in range(levels):
        (size,) = struct.unpack_from("<I", raw, offset)
        values = struct.unpack_from(f"<{size}d", raw, offset + 4)
        items += [(v, 2 ** h) for v in values]
        offset += 4 + 8 * size
    cumulative = 0
    for value, weight in sorted(items):
        cumulative += weight
        if cumulative >= count / 2:
            return value
    return math.nan


def test_drift_commanded_with_the_cli_moves_one_sites_summaries(drift_sim):
    s = drift_sim
    s.kubectl("label", "node", "orin-nx-16gb-0", "site=a")
    s.kubectl("label", "node", "orin-nx-16gb-1", "site=b")
    for name, node in [("detector-a", "orin-nx-16gb-0"), ("detector-b", "orin-nx-16gb-1")]:
        s.kubectl("apply", "-f", "-", input=POD.format(name=name, node=node))
    s.kubectl("wait", "--for=condition=Ready", "pod/detector-a", "pod/detector-b", "--timeout=90s", timeout=120)
    ips = {name: s.kubectl("get", "pod", name, "-o", "jsonpath={.status.podIP}").stdout for name in ["detector-a", "detector-b"]}

    start = time.time()
    flowing = wait_for(lambda: all(summaries(ip, start - 60, time.time() + 60)["features"]["brightness"]["count"] > 200
                                   for ip in ips.values()), timeout=60)
    assert flowing, "no observations reached the agents"
    report = summaries(ips["detector-a"], start - 60, time.time() + 60)
    assert report["source"] == "detector-a" and report["apiVersion"] == "edgeml.io/drift-summary/v1"

    out = subprocess.run([EDGEML, "sim", "drift", "--model", "detector", "--feature", "brightness", "--shift", "0.5",
                          "--nodes", "site=a", "--kubeconfig", s.kubeconfig], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "drift commanded: detector/brightness on nodes site=a" in out.stdout
    data = json.loads(s.kubectl("get", "configmap", "-n", "kube-system", "edgeml-sim-drift", "-o", "json").stdout)["data"]
    assert [json.loads(v)["shift"] for v in data.values()] == [0.5]

    # Windows are 1 s: what arrives from two seconds on was drawn after the command.
    since = math.ceil(time.time()) + 2
    time.sleep(since + 3 - time.time())
    after = {name: summaries(ip, since, time.time() + 60) for name, ip in ips.items()}
    assert all(r["features"]["brightness"]["count"] > 200 for r in after.values()), after
    assert abs(sketch_median(after["detector-a"]) - 1.0) < 0.05
    assert abs(sketch_median(after["detector-b"]) - 0.5) < 0.05

    # Refused batches are counted per reason in the agent's own metrics.
    conn = http.client.HTTPConnection(ips["detector-b"], 9470, timeout=10)
    conn.request("POST", "/v1/observations", body=b'{"features": {"brightness": ["bright"]}}')
    response = conn.getresponse()
    assert response.status == 400 and "brightness" in json.loads(response.read())["error"]
    conn.request("GET", "/metrics")
    metrics = conn.getresponse().read().decode()
    assert 'edgeml_drift_agent_batches_refused_total{reason="wrong_type"} 1' in metrics
