"""Fixtures that start `edgeml sim` on loopback and hand tests a kubeconfig.

Every test here drives the emulator with clients we did not write: the real `kubectl` and the
official Kubernetes Python client.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EDGEML = os.environ.get("EDGEML_BIN", os.path.join(ROOT, ".build", "debug", "edgeml"))
# The slim operator binary the Deployment runs (`edgeml operator`'s flags and code).
EDGEML_OPERATOR = os.environ.get("EDGEML_OPERATOR_BIN", os.path.join(ROOT, ".build", "debug", "edgeml-operator"))
# The kubectl plugin: kubectl finds `kubectl-edgeml` on PATH for `kubectl edgeml …`.
KUBECTL_EDGEML = os.environ.get("KUBECTL_EDGEML_BIN", os.path.join(ROOT, ".build", "debug", "kubectl-edgeml"))
# Upstream files the tests compare against, all inside the repository (provenance in each folder's
# README): recorded real-server exchanges under Tests/Fixtures, and the upstream OpenAPI and discovery
# documents the emulator itself bundles.
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures")
UPSTREAM = os.path.join(ROOT, "Sources", "KubeEmulator", "Resources", "upstream")


def wait_for(predicate, timeout=90, interval=0.25):
    """Polls `predicate` until it returns something truthy or `timeout` seconds pass; returns its
    last value (falsy on timeout), so a test asserts on it and prints what it saw."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def free_port():
    """A TCP port on loopback that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def terminate(proc, grace=15):
    """SIGTERM, then SIGKILL if the process is still there after `grace` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()


class Sim:
    """A running `edgeml sim` process: the bare API server unless `edgesim=True` (then with the
    simulated Jetson fleet: nodes, scheduler, kubelets, controllers)."""

    def __init__(self, *extra_args, edgesim=False):
        if not edgesim:
            extra_args = ("--no-edgesim", *extra_args)
        self.dir = tempfile.mkdtemp(prefix="edgeml-sim-")
        self.kubeconfig = os.path.join(self.dir, "kubeconfig")
        self.log_path = os.path.join(self.dir, "sim.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([EDGEML, "sim", "--kubeconfig", self.kubeconfig, *extra_args],
                                     stdout=subprocess.PIPE, stderr=self.log, text=True)
        deadline = time.time() + 60
        self.url = None
        # Where EdgeSim keeps the simulated nodes' disks (volumes, logs); None without EdgeSim.
        self.sim_root = None
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                if self.proc.poll() is not None:
                    raise RuntimeError("edgeml sim exited: " + open(self.log_path).read())
                continue
            m = re.match(r"edgeml sim: Kubernetes API at (\S+)", line)
            if m:
                self.url = m.group(1)
            m = re.search(r"sim root (.+)\)$", line.rstrip())
            if m:
                self.sim_root = m.group(1)
            if line.startswith("try:"):
                break
        if not self.url:
            raise RuntimeError("edgeml sim did not start")
        # kubectl keeps a discovery cache per server; give every sim its own.
        self.cache = os.path.join(self.dir, "kube-cache")

    def kubectl(self, *args, check=True, input=None, timeout=60):
        cmd = ["kubectl", "--kubeconfig", self.kubeconfig, "--cache-dir", self.cache, *args]
        r = subprocess.run(cmd, capture_output=True, text=True, input=input, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        return r

    def stop(self):
        terminate(self.proc)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Operator:
    """The real operator (`edgeml operator`) against a Sim, its log in the sim's directory."""

    def __init__(self, sim, *extra_args):
        self.log = open(os.path.join(sim.dir, "operator.log"), "w")
        self.proc = subprocess.Popen([EDGEML, "operator", "--kubeconfig", sim.kubeconfig, "--metrics-bind-address", "0",
                                      "--health-port", "0", *extra_args], stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self):
        terminate(self.proc)
        self.log.close()


def get_json(sim, *args):
    """`kubectl get ARGS -o json` parsed, or {} when kubectl fails (not found)."""
    r = sim.kubectl("get", *args, "-o", "json", check=False)
    return json.loads(r.stdout) if r.returncode == 0 else {}


def condition(obj, type_):
    """The status condition of that type, or {}."""
    return next((c for c in obj.get("status", {}).get("conditions", []) if c["type"] == type_), {})


@pytest.fixture(scope="module")
def sim():
    s = Sim()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def small_history_sim():
    s = Sim("--history-limit", "20")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def api_client(sim):
    kubernetes = pytest.importorskip("kubernetes")
    from kubernetes import client, config
    return config.new_client_from_config(config_file=sim.kubeconfig)
