"""RBAC in the emulator, driven by the real kubectl: a service account bound to a Role that reads
configmaps may list them and nothing else; denials carry upstream's Forbidden message."""
import pytest

from rbac_helpers import kubectl_as, token_kubeconfig

NS = "rbac-test"

SETUP = f"""
apiVersion: v1
kind: Namespace
metadata:
  name: {NS}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: reader
  namespace: {NS}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: configmap-reader
  namespace: {NS}
rules:
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "list"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: reader-reads-configmaps
  namespace: {NS}
subjects:
- kind: ServiceAccount
  name: reader
  namespace: {NS}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: configmap-reader
"""

USER = f"system:serviceaccount:{NS}:reader"


@pytest.fixture(scope="module")
def reader_kubeconfig(sim):
    sim.kubectl("apply", "-f", "-", input=SETUP)
    sim.kubectl("-n", NS, "create", "configmap", "settings", "--from-literal=k=v")
    return token_kubeconfig(sim, NS, "reader")


def test_service_account_may_do_what_its_role_allows(sim, reader_kubeconfig):
    kubeconfig = reader_kubeconfig
    r = kubectl_as(sim, kubeconfig, "get", "configmaps", "-o", "name")
    assert r.returncode == 0, r.stderr
    assert "configmap/settings" in r.stdout
    r = kubectl_as(sim, kubeconfig, "get", "configmap", "settings", "-o", "jsonpath={.data.k}")
    assert r.returncode == 0 and r.stdout == "v", r.stderr


def test_service_account_is_refused_what_its_role_does_not_allow(sim, reader_kubeconfig):
    kubeconfig = reader_kubeconfig
    r = kubectl_as(sim, kubeconfig, "delete", "configmap", "settings")
    assert r.returncode != 0
    assert (f'Error from server (Forbidden): configmaps "settings" is forbidden: User "{USER}" cannot delete '
            f'resource "configmaps" in API group "" in the namespace "{NS}"') in r.stderr, r.stderr
    r = kubectl_as(sim, kubeconfig, "get", "secrets")
    assert r.returncode != 0
    assert (f'secrets is forbidden: User "{USER}" cannot list resource "secrets" in API group "" '
            f'in the namespace "{NS}"') in r.stderr, r.stderr
    r = kubectl_as(sim, kubeconfig, "get", "configmaps", "-n", "default")
    assert r.returncode != 0 and "Forbidden" in r.stderr, r.stderr
    # The admin still sees the object: the denied delete changed nothing.
    sim.kubectl("-n", NS, "get", "configmap", "settings")


def test_can_i_answers_with_the_rbac_decision(sim, reader_kubeconfig):
    kubeconfig = reader_kubeconfig
    assert kubectl_as(sim, kubeconfig, "auth", "can-i", "list", "configmaps").stdout.strip() == "yes"
    assert kubectl_as(sim, kubeconfig, "auth", "can-i", "delete", "configmaps").stdout.strip() == "no"
    assert kubectl_as(sim, kubeconfig, "auth", "can-i", "list", "secrets").stdout.strip() == "no"


def test_an_unknown_token_is_unauthorized(sim, reader_kubeconfig):
    kubeconfig = reader_kubeconfig
    text = open(kubeconfig).read()
    bad = kubeconfig + "-bad"
    with open(bad, "w") as f:
        f.write("\n".join("    token: not-a-token" if l.startswith("    token:") else l for l in text.splitlines()))
    r = kubectl_as(sim, bad, "get", "configmaps")
    assert r.returncode != 0 and "You must be logged in to the server" in r.stderr, r.stderr
