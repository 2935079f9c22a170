"""`edgeml sim --node-nice`: the simulated nodes' work runs at a lower CPU priority than the API
server (docs/edgesim.md, "The nodes' CPU priority"), seen from outside the process in /proc."""
import os
import subprocess
import time

from conftest import EDGEML, Sim


def thread_nice(pid):
    """{thread name: set of nice values} of a process's threads (proc(5): stat field 19)."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            name = open(f"/proc/{pid}/task/{tid}/comm").read().strip()
            stat = open(f"/proc/{pid}/task/{tid}/stat").read()
        except FileNotFoundError:   # the thread ended meanwhile
            continue
        fields = stat[stat.rindex(")") + 2:].split()   # after "pid (comm) ", field 3 is fields[0]
        out.setdefault(name, set()).add(int(fields[16]))
    return out


def test_the_nodes_threads_run_at_the_nice_value_asked_and_the_api_server_at_its_own():
    sim = Sim("--node-nice", "7", "--nodes", "orin-nx-16gb=1", "--no-pod-metrics", edgesim=True)
    try:
        sim.kubectl("run", "p", "--image=nginx:1.27")
        deadline = time.time() + 60
        while time.time() < deadline:
            phase = sim.kubectl("get", "pod", "p", "-o", "jsonpath={.status.phase}").stdout
            if phase == "Running":
                break
            time.sleep(0.2)
        assert phase == "Running"
        threads = thread_nice(sim.proc.pid)
        nodes = {n: v for n, v in threads.items() if n.startswith("edgesim-node-")}
        assert nodes and all(v == {7} for v in nodes.values()), threads
        # The API server's event loops keep the process's own priority.
        own = os.getpriority(os.PRIO_PROCESS, sim.proc.pid)
        loops = {n: v for n, v in threads.items() if n.startswith("NIO-ELT")}
        assert loops and all(v == {own} for v in loops.values()), threads
    finally:
        sim.stop()


def test_a_nice_value_out_of_range_is_refused():
    r = subprocess.run([EDGEML, "sim", "--node-nice", "20"], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "--node-nice must be between 0 and 19" in r.stderr
