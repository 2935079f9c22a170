"""The chart's alerts (charts/edgeml-operator/alerts/edgeml-operator.rules.yaml): they load in
Prometheus' own checker, `promtool test rules` shows each one firing and staying quiet
(acceptance/alerts/edgeml-operator.test.yaml), a broken rule fails those tests by name, and the
chart's PrometheusRule applies to the emulator with prometheus-operator's CRD installed (Tests/Fixtures/crds)."""
import os
import shutil
import subprocess

import pytest
import yaml

from conftest import FIXTURES, ROOT
from test_manifests import CHART, render_chart_without_helm

RULES = os.path.join(CHART, "alerts", "edgeml-operator.rules.yaml")
UNIT_TESTS = os.path.join(ROOT, "acceptance", "alerts", "edgeml-operator.test.yaml")
PROMETHEUS_RULE_CRD = os.path.join(FIXTURES, "crds", "prometheus-operator", "monitoring.coreos.com_prometheusrules.yaml")
ALERTS = ["EdgeMLEngineBuildFailing", "EdgeMLRolloutAborted", "EdgeMLDriftDetected", "EdgeMLNodeOverPowerBudget",
          "EdgeMLNoOperatorLeader", "EdgeMLReconcileErrorsRising"]

pytestmark = pytest.mark.skipif(shutil.which("promtool") is None,
                                reason="promtool is not installed (scripts/setup.sh installs Debian's prometheus package)")


def promtool(*args, cwd=None):
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def rules():
    return [r for g in yaml.safe_load(open(RULES))["groups"] for r in g["rules"]]


def test_the_rule_file_holds_the_six_alerts_and_promtool_checks_it():
    assert [r["alert"] for r in rules()] == ALERTS
    r = promtool("check", "rules", RULES)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS: 6 rules found" in r.stdout, r.stdout
    for rule in rules():
        assert rule["labels"]["severity"] in ("info", "warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]


def test_promtool_unit_tests_pass():
    r = promtool("test", "rules", os.path.basename(UNIT_TESTS), cwd=os.path.dirname(UNIT_TESTS))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout


@pytest.mark.parametrize("alert", ALERTS)
def test_each_alert_has_a_case_where_it_fires_and_one_where_it_does_not(alert):
    cases = [c for t in yaml.safe_load(open(UNIT_TESTS))["tests"] for c in t.get("alert_rule_test", []) if c["alertname"] == alert]
    assert any(c["exp_alerts"] for c in cases), f"{alert}: no unit test expects it to fire"
    assert any(not c["exp_alerts"] for c in cases), f"{alert}: no unit test expects it to stay quiet"


@pytest.mark.parametrize("alert,old,new", [
    # The rollout alert watching the wrong phase never fires for the aborted rollout.
    ("EdgeMLRolloutAborted", 'phase="Aborted"', 'phase="Promoted"'),
    # The power alert without the input-rail rule sums the Orin NX's rails past its 15 W budget.
    ("EdgeMLNodeOverPowerBudget", '{rail=~"VDD_IN|POM_5V_IN"}', '{rail="NO_SUCH_RAIL"}'),
])
def test_a_broken_rule_fails_its_unit_tests_by_name(tmp_path, alert, old, new):
    text = open(RULES).read()
    assert old in text
    (tmp_path / "rules.yaml").write_text(text.replace(old, new, 1))
    tests = yaml.safe_load(open(UNIT_TESTS))
    tests["rule_files"] = ["rules.yaml"]
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(tests))
    r = promtool("test", "rules", "test.yaml", cwd=tmp_path)
    assert r.returncode != 0, r.stdout
    assert f"alertname: {alert}" in r.stdout + r.stderr, r.stdout + r.stderr


def chart_rule():
    values = yaml.safe_load(open(os.path.join(CHART, "values.yaml")))
    assert not any(o["kind"] == "PrometheusRule" for o in render_chart_without_helm(values)), "off by default"
    values["prometheusRule"]["enabled"] = True
    [rule] = [o for o in render_chart_without_helm(values) if o["kind"] == "PrometheusRule"]
    return rule


def test_the_chart_carries_the_rule_file_as_its_prometheusrule():
    rule = chart_rule()
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["metadata"]["namespace"] == "edgeml-system"
    assert rule["spec"] == yaml.safe_load(open(RULES))


@pytest.fixture(scope="module")
def monitoring(sim):
    sim.kubectl("apply", "-f", PROMETHEUS_RULE_CRD)
    sim.kubectl("wait", "--for=condition=Established", "crd/prometheusrules.monitoring.coreos.com", "--timeout=20s")
    sim.kubectl("create", "namespace", "edgeml-system", check=False)
    return sim


def test_the_prometheusrule_applies_with_the_crd_and_reads_back_the_same(monitoring):
    rule = chart_rule()
    r = monitoring.kubectl("apply", "-f", "-", input=yaml.safe_dump(rule))
    assert r.stdout.strip() == "prometheusrule.monitoring.coreos.com/edgeml-operator created", r.stdout + r.stderr
    stored = yaml.safe_load(monitoring.kubectl("-n", "edgeml-system", "get", "prometheusrule", "edgeml-operator", "-o", "yaml").stdout)
    assert stored["spec"] == rule["spec"]


def test_the_crd_refuses_a_rule_with_a_malformed_duration(monitoring):
    """The CRD's schema really checks the rules (`for` is a Prometheus duration by pattern), so the
    chart's rule applying above means it is valid, not merely accepted."""
    rule = chart_rule()
    rule["metadata"]["name"] = "broken"
    rule["spec"]["groups"][0]["rules"][0]["for"] = "five minutes"
    r = monitoring.kubectl("apply", "-f", "-", input=yaml.safe_dump(rule), check=False)
    assert r.returncode != 0
    assert 'spec.groups[0].rules[0].for in body should match' in r.stderr, r.stderr
