"""The chart's Grafana dashboards (charts/edgeml-operator/dashboards/*.json).

Each one is valid against Grafana's dashboard model (acceptance/grafana_model.py: grafana-foundation-sdk's
types), picks its Prometheus with a `datasource` variable, and every PromQL expression in it parses
with `promtool`. Then the whole stack runs on loopback — `edgeml sim` (EdgeSim's Triton pods and their
drift-agent sidecars), the operator, a node agent — with a real `prometheus` scraping all of it, and
every metric name the dashboards and the alert rules use must be exported there: a dashboard that
reads a metric nobody exports fails, naming it. scripts/render-dashboards.py draws each dashboard from
that Prometheus into a PNG.
"""
import copy
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

import pytest
import yaml

from conftest import EDGEML, ROOT, Sim, free_port, terminate, wait_for
from onnx_fixture import model as onnx_model
from test_alerts import RULES
from test_edgemodel_e2e import ENGINE_CACHE_CLAIM
from test_manifests import CHART, render_chart_without_helm

sys.path.insert(0, os.path.join(ROOT, "scripts"))
import dashboard_queries  # noqa: E402



@pytest.fixture(scope="module")
def grafana_model():
    return pytest.importorskip("grafana_model", reason="grafana-foundation-sdk is installed by scripts/setup.sh")


DASHBOARDS = dashboard_queries.dashboard_files()
NAMES = [os.path.basename(p) for p in DASHBOARDS]


def test_the_chart_has_the_five_dashboards():
    assert NAMES == ["edgeml-drift.json", "edgeml-fleet.json", "edgeml-model.json", "edgeml-nodes.json", "edgeml-rollouts.json"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=NAMES)
def test_dashboard_is_valid_against_grafanas_dashboard_model(grafana_model, path):
    assert grafana_model.validate(dashboard_queries.load(path)) == []


def test_the_model_check_names_what_is_wrong_in_a_broken_copy(grafana_model):
    broken = dashboard_queries.load(DASHBOARDS[0])
    broken["panels"][0]["gridpos"] = broken["panels"][0].pop("gridPos")
    broken["graphTooltip"] = 7
    broken["templating"]["list"][1]["type"] = "querry"
    errors = grafana_model.validate(broken)
    assert "$.panels[0].gridpos: not a field of Grafana's dashboard model here" in errors
    assert "$.graph_tooltip: 7 is not one of [0, 1, 2]" in errors
    assert any(e.startswith("$.templating.list_val[1].type_val: 'querry' is not one of") for e in errors), errors


@pytest.mark.parametrize("path", DASHBOARDS, ids=NAMES)
def test_every_panel_reads_the_datasource_variable(path):
    """No data source UID of one Grafana is baked in: every panel and query names `${datasource}`,
    a variable over the Prometheus data sources of whatever Grafana loads the dashboard."""
    dashboard = dashboard_queries.load(path)
    [variable] = [v for v in dashboard["templating"]["list"] if v["name"] == "datasource"]
    assert variable["type"] == "datasource" and variable["query"] == "prometheus"
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            assert variable["datasource"]["uid"] == "${datasource}", variable["name"]


def promtool_parse(queries, tmp_path):
    """`promtool check rules` on a rule file with one recording rule per (where, expr): promtool 2.42
    has no command that parses a bare expression, and a rule's expression is parsed by the same PromQL
    parser (prometheus/promql/parser) as a query. Returns (ok, output)."""
    rules = {"groups": [{"name": "dashboards", "rules": [{"record": f"dashboard:query:{i}", "expr": expr}
                                                         for i, (_, expr) in enumerate(queries)]}]}
    path = tmp_path / "queries.rules.yaml"
    path.write_text(yaml.safe_dump(rules))
    r = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    return r.returncode == 0, r.stdout + r.stderr


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is installed by scripts/setup.sh (Debian's prometheus)")
@pytest.mark.parametrize("path", DASHBOARDS, ids=NAMES)
def test_every_query_parses_with_promtool(path, tmp_path):
    dashboard = dashboard_queries.load(path)
    queries = [(where, dashboard_queries.substitute(expr, dashboard)) for where, expr in dashboard_queries.queries(dashboard)]
    assert len(queries) >= 5
    ok, output = promtool_parse(queries, tmp_path)
    assert ok, output
    assert f"SUCCESS: {len(queries)} rules found" in output


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is installed by scripts/setup.sh (Debian's prometheus)")
def test_a_query_that_does_not_parse_fails_naming_it(tmp_path):
    dashboard = dashboard_queries.load(DASHBOARDS[0])
    queries = [(w, dashboard_queries.substitute(e, dashboard)) for w, e in dashboard_queries.queries(dashboard)]
    queries[2] = (queries[2][0], "sum by (feature (edgeml_drift_p_value)")
    ok, output = promtool_parse(queries, tmp_path)
    assert not ok
    assert "dashboard:query:2" in output or "unexpected" in output, output


def test_the_chart_renders_one_configmap_per_dashboard_for_the_grafana_sidecar():
    values = yaml.safe_load(open(os.path.join(CHART, "values.yaml")))
    assert not [o for o in render_chart_without_helm(values) if o["metadata"]["name"].startswith("edgeml-dashboard-")], "off by default"
    values["dashboards"]["enabled"] = True
    maps = {o["metadata"]["name"]: o for o in render_chart_without_helm(values) if o["metadata"]["name"].startswith("edgeml-dashboard-")}
    assert sorted(maps) == sorted("edgeml-dashboard-" + n[len("edgeml-"):-len(".json")] for n in NAMES)
    for path in DASHBOARDS:
        name = os.path.basename(path)
        cm = maps["edgeml-dashboard-" + name[len("edgeml-"):-len(".json")]]
        assert cm["kind"] == "ConfigMap" and cm["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert json.loads(cm["data"][name]) == dashboard_queries.load(path)


def test_the_chart_podmonitors_label_series_with_their_node_and_apply_with_the_crd(sim):
    """What the node and model dashboards filter on (`node`) comes from the chart's PodMonitors."""
    from conftest import FIXTURES
    values = yaml.safe_load(open(os.path.join(CHART, "values.yaml")))
    assert not [o for o in render_chart_without_helm(values) if o["kind"] == "PodMonitor"], "off by default"
    values["metrics"]["podMonitors"]["enabled"] = True
    monitors = {o["metadata"]["name"]: o for o in render_chart_without_helm(values) if o["kind"] == "PodMonitor"}
    assert sorted(monitors) == ["edgeml-models", "edgeml-node-agent"]
    assert [e["port"] for e in monitors["edgeml-models"]["spec"]["podMetricsEndpoints"]] == ["metrics", "drift"]
    for monitor in monitors.values():
        for endpoint in monitor["spec"]["podMetricsEndpoints"]:
            assert {"sourceLabels": ["__meta_kubernetes_pod_node_name"], "targetLabel": "node"} in endpoint["relabelings"]
    sim.kubectl("apply", "-f", os.path.join(FIXTURES, "crds", "prometheus-operator", "monitoring.coreos.com_podmonitors.yaml"))
    sim.kubectl("wait", "--for=condition=Established", "crd/podmonitors.monitoring.coreos.com", "--timeout=20s")
    for namespace in ("edgeml-system", "edgeml-node-agent"):
        sim.kubectl("create", "namespace", namespace, check=False)
    r = sim.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(monitors.values()))
    assert sorted(r.stdout.split()) == sorted(["podmonitor.monitoring.coreos.com/edgeml-models", "created",
                                               "podmonitor.monitoring.coreos.com/edgeml-node-agent", "created"]), r.stdout + r.stderr


def used_metric_names(dashboards):
    """{metric name: [where it is used]} over the dashboards' queries and the alert rules."""
    used = {}
    for path, dashboard in dashboards:
        for where, expr in dashboard_queries.queries(dashboard):
            for name in dashboard_queries.metric_names(dashboard_queries.substitute(expr, dashboard)):
                used.setdefault(name, []).append(f"{os.path.basename(path)}: {where}")
    for group in yaml.safe_load(open(RULES))["groups"]:
        for rule in group["rules"]:
            for name in dashboard_queries.metric_names(rule["expr"]):
                used.setdefault(name, []).append(f"alert {rule['alert']}")
    return used


def test_metric_names_are_read_from_the_queries():
    names = dashboard_queries.metric_names(
        'histogram_quantile(0.99, sum by (controller, le) (rate(edgeml_reconcile_duration_seconds_bucket{a="b c"}[5m]))) '
        '> on (node) group_left (mode) edgeml_node_power_budget_watts or absent(up) * 1e3')
    assert names == {"edgeml_reconcile_duration_seconds_bucket", "edgeml_node_power_budget_watts", "up"}


# --- the live stack -------------------------------------------------------------------------------

NODES = "orin-nx-16gb=2,agx-orin-64gb=1"
AGENT_NODE = "agx-orin-64gb-0"

EDGEMODEL = """
apiVersion: edgeml.io/v1alpha1
kind: EdgeModel
metadata: {{name: detector}}
spec:
  model: {{uri: "{uri}", digest: "{digest}", version: "1"}}
  engine: {{precision: fp16, cache: {{sharedClaimName: edgeml-engine-cache}}}}
  placement: {{jetson: {{modules: [orin-nx-16gb]}}, replicas: 2}}
  serving: {{image: nvcr.io/nvidia/tritonserver:24.08-py3-igpu}}
"""

POLICY = """
apiVersion: edgeml.io/v1alpha1
kind: DriftPolicy
metadata: {name: detector-drift}
spec:
  modelRef: {name: detector}
  source: {podMetrics: {}}
  reference: {baseline: {window: 10s}}
  features:
  - {name: brightness, type: numerical, test: ks}
  - {name: contrast, type: numerical, test: ks}
  schedule: {interval: 5s, window: 10s, minSamples: 200}
  retraining:
    cooldown: 24h
    jobTemplate:
      spec:
        template:
          spec:
            restartPolicy: Never
            containers: [{name: train, image: busybox, command: ["true"]}]
"""

ROLLOUT = """
apiVersion: edgeml.io/v1alpha1
kind: Rollout
metadata: {{name: {name}}}
spec:
  modelRef: {{name: detector}}
  candidate: {{model: {{uri: "{uri}", digest: "{digest}", version: "2"}}}}
  strategy:
    canary:
      steps:
      - setWeight: 50
      - analysis: {{metrics: [p99-latency]}}
      - pause: {{}}
  analysis:
    interval: 2s
    metrics:
    - name: p99-latency
      provider: {{podMetrics: {{metric: nv_inference_request_summary_us, aggregation: p99}}}}
      successCondition: "result < 1000000"
"""


class Stack:
    """EdgeSim with inference traffic and drift agents, the operator (metrics on loopback, leader
    election on), a node agent on the AGX Orin node, and a Prometheus scraping all of them."""

    def __init__(self):
        self.procs = []
        self.sim = Sim("--nodes", NODES, "--speed", "0.002", "--background-rps", "2", edgesim=True)
        self.dir = self.sim.dir
        self.sim.kubectl("apply", "-f", os.path.join(ROOT, "crds"))
        self.sim.kubectl("wait", "--for=condition=Established", "crd/edgemodels.edgeml.io", "--timeout=20s")
        self.sim.kubectl("apply", "-f", "-", input=ENGINE_CACHE_CLAIM)
        # The operator's /metrics over plain HTTP on loopback (no health port; leader election on,
        # so edgeml_leader_is_leader is exported).
        self.operator_port = free_port()
        self.start("operator", [EDGEML, "operator", "--kubeconfig", self.sim.kubeconfig,
                                "--metrics-bind-address", f"127.0.0.1:{self.operator_port}", "--metrics-secure=false",
                                "--health-port", "0", "--bind-address", "127.0.0.1", "--workers", "2",
                                "--leader-elect", "--lease-namespace", "default"])
        self.agent_port = free_port()
        cache = os.path.join(self.dir, "engine-cache")
        os.makedirs(cache)
        self.start("node-agent", [EDGEML, "node-agent", "--fixture", "agx-orin-64gb-r36.4.3", "--node-name", AGENT_NODE,
                                  "--kubeconfig", self.sim.kubeconfig, "--metrics-port", str(self.agent_port),
                                  "--bind-address", "127.0.0.1", "--cache-dir", cache, "--cache-budget", "1Gi"])
        self.targets = os.path.join(self.dir, "pods.json")
        with open(self.targets, "w") as f:
            f.write("[]")
        self.stop_event = threading.Event()
        threading.Thread(target=self.keep_targets, daemon=True).start()
        self.start_prometheus()

    def start(self, name, command):
        log = open(os.path.join(self.dir, f"{name}.log"), "w")
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append((proc, log))
        return proc

    def start_prometheus(self):
        # As Kubernetes service discovery and the chart's scrape setup label them: the node agent's
        # series carry `node`, the pods' `namespace`, `pod` and `node`.
        with open(os.path.join(self.dir, "prometheus.yml"), "w") as f:
            f.write(f"""global: {{scrape_interval: 1s, evaluation_interval: 1s}}
scrape_configs:
- job_name: edgeml-operator
  static_configs: [{{targets: ["127.0.0.1:{self.operator_port}"]}}]
- job_name: edgeml-node-agent
  static_configs: [{{targets: ["127.0.0.1:{self.agent_port}"], labels: {{node: {AGENT_NODE}}}}}]
- job_name: pods
  file_sd_configs: [{{files: ["{self.targets}"]}}]
""")
        # The port was free when looked at, but another test may take it before Prometheus binds it
        # (PrometheusServerTests.swift's race): then Prometheus exits, and starts on another port.
        for _ in range(5):
            self.port = free_port()
            self.prometheus = self.start("prometheus", [
                "prometheus", f"--config.file={self.dir}/prometheus.yml", f"--storage.tsdb.path={self.dir}/tsdb",
                f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"])
            if wait_for(lambda: self.prometheus.poll() is not None or self.ready(), timeout=60) and self.prometheus.poll() is None:
                return
        raise RuntimeError("prometheus did not start: " + open(os.path.join(self.dir, "prometheus.log")).read())

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def ready(self):
        try:
            return urllib.request.urlopen(self.url + "/-/ready", timeout=2).status == 200
        except OSError:
            return False

    def keep_targets(self):
        """Every pod with an IP: its Triton metrics port (8002) and, with the sidecar, its drift agent (9470)."""
        last = None
        while not self.stop_event.is_set():
            r = self.sim.kubectl("get", "pods", "-A", "-o", "json", check=False)
            if r.returncode == 0:
                groups = []
                for p in json.loads(r.stdout)["items"]:
                    ip = p.get("status", {}).get("podIP")
                    ports = {port["containerPort"] for c in p["spec"]["containers"] for port in c.get("ports", [])}
                    if not ip or not ports & {8002, 9470}:
                        continue
                    groups.append({"targets": [f"{ip}:{port}" for port in sorted(ports & {8002, 9470})],
                                   "labels": {"namespace": p["metadata"]["namespace"], "pod": p["metadata"]["name"],
                                              "node": p["spec"].get("nodeName", "")}})
                text = json.dumps(groups, sort_keys=True)
                if text != last:
                    with open(self.targets + ".tmp", "w") as f:
                        f.write(text)
                    os.replace(self.targets + ".tmp", self.targets)
                    last = text
            time.sleep(0.5)

    def query(self, expr):
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        body = json.loads(urllib.request.urlopen(url, timeout=10).read())
        assert body["status"] == "success", body
        return body["data"]["result"]

    def exported(self, names):
        """The names among `names` that Prometheus holds a series of now."""
        pattern = "|".join(sorted(names))
        return {r["metric"]["__name__"] for r in self.query(f'group by (__name__) ({{__name__=~"{pattern}"}})')}

    def model_file(self, name, salt):
        import hashlib
        data = onnx_model(salt=salt)
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(data)
        return "file://" + path, "sha256:" + hashlib.sha256(data).hexdigest()

    def get(self, *args):
        r = self.sim.kubectl("get", *args, "-o", "json", check=False)
        return json.loads(r.stdout) if r.returncode == 0 else {}

    def logs(self):
        return "\n".join(f"--- {n}\n" + open(os.path.join(self.dir, n)).read()[-3000:]
                         for n in ("operator.log", "node-agent.log", "prometheus.log"))

    def stop(self):
        self.stop_event.set()
        for proc, log in reversed(self.procs):
            terminate(proc)
            log.close()
        self.sim.stop()


@pytest.fixture(scope="module")
def stack():
    if shutil.which("prometheus") is None:
        pytest.skip("prometheus is not installed (scripts/setup.sh installs Debian's package)")
    s = Stack()
    try:
        uri, digest = s.model_file("detector-v1.onnx", "dashboards-1")
        s.sim.kubectl("apply", "-f", "-", input=EDGEMODEL.format(uri=uri, digest=digest))
        assert wait_for(lambda: s.get("edgemodel", "detector").get("status", {}).get("phase") == "Ready", timeout=120), s.logs()
        # Drift first: a DriftPolicy does not evaluate while a Rollout moves its model.
        s.sim.kubectl("apply", "-f", "-", input=POLICY)
        evaluated = lambda: s.get("driftpolicy", "detector-drift").get("status", {}).get("lastEvaluation", {}).get("features")
        assert wait_for(evaluated, timeout=120), json.dumps(s.get("driftpolicy", "detector-drift").get("status"), indent=1)
        uri2, digest2 = s.model_file("detector-v2.onnx", "dashboards-2")
        s.sim.kubectl("apply", "-f", "-", input=ROLLOUT.format(name="detector-v2", uri=uri2, digest=digest2))
        s.rollout = (uri2, digest2)
        yield s
    finally:
        s.stop()


def missing_metrics(stack, dashboards, timeout):
    """{name: [where used]} of the names no scraped target exports, waiting up to `timeout` for
    series that take a while to appear (an analysis measurement, a drift evaluation)."""
    used = used_metric_names(dashboards)
    wait_for(lambda: set(used) <= stack.exported(used), timeout=timeout, interval=1)
    present = stack.exported(used)
    return {name: where for name, where in used.items() if name not in present}


def test_every_metric_the_dashboards_and_alerts_use_is_exported_on_a_live_scrape(stack):
    missing = missing_metrics(stack, [(p, dashboard_queries.load(p)) for p in DASHBOARDS], timeout=120)
    assert missing == {}, "exported by nothing we run:\n" + "\n".join(f"{n}: {w}" for n, w in missing.items()) + "\n" + stack.logs()


def test_a_dashboard_reading_a_metric_nobody_exports_fails_naming_it(stack):
    path = DASHBOARDS[NAMES.index("edgeml-nodes.json")]
    broken = copy.deepcopy(dashboard_queries.load(path))
    broken["panels"][2]["targets"][0]["expr"] = 'edgeml_node_gpu_utilisation_ratio{node=~"$node"}'
    missing = missing_metrics(stack, [(path, broken)], timeout=5)
    assert list(missing) == ["edgeml_node_gpu_utilisation_ratio"]
    assert missing["edgeml_node_gpu_utilisation_ratio"] == ['edgeml-nodes.json: panel 3 "GPU load" target A']


def test_the_operator_series_follow_the_objects(stack):
    """The Rollout's series show its step and weight, and go from the operator's /metrics when the
    Rollout is deleted (kube-state-metrics' way: no aborted rollout lingers on the dashboard)."""
    rollout = lambda: stack.query('edgeml_rollout_phase{rollout="detector-v2"} == 1')
    assert wait_for(lambda: [r["metric"]["phase"] for r in rollout()] in (["Progressing"], ["Paused"]), timeout=60), stack.logs()
    assert wait_for(lambda: stack.query('edgeml_rollout_candidate_weight_ratio{rollout="detector-v2"} == 0.5'), timeout=60)
    assert wait_for(lambda: stack.query('edgeml_rollout_analysis_total{rollout="detector-v2",metric="p99-latency",result="successful"} > 0'),
                    timeout=60), stack.logs()
    # The other results are there at 0 from the first measurement: rate() sees a first failure.
    assert stack.query('edgeml_rollout_analysis_total{rollout="detector-v2",metric="p99-latency",result="failed"} == 0')
    engines = stack.query('edgeml_edgemodel_engine_state{edgemodel="detector",state="Built"} == 1')
    assert [e["metric"]["module"] for e in engines] == ["orin-nx-16gb"]
    stack.sim.kubectl("delete", "rollout", "detector-v2")
    scrape = lambda: urllib.request.urlopen(f"http://127.0.0.1:{stack.operator_port}/metrics", timeout=5).read().decode()
    assert wait_for(lambda: 'rollout="detector-v2"' not in scrape(), timeout=30), scrape()
    assert 'edgeml_edgemodel_info{namespace="default",edgemodel="detector",version="1"} 1.0' in scrape()


def test_render_dashboards_draws_every_dashboard_to_a_png(stack, tmp_path):
    out = tmp_path / "png"
    r = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "render-dashboards.py"), "--prometheus", stack.url,
                        "--out", str(out), "--range", "5m"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    for name in NAMES:
        png = out / name.replace(".json", ".png")
        assert png.exists() and png.stat().st_size > 10_000, f"{png}: {r.stdout}"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "error:" not in r.stdout, r.stdout


def test_render_dashboards_says_when_prometheus_does_not_answer(tmp_path):
    r = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "render-dashboards.py"), "--prometheus",
                        f"http://127.0.0.1:{free_port()}", "--out", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "does not answer" in r.stderr
