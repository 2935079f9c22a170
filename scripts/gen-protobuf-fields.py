#!/usr/bin/env python3
"""Generates Sources/KubeEmulator/Protobuf/ProtobufFields.swift: the protobuf field numbers of the
Kubernetes kinds `kubectl create …` sends as `application/vnd.kubernetes.protobuf`.

Field numbers and types are wire-protocol facts of k8s.io/api and k8s.io/apimachinery (their
`generated.proto` files, Apache-2.0). This script reads them from local git checkouts and writes a
table in the emulator's own format; nothing else of those files is kept.

  python3 scripts/gen-protobuf-fields.py API_GIT_DIR APIMACHINERY_GIT_DIR > Sources/KubeEmulator/Protobuf/ProtobufFields.swift
"""
import re
import subprocess
import sys

API, MACHINERY = sys.argv[1], sys.argv[2]
FILES = {
    "k8s.io.api.core.v1": (API, "core/v1/generated.proto"),
    "k8s.io.api.apps.v1": (API, "apps/v1/generated.proto"),
    "k8s.io.api.batch.v1": (API, "batch/v1/generated.proto"),
    "k8s.io.api.rbac.v1": (API, "rbac/v1/generated.proto"),
    "k8s.io.api.policy.v1": (API, "policy/v1/generated.proto"),
    "k8s.io.api.scheduling.v1": (API, "scheduling/v1/generated.proto"),
    "k8s.io.api.networking.v1": (API, "networking/v1/generated.proto"),
    "k8s.io.api.authorization.v1": (API, "authorization/v1/generated.proto"),
    "k8s.io.api.authentication.v1": (API, "authentication/v1/generated.proto"),
    "k8s.io.api.coordination.v1": (API, "coordination/v1/generated.proto"),
    "k8s.io.apimachinery.pkg.apis.meta.v1": (MACHINERY, "pkg/apis/meta/v1/generated.proto"),
    "k8s.io.apimachinery.pkg.runtime": (MACHINERY, "pkg/runtime/generated.proto"),
    "k8s.io.apimachinery.pkg.api.resource": (MACHINERY, "pkg/api/resource/generated.proto"),
    "k8s.io.apimachinery.pkg.util.intstr": (MACHINERY, "pkg/util/intstr/generated.proto"),
}
# (group, version, kind) roots: what `kubectl create SUBCOMMAND`, `auth can-i|whoami` and `create token` send.
ROOTS = {
    ("", "v1", "Namespace"): "k8s.io.api.core.v1.Namespace", ("", "v1", "ConfigMap"): "k8s.io.api.core.v1.ConfigMap",
    ("", "v1", "Secret"): "k8s.io.api.core.v1.Secret", ("", "v1", "ServiceAccount"): "k8s.io.api.core.v1.ServiceAccount",
    ("", "v1", "Service"): "k8s.io.api.core.v1.Service", ("", "v1", "ResourceQuota"): "k8s.io.api.core.v1.ResourceQuota",
    ("", "v1", "Pod"): "k8s.io.api.core.v1.Pod",
    ("apps", "v1", "Deployment"): "k8s.io.api.apps.v1.Deployment",
    ("batch", "v1", "Job"): "k8s.io.api.batch.v1.Job", ("batch", "v1", "CronJob"): "k8s.io.api.batch.v1.CronJob",
    ("rbac.authorization.k8s.io", "v1", "Role"): "k8s.io.api.rbac.v1.Role",
    ("rbac.authorization.k8s.io", "v1", "ClusterRole"): "k8s.io.api.rbac.v1.ClusterRole",
    ("rbac.authorization.k8s.io", "v1", "RoleBinding"): "k8s.io.api.rbac.v1.RoleBinding",
    ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding"): "k8s.io.api.rbac.v1.ClusterRoleBinding",
    ("policy", "v1", "PodDisruptionBudget"): "k8s.io.api.policy.v1.PodDisruptionBudget",
    ("scheduling.k8s.io", "v1", "PriorityClass"): "k8s.io.api.scheduling.v1.PriorityClass",
    ("networking.k8s.io", "v1", "Ingress"): "k8s.io.api.networking.v1.Ingress",
    ("authorization.k8s.io", "v1", "SelfSubjectAccessReview"): "k8s.io.api.authorization.v1.SelfSubjectAccessReview",
    ("authorization.k8s.io", "v1", "SelfSubjectRulesReview"): "k8s.io.api.authorization.v1.SelfSubjectRulesReview",
    ("authentication.k8s.io", "v1", "SelfSubjectReview"): "k8s.io.api.authentication.v1.SelfSubjectReview",
    ("authentication.k8s.io", "v1", "TokenRequest"): "k8s.io.api.authentication.v1.TokenRequest",
    ("coordination.k8s.io", "v1", "Lease"): "k8s.io.api.coordination.v1.Lease",
    ("meta.k8s.io", "v1", "DeleteOptions"): "k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions",
}
SCALARS = {"string", "bytes", "bool", "int32", "int64", "uint32", "uint64", "double", "float", "fixed64", "sfixed64", "fixed32", "sint32", "sint64"}
FIELD = re.compile(r"^\s*(optional|repeated)?\s*([\w.]+)\s+(\w+)\s*=\s*(\d+)\s*;")
MAP = re.compile(r"^\s*map<\s*(\w+)\s*,\s*([\w.]+)\s*>\s+(\w+)\s*=\s*(\d+)\s*;")

messages = {}
for package, (repo, path) in FILES.items():
    text = subprocess.run(["git", "--git-dir", repo, "show", f"HEAD:{path}"], capture_output=True, text=True, check=True).stdout
    current, depth = None, 0
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("//"):
            continue
        m = re.match(r"^message (\w+) \{", stripped)
        if m and depth == 0:
            current = f"{package}.{m.group(1)}"
            messages[current] = []
            depth = 1
            continue
        if current is None:
            continue
        if stripped == "}":
            current, depth = None, 0
            continue
        m = MAP.match(line)
        if m:
            messages[current].append((int(m.group(4)), m.group(3), "map", (m.group(1), qualify(m.group(2), package) if False else m.group(2))))
            continue
        m = FIELD.match(line)
        if m:
            messages[current].append((int(m.group(4)), m.group(3), m.group(1) or "optional", m.group(2)))


def qualify(t, package):
    if t in SCALARS:
        return t
    if t.startswith("."):
        return t[1:]
    return f"{package}.{t}"


def kind_of(t, package):
    t = qualify(t, package)
    return f'.{t}' if t in SCALARS else f'.message("{t}")'


needed, queue = set(), list(ROOTS.values())
while queue:
    name = queue.pop()
    if name in needed or name not in messages:
        continue
    needed.add(name)
    package = name.rsplit(".", 1)[0]
    for _, _, label, t in messages[name]:
        types = [t[1]] if label == "map" else [t]
        for x in types:
            q = qualify(x, package)
            if q not in SCALARS:
                queue.append(q)

out = ["// Generated by scripts/gen-protobuf-fields.py — do not edit.",
       "// Protobuf field numbers of the Kubernetes kinds kubectl sends as application/vnd.kubernetes.protobuf,",
       "// from k8s.io/api and k8s.io/apimachinery generated.proto (wire-protocol facts, Apache-2.0).",
       "", "extension ProtobufSchema {", "  /// (group, version, kind) → message.",
       "  static let roots: [String: String] = ["]
for (g, v, k), msg in sorted(ROOTS.items()):
    out.append(f'    "{g}/{v}/{k}": "{msg}",')
out += ["  ]", "", "  /// message → field number → (JSON name, kind).", "  static let messages: [String: [Int: ProtobufField]] = ["]
for name in sorted(needed):
    package = name.rsplit(".", 1)[0]
    fields = []
    for num, fname, label, t in sorted(messages[name]):
        if label == "map":
            kind = f".map(key: {kind_of(t[0], package)}, value: {kind_of(t[1], package)})"
        elif label == "repeated":
            kind = f".repeated({kind_of(t, package)})"
        else:
            kind = kind_of(t, package)
        fields.append(f'{num}: .init("{fname}", {kind})')
    out.append(f'    "{name}": [' + ", ".join(fields) + "],")
out += ["  ]", "}", ""]
print("\n".join(out))
