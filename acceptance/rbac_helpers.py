"""Kubeconfigs that authenticate as a service account of a running `edgeml sim`."""
import os
import subprocess


def token_kubeconfig(sim, namespace, service_account):
    """Asks the sim for a token (`kubectl create token`) and writes a kubeconfig using it.

    The file sits next to sim.kubeconfig with the same server and CA; returns its path.
    """
    token = sim.kubectl("-n", namespace, "create", "token", service_account).stdout.strip()
    assert token, "kubectl create token printed no token"
    server = sim.kubectl("config", "view", "--raw", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}").stdout
    ca = sim.kubectl("config", "view", "--raw", "--minify",
                     "-o", "jsonpath={.clusters[0].cluster.certificate-authority-data}").stdout
    path = os.path.join(sim.dir, f"kubeconfig-{namespace}-{service_account}")
    with open(path, "w") as f:
        f.write(f"""apiVersion: v1
kind: Config
clusters:
- name: sim
  cluster:
    server: {server}
    certificate-authority-data: {ca}
users:
- name: {service_account}
  user:
    token: {token}
contexts:
- name: {service_account}
  context:
    cluster: sim
    user: {service_account}
    namespace: {namespace}
current-context: {service_account}
""")
    return path


def kubectl_as(sim, kubeconfig, *args, input=None):
    """Runs kubectl with another kubeconfig against the same sim; never raises on failure."""
    cmd = ["kubectl", "--kubeconfig", kubeconfig, "--cache-dir", sim.cache + "-" + os.path.basename(kubeconfig), *args]
    return subprocess.run(cmd, capture_output=True, text=True, input=input, timeout=60)
