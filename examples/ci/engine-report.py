#!/usr/bin/env python3
"""Turns the engine builder's result documents into an acceptance report (pipeline.sh engine-report).

Each results/PRECISION.json is what `edgeml engine` wrote with --termination-log: the document a
pod's termination message holds (docs/edgemodel-contracts.md §2: state Built or Failed, reason,
message, tensorrt, buildSeconds, sizeBytes, and trtexec's mean latencyMs and throughputQPS when a
gate made it time the engine). The engine itself applies the gates; this only reports its verdicts,
with the figures beside the gates a reviewer compares them to.

Writes report.md (also appended to $GITHUB_STEP_SUMMARY in GitHub Actions), report.json and
junit.xml (GitLab's artifacts:reports:junit and Jenkins' junit step show one test per engine) into
--out, prints report.md, and exits 1 when an engine is not Built, 2 when there is nothing to report.
Standard library only: it runs on the CI runner as it is.
"""
import argparse
import json
import os
import sys
import xml.etree.ElementTree as ET


def read_result(path):
    """The result document, or a stand-in saying why there is none (the engine crashed before
    writing it, or wrote something that is not a JSON object)."""
    if not os.path.exists(path):
        return {"state": "Failed", "reason": "NoResult", "message": "the engine wrote no result (see its log)"}
    try:
        with open(path) as f:
            document = json.load(f)
    except (OSError, ValueError) as error:
        return {"state": "Failed", "reason": "NoResult", "message": f"the result is not JSON: {error}"}
    if not isinstance(document, dict):
        return {"state": "Failed", "reason": "NoResult", "message": "the result is not a JSON object"}
    return document


def number(value, digits):
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "–"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="the stage's folder: results/ in, the report out")
    parser.add_argument("--model-name", required=True)
    parser.add_argument("--model-version", required=True)
    parser.add_argument("--model-uri", required=True)
    parser.add_argument("--device", default="")
    parser.add_argument("--max-latency-ms", type=float)
    parser.add_argument("--min-throughput-qps", type=float)
    parser.add_argument("precisions", nargs="*", help="one result per precision: results/PRECISION.json")
    args = parser.parse_args()
    if not args.precisions:
        print("engine-report: no precision to report", file=sys.stderr)
        return 2

    engines = []
    for precision in args.precisions:
        result = read_result(os.path.join(args.out, "results", f"{precision}.json"))
        engines.append({"precision": precision, "passed": result.get("state") == "Built", **result})
    passed = all(e["passed"] for e in engines)
    gates = {k: v for k, v in (("maxLatencyMs", args.max_latency_ms), ("minThroughputQPS", args.min_throughput_qps)) if v is not None}
    report = {"model": {"name": args.model_name, "version": args.model_version, "uri": args.model_uri},
              "device": args.device, "gates": gates, "engines": engines, "passed": passed}
    with open(os.path.join(args.out, "report.json"), "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")

    gate_words = []
    if args.max_latency_ms is not None:
        gate_words.append(f"mean latency ≤ {args.max_latency_ms:g} ms")
    if args.min_throughput_qps is not None:
        gate_words.append(f"throughput ≥ {args.min_throughput_qps:g} qps")
    lines = [f"# Engine acceptance: {args.model_name} version {args.model_version}", "",
             f"Model `{args.model_uri}` on {args.device or 'this runner'}; gates (trtexec's timing): {', '.join(gate_words)}.", "",
             "| precision | verdict | TensorRT | mean latency (ms) | throughput (qps) | build (s) | engine (MiB) |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for e in engines:
        verdict = "passed" if e["passed"] else f"**failed**: {e.get('reason', 'unknown')}"
        size = e["sizeBytes"] / 1048576 if isinstance(e.get("sizeBytes"), int) else None
        lines.append(f"| {e['precision']} | {verdict} | {e.get('tensorrt', '–')} | {number(e.get('latencyMs'), 3)} | "
                     f"{number(e.get('throughputQPS'), 1)} | {number(e.get('buildSeconds'), 1)} | {number(size, 2)} |")
    failures = [e for e in engines if not e["passed"]]
    lines.append("")
    if failures:
        lines.append(f"**Not accepted**: {len(failures)} of {len(engines)} engine(s) failed.")
        lines.extend(f"- {e['precision']}: {e.get('reason', 'unknown')}: {e.get('message', '')}" for e in failures)
    else:
        lines.append(f"**Accepted**: all {len(engines)} engine(s) built and met the gates.")
    markdown = "\n".join(lines) + "\n"
    with open(os.path.join(args.out, "report.md"), "w") as f:
        f.write(markdown)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a") as f:
            f.write(markdown)

    # JUnit XML as GitLab and Jenkins read it: one testsuite, one testcase per engine, a <failure>
    # with a message for each failed one.
    suite = ET.Element("testsuite", name="engine-acceptance", tests=str(len(engines)), failures=str(len(failures)))
    for e in engines:
        case = ET.SubElement(suite, "testcase", classname=f"{args.model_name}.v{args.model_version}", name=e["precision"])
        if not e["passed"]:
            failure = ET.SubElement(case, "failure", message=f"{e.get('reason', 'unknown')}: {e.get('message', '')}")
            failure.text = json.dumps({k: v for k, v in e.items() if k != "passed"})
    ET.ElementTree(suite).write(os.path.join(args.out, "junit.xml"), encoding="utf-8", xml_declaration=True)

    print(markdown, end="")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
