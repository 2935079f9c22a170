"""`kubectl logs` and `kubectl exec` on EdgeSim's pods with the real kubectl, and exec with the
official Python client's `stream`."""
import json
import subprocess
import time

import pytest

from conftest import Sim, wait_for


@pytest.fixture(scope="module")
def fleet():
    s = Sim("--nodes", "orin-nx-16gb=1", "--speed", "0.01", "--no-pod-metrics", "--no-node-agent", edgesim=True)
    yield s
    s.stop()


def apply(sim, manifest):
    sim.kubectl("apply", "-f", "-", input=json.dumps(manifest))


def pod(name, containers, init=None, restart="Never"):
    spec = {"restartPolicy": restart, "containers": containers}
    if init:
        spec["initContainers"] = init
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def status(sim, name):
    return json.loads(sim.kubectl("get", "pod", name, "-o", "json").stdout)["status"]


def test_logs_of_a_process_container_with_tail_and_of_its_init_container(fleet):
    apply(fleet, pod("counter", [{"name": "main", "image": "busybox", "command": ["sh", "-c", "for i in 1 2 3 4 5; do echo line $i; done; echo oops >&2"]}],
                     init=[{"name": "prepare", "image": "busybox", "command": ["sh", "-c", "echo preparing the model repository"]}]))
    assert wait_for(lambda: status(fleet, "counter").get("phase") == "Succeeded", timeout=60)
    assert fleet.kubectl("logs", "counter").stdout == "line 1\nline 2\nline 3\nline 4\nline 5\noops\n"
    assert fleet.kubectl("logs", "counter", "--tail", "2").stdout == "line 5\noops\n"
    assert fleet.kubectl("logs", "counter", "--limit-bytes", "6").stdout == "line 1"
    assert fleet.kubectl("logs", "counter", "-c", "prepare").stdout == "preparing the model repository\n"
    r = fleet.kubectl("logs", "counter", "-c", "nope", check=False)
    assert r.returncode != 0 and "container nope is not valid for pod counter" in r.stderr


def test_logs_follow_streams_until_the_container_ends(fleet):
    apply(fleet, pod("ticker", [{"name": "main", "image": "busybox", "command": ["sh", "-c", "echo first; sleep 2; echo second; sleep 1; echo third"]}]))
    assert wait_for(lambda: status(fleet, "ticker").get("phase") == "Running", timeout=60)
    follow = subprocess.Popen(["kubectl", "--kubeconfig", fleet.kubeconfig, "--cache-dir", fleet.cache, "logs", "-f", "ticker"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = follow.stdout.readline()
    assert first == "first\n"
    started = time.monotonic()
    rest, err = follow.communicate(timeout=60)
    # `second` was written after kubectl had printed `first`: it arrived on the open stream, and
    # kubectl returned by itself once the container had ended.
    assert rest == "second\nthird\n", err
    assert follow.returncode == 0
    assert time.monotonic() - started < 30


def test_previous_shows_the_crashed_instance(fleet):
    apply(fleet, pod("crasher", [{"name": "main", "image": "busybox", "command": ["sh", "-c", "echo attempt at $(date +%s%N); exit 1"]}], restart="OnFailure"))
    restarted = wait_for(lambda: (status(fleet, "crasher").get("containerStatuses") or [{}])[0].get("restartCount", 0) >= 1, timeout=60)
    assert restarted
    r = fleet.kubectl("logs", "crasher", "--previous")
    assert r.stdout.startswith("attempt at ")
    never = fleet.kubectl("logs", "counter", "--previous", check=False)
    assert never.returncode != 0 and 'previous terminated container "main" in pod "counter" not found' in never.stderr


def test_a_simulated_container_says_what_it_is(fleet):
    apply(fleet, pod("web", [{"name": "nginx", "image": "nginx:1.27"}], restart="Always"))
    fleet.kubectl("wait", "pod/web", "--for=condition=Ready", "--timeout=60s", timeout=90)
    logs = fleet.kubectl("logs", "web").stdout
    assert 'container "nginx" (image nginx:1.27) is simulated' in logs
    assert "no process runs" in logs
    r = fleet.kubectl("exec", "web", "--", "ls", check=False)
    assert r.returncode != 0
    assert 'container "nginx" in pod "web" is simulated by EdgeSim' in r.stderr


def test_logs_of_a_container_that_never_started(fleet):
    apply(fleet, pod("blocked", [{"name": "main", "image": "busybox", "command": ["sleep", "1"]}],
                     init=[{"name": "wait", "image": "busybox", "command": ["sleep", "120"]}]))
    assert wait_for(lambda: status(fleet, "blocked").get("phase") == "Pending" and status(fleet, "blocked").get("initContainerStatuses", [{}])[0].get("state", {}).get("running"), timeout=60)
    r = fleet.kubectl("logs", "blocked", "-c", "main", check=False)
    assert r.returncode != 0
    assert 'container "main" in pod "blocked" is waiting to start: PodInitializing' in r.stderr
    fleet.kubectl("delete", "pod", "blocked", "--wait=true", "--timeout=60s", timeout=90)   # stops its process


def test_exec_runs_in_the_containers_sandbox_with_exit_code_and_stderr(fleet):
    apply(fleet, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "shell"},
                  "spec": {"restartPolicy": "Never",
                           "volumes": [{"name": "data", "emptyDir": {}}],
                           "containers": [{"name": "main", "image": "busybox", "command": ["sh", "-c", "echo ready > /data/marker; exec sleep 120"],
                                           "env": [{"name": "GREETING", "value": "hello from the pod"}],
                                           "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}})
    assert wait_for(lambda: status(fleet, "shell").get("phase") == "Running", timeout=60)
    assert fleet.kubectl("exec", "shell", "--", "sh", "-c", "echo $GREETING").stdout == "hello from the pod\n"
    assert wait_for(lambda: fleet.kubectl("exec", "shell", "--", "cat", "/data/marker", check=False).stdout == "ready\n", timeout=10)
    token = fleet.kubectl("exec", "shell", "--", "cat", "/var/run/secrets/kubernetes.io/serviceaccount/namespace").stdout
    assert token == "default"
    r = fleet.kubectl("exec", "shell", "--", "sh", "-c", "echo to-out; echo to-err >&2; exit 3", check=False)
    assert r.returncode == 3
    assert r.stdout == "to-out\n"
    assert "to-err" in r.stderr
    stdin = fleet.kubectl("exec", "-i", "shell", "--", "sh", "-c", "tr a-z A-Z", input="quiet words\n")
    assert stdin.stdout == "QUIET WORDS\n"
    missing = fleet.kubectl("exec", "shell", "--", "no-such-program", check=False)
    assert missing.returncode != 0 and 'exec: "no-such-program": executable file not found in $PATH' in missing.stderr


def test_exec_with_the_python_client_stream(fleet):
    pytest.importorskip("kubernetes")
    from kubernetes import client, config
    from kubernetes.stream import stream
    api = client.CoreV1Api(config.new_client_from_config(config_file=fleet.kubeconfig))
    assert wait_for(lambda: status(fleet, "shell").get("phase") == "Running", timeout=60)
    out = stream(api.connect_get_namespaced_pod_exec, "shell", "default",
                 command=["/bin/sh", "-c", "echo test exec"], stderr=True, stdin=False, stdout=True, tty=False)
    assert out == "test exec\n"
    resp = stream(api.connect_get_namespaced_pod_exec, "shell", "default",
                  command=["/bin/sh", "-c", "exit 7"], stderr=True, stdin=False, stdout=True, tty=False, _preload_content=False)
    resp.run_forever(timeout=30)
    assert resp.returncode == 7
    fleet.kubectl("delete", "pod", "shell", "--wait=true", "--timeout=60s", timeout=90)   # stops its process
