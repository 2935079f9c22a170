"""The Grafana dashboards in manifests/grafana: generated from the chart's dashboards/*.json by
scripts/dashboard-configmaps.py, and identical to what the chart renders with dashboards.enabled."""
import os
import subprocess
import sys

import yaml

from conftest import ROOT
from test_manifests import CHART, render_chart_without_helm

GRAFANA = os.path.join(ROOT, "manifests", "grafana")


def dashboards(objects):
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == "ConfigMap" and "grafana_dashboard" in o["metadata"].get("labels", {})}


def test_dashboard_configmaps_are_generated_from_the_charts_json():
    r = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "dashboard-configmaps.py"), "--check"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def test_manifests_grafana_equals_the_charts_dashboards():
    r = subprocess.run(["kubectl", "kustomize", GRAFANA], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    ours = dashboards([d for d in yaml.safe_load_all(r.stdout) if d])
    values = yaml.safe_load(open(os.path.join(CHART, "values.yaml")))
    values["dashboards"]["enabled"] = True
    chart = dashboards(render_chart_without_helm(values))
    assert len(os.listdir(os.path.join(CHART, "dashboards"))) == len(chart) == 5
    assert sorted(ours) == sorted(chart)
    for name, obj in chart.items():
        assert ours[name] == obj, f"{name} differs between manifests/grafana and the chart"
        assert obj["metadata"]["labels"]["grafana_dashboard"] == "1"
