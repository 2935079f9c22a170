#!/usr/bin/env python3
"""Renders each Grafana dashboard of the chart (charts/edgeml-operator/dashboards/*.json) from a
running Prometheus into one PNG, so a reviewer can see the panels without a Grafana server.

Each panel is drawn where its gridPos puts it (Grafana's 24-column grid): a time series panel as
lines (its query_range over --range), a stat as its last value, a table as rows of labels and
values; legends follow the targets' legendFormat. Grafana's variables are replaced as
dashboard_queries.substitute says ("All" for the dashboard's own).

    python3 scripts/render-dashboards.py --prometheus http://127.0.0.1:9090 --out build/dashboards

Exit codes: 0 rendered, 1 a dashboard could not be drawn, 2 bad arguments or Prometheus unreachable.
"""
import argparse
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import dashboard_queries

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    sys.exit("render-dashboards: matplotlib is not installed (scripts/setup.sh installs it)")

ROW_INCHES = 0.42          # one grid row (Grafana: 30 px)
WIDTH_INCHES = 20


class PrometheusError(Exception):
    pass


def api(base, path, **params):
    url = f"{base.rstrip('/')}/api/v1/{path}?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as e:
        try:
            body = json.loads(e.read())
        except ValueError:
            raise PrometheusError(f"HTTP {e.code}") from e
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise PrometheusError(str(e)) from e
    if body.get("status") != "success":
        raise PrometheusError(body.get("error", "query failed"))
    return body["data"]


def legend(fmt, labels):
    if not fmt:
        return ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "value"
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), fmt)


def draw_timeseries(ax, panel, dashboard, base, start, end, step):
    drawn = 0
    for target in panel.get("targets", []):
        expr = dashboard_queries.substitute(target["expr"], dashboard, time_range=f"{int(end - start)}s")
        for series in api(base, "query_range", query=expr, start=start, end=end, step=step)["result"]:
            points = [(float(t), float(v)) for t, v in series["values"]]
            ax.plot([t - end for t, _ in points], [v for _, v in points], label=legend(target.get("legendFormat"), series["metric"]))
            drawn += 1
    unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit")
    ax.set_xlabel("seconds before now")
    if unit:
        ax.set_ylabel(unit)
    if drawn:
        ax.legend(fontsize=6, loc="upper left")
    return drawn


def instant(panel, dashboard, base, end, range_seconds):
    rows = []
    for target in panel.get("targets", []):
        expr = dashboard_queries.substitute(target["expr"], dashboard, time_range=f"{int(range_seconds)}s")
        for series in api(base, "query", query=expr, time=end)["result"]:
            rows.append((series["metric"], float(series["value"][1])))
    return rows


def draw_stat(ax, panel, dashboard, base, end, range_seconds):
    rows = instant(panel, dashboard, base, end, range_seconds)
    ax.axis("off")
    text = "No data" if not rows else f"{rows[0][1]:g}"
    ax.text(0.5, 0.4, text, ha="center", va="center", fontsize=22)
    return len(rows)


def draw_table(ax, panel, dashboard, base, end, range_seconds):
    rows = instant(panel, dashboard, base, end, range_seconds)
    ax.axis("off")
    if not rows:
        ax.text(0.5, 0.5, "No data", ha="center", va="center")
        return 0
    columns = sorted({k for labels, _ in rows for k in labels if k != "__name__"})
    cells = [[labels.get(c, "") for c in columns] + [f"{value:g}"] for labels, value in rows[:12]]
    table = ax.table(cellText=cells, colLabels=columns + ["value"], loc="upper center", cellLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(6)
    return len(rows)


def render(path, base, out, range_seconds):
    dashboard = dashboard_queries.load(path)
    panels = dashboard.get("panels", [])
    height = max((p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels), default=1)
    fig = plt.figure(figsize=(WIDTH_INCHES, max(2, height * ROW_INCHES)))
    fig.suptitle(dashboard.get("title", os.path.basename(path)), fontsize=14, y=0.99)
    end = time.time()
    start = end - range_seconds
    step = max(1, int(range_seconds / 240))
    summary = []
    # Figure coordinates (y from the bottom) of a grid row: the grid fills the figure between a
    # bottom margin for the last row's axis labels and a top one for the title.
    top, bottom = 0.95, 0.04
    def fy(row):
        return bottom + (1 - row / height) * (top - bottom)
    unit = (top - bottom) / height
    for panel in panels:
        g = panel["gridPos"]
        # A margin inside each cell: room for the panel's title above and its axis labels below.
        box = [g["x"] / 24 + 0.035, fy(g["y"] + g["h"]) + 0.9 * unit, g["w"] / 24 - 0.045, (g["h"] - 1.6) * unit]
        if panel["type"] == "row":
            fig.text(0.01, fy(g["y"] + 0.5), panel.get("title", ""), fontsize=12, weight="bold", va="center")
            continue
        ax = fig.add_axes([max(0, box[0]), max(0, box[1]), max(0.01, box[2]), max(0.01, box[3])])
        ax.set_title(panel.get("title", ""), fontsize=9)
        try:
            if panel["type"] == "stat":
                n = draw_stat(ax, panel, dashboard, base, end, range_seconds)
            elif panel["type"] == "table":
                n = draw_table(ax, panel, dashboard, base, end, range_seconds)
            else:
                n = draw_timeseries(ax, panel, dashboard, base, start, end, step)
        except PrometheusError as e:
            ax.text(0.5, 0.5, f"query failed: {e}", ha="center", va="center", fontsize=7, color="red", wrap=True)
            n = f"error: {e}"
        summary.append((panel.get("title"), n))
    name = os.path.join(out, os.path.splitext(os.path.basename(path))[0] + ".png")
    fig.savefig(name, dpi=80)
    plt.close(fig)
    return name, summary


def duration_seconds(text):
    m = re.fullmatch(r"(\d+)([smh])", text)
    if not m:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 30s, 15m or 2h")
    return int(m.group(1)) * {"s": 1, "m": 60, "h": 3600}[m.group(2)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prometheus", required=True, help="Prometheus base URL, e.g. http://127.0.0.1:9090")
    parser.add_argument("--out", required=True, help="directory for the PNGs (created)")
    parser.add_argument("--range", type=duration_seconds, default=duration_seconds("15m"), help="time range drawn (default 15m)")
    parser.add_argument("dashboards", nargs="*", help="dashboard JSON files (default: the chart's)")
    args = parser.parse_args()
    try:
        api(args.prometheus, "query", query="1")
    except PrometheusError as e:
        print(f"render-dashboards: Prometheus at {args.prometheus} does not answer: {e}", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    failed = False
    for path in args.dashboards or dashboard_queries.dashboard_files():
        try:
            name, summary = render(path, args.prometheus, args.out, args.range)
        except (OSError, ValueError, KeyError) as e:
            print(f"render-dashboards: {path}: {type(e).__name__}: {e}", file=sys.stderr)
            failed = True
            continue
        print(f"{name}: " + "; ".join(f"{title}: {n}" for title, n in summary))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
