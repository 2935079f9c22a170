"""The PromQL of the chart's Grafana dashboards (charts/edgeml-operator/dashboards/*.json): every
panel query and variable query, Grafana's variables replaced so Prometheus itself can run them, and the
metric names each one reads.

Shared by scripts/render-dashboards.py and acceptance/test_dashboards.py.
"""
import glob
import json
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DASHBOARDS = os.path.join(ROOT, "charts", "edgeml-operator", "dashboards")


def dashboard_files():
    return sorted(glob.glob(os.path.join(DASHBOARDS, "*.json")))


def queries(dashboard):
    """(where, expr) of every query in a dashboard: panel targets, then the inner selector of each
    query variable's `label_values(SELECTOR, LABEL)` (Grafana's Prometheus variable syntax)."""
    out = []
    for panel in dashboard.get("panels", []):
        for target in panel.get("targets", []):
            if target.get("expr"):
                out.append((f"panel {panel.get('id')} \"{panel.get('title')}\" target {target.get('refId')}", target["expr"]))
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        query = variable["query"]["query"] if isinstance(variable.get("query"), dict) else variable.get("query", "")
        m = re.fullmatch(r"\s*label_values\((.+),\s*(\w+)\)\s*", query)
        out.append((f"variable ${variable['name']}", m.group(1) if m else query))
    return out


def grafana_variables(dashboard):
    return [v["name"] for v in dashboard.get("templating", {}).get("list", [])]


def substitute(expr, dashboard, rate_interval="1m", time_range="1h"):
    """The expression as Prometheus can run it: Grafana's global variables by durations (its
    `$__rate_interval` is at least four scrape intervals, grafana.com/docs/grafana/latest/datasources/
    prometheus/template-variables/), and the dashboard's own (all multi-value, used as `=~"$v"`) by
    `.*`, which is what Grafana sends for "All" with `allValue: .*`."""
    expr = expr.replace("$__rate_interval", rate_interval).replace("$__interval", rate_interval).replace("$__range", time_range)
    for name in sorted(grafana_variables(dashboard), key=len, reverse=True):
        expr = expr.replace("${" + name + "}", ".*").replace("$" + name, ".*")
    return expr


# PromQL words that are not metric names (prometheus/promql/parser/lex.go: key, aggregators, keywords).
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "offset", "bool",
             "atan2", "inf", "nan", "start", "end"}


def metric_names(expr):
    """The metric names an expression reads: identifiers that are not functions, keywords or
    label names (inside `{}` matchers or the label lists of by/without/on/ignoring/group_*)."""
    text = re.sub(r'"(\\.|[^"\\])*"|\'(\\.|[^\'\\])*\'', '""', expr)            # string literals
    names = set()
    text = re.sub(r"\{[^}]*\}", " ", text)                                     # label matchers
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)                                    # range and subquery durations
    for m in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text):
        word, rest = m.group(0), text[m.end():]
        if word in _KEYWORDS or re.match(r"\s*\(", rest):
            continue
        if re.fullmatch(r"\d+[smhdwy]", word) or (m.start() > 0 and text[m.start() - 1].isdigit()):
            continue
        names.add(word)
    return names


def load(path):
    with open(path) as f:
        return json.load(f)
