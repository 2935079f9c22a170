import KubeCore

// The admission plugins that add to a pod. Like the defaults before them they run on updates too,
// where a real server's pod validation would refuse the change instead (a pod's spec is immutable
// but for a few fields), so a pod keeps what they added.

/// ServiceAccount (plugin/pkg/admission/serviceaccount/admission.go): a pod without one runs as
/// `default`; the account must exist; and unless the pod or its account says
/// `automountServiceAccountToken: false`, every container and init container mounts the projected
/// `kube-api-access-xxxxx` volume (a bound token, the cluster CA, the namespace) at
/// `/var/run/secrets/kubernetes.io/serviceaccount` — the upstream `mountServiceAccountToken` and
/// `TokenVolumeSource`, applied on create only as upstream's `Admit` is.
struct ServiceAccountAdmission: AdmissionPlugin {
  var name: String { "ServiceAccount" }
  /// `DefaultAPITokenMountPath` and `ServiceAccountVolumeName` of the plugin.
  static let mountPath = "/var/run/secrets/kubernetes.io/serviceaccount"
  static let volumePrefix = "kube-api-access-"

  func admit(_ pod: inout JSONValue, _ attributes: AdmissionAttributes) throws {
    guard attributes.isPod, var spec = pod["spec"] else { return }
    BuiltinDefaults.setIfAbsent(&spec, ["serviceAccountName"], "default")
    if spec["serviceAccount"] == nil { spec["serviceAccount"] = spec["serviceAccountName"] }
    let account = spec["serviceAccountName"]?.stringValue ?? "default"
    // The pod's own choice wins, then the account's, else the token is mounted (`shouldAutomount`).
    let automount = spec["automountServiceAccountToken"]?.boolValue
      ?? attributes.serviceAccounts?.automount(namespace: attributes.namespace ?? "", name: account) ?? true
    if attributes.operation == .create && automount { Self.mountToken(&spec) }
    pod["spec"] = spec
  }

  func validate(_ pod: JSONValue, _ attributes: AdmissionAttributes, state: ObjectStore.State) throws {
    guard attributes.isPod, attributes.operation == .create else { return }
    let namespace = attributes.namespace ?? ""
    let account = pod[path: ["spec", "serviceAccountName"]]?.stringValue ?? "default"
    guard state.get("/serviceaccounts", namespace: namespace, name: account) == nil else { return }
    let name = pod[path: ["metadata", "name"]]?.stringValue ?? ""
    throw APIError.forbidden(message: "pods \"\(name)\" is forbidden: error looking up service account \(namespace)/\(account): serviceaccount \"\(account)\" not found",
                             resource: GroupResource(group: "", resource: "pods"), name: name)
  }

  /// Adds the token volume (reusing one already named `kube-api-access-…`) and a read-only mount of
  /// it to every container that has nothing mounted at the token path.
  static func mountToken(_ spec: inout JSONValue) {
    let volumes = spec["volumes"]?.arrayValue ?? []
    let existing = volumes.first { ($0["name"]?.stringValue ?? "").hasPrefix(volumePrefix) }?["name"]?.stringValue
    let volumeName = existing ?? volumePrefix + GeneratedNames.suffix()
    var needsVolume = false
    for field in ["initContainers", "containers"] {
      guard var containers = spec[field]?.arrayValue else { continue }
      for i in containers.indices {
        var mounts = containers[i]["volumeMounts"]?.arrayValue ?? []
        guard !mounts.contains(where: { $0["mountPath"]?.stringValue == mountPath }) else { continue }
        mounts.append(["name": .string(volumeName), "readOnly": true, "mountPath": .string(mountPath)])
        containers[i]["volumeMounts"] = .array(mounts)
        needsVolume = true
      }
      spec[field] = .array(containers)
    }
    guard existing == nil, needsVolume else { return }
    spec["volumes"] = .array(volumes + [tokenVolume(named: volumeName)])
  }

  /// `TokenVolumeSource()`: the kubelet's token (3607 s, extended by the server), `ca.crt` from
  /// `kube-root-ca.crt`, and the namespace from the downward API; mode 0644 set explicitly.
  static func tokenVolume(named name: String) -> JSONValue {
    ["name": .string(name),
     "projected": [
       "sources": [
         ["serviceAccountToken": ["expirationSeconds": JSONValue(APIServer.kubeletTokenSeconds), "path": "token"]],
         ["configMap": ["name": "kube-root-ca.crt", "items": [["key": "ca.crt", "path": "ca.crt"]]]],
         ["downwardAPI": ["items": [["path": "namespace", "fieldRef": ["apiVersion": "v1", "fieldPath": "metadata.namespace"]]]]],
       ],
       "defaultMode": 420,
     ]]
  }
}

/// What the ServiceAccount admission plugin reads about accounts without the store lock, as its
/// upstream twin reads an informer's lister: each account's `automountServiceAccountToken`, kept
/// current by `ServiceAccountStrategy.afterWrite` (under the store lock). Whether the account
/// exists at all is checked under the lock, in `validate`.
final class ServiceAccountCache: Sendable {
  private let automounts = Locked<[String: Bool]>([:])

  func automount(namespace: String, name: String) -> Bool? { automounts.value["\(namespace)/\(name)"] }

  func record(_ account: JSONValue) {
    let key = "\(account[path: ["metadata", "namespace"]]?.stringValue ?? "")/\(account[path: ["metadata", "name"]]?.stringValue ?? "")"
    let value = account["automountServiceAccountToken"]?.boolValue
    automounts.update { $0[key] = value }
  }
}

/// DefaultTolerationSeconds (plugin/pkg/admission/defaulttolerationseconds/admission.go): pods
/// tolerate not-ready and unreachable nodes for 300 s.
struct DefaultTolerationSecondsAdmission: AdmissionPlugin {
  var name: String { "DefaultTolerationSeconds" }
  func admit(_ pod: inout JSONValue, _ attributes: AdmissionAttributes) throws {
    guard attributes.isPod, var spec = pod["spec"] else { return }
    var tolerations = spec["tolerations"]?.arrayValue ?? []
    for key in ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]
    where !tolerations.contains(where: { $0["key"]?.stringValue == key }) {
      tolerations.append(["key": .string(key), "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300])
    }
    spec["tolerations"] = .array(tolerations)
    pod["spec"] = spec
  }
}

/// Priority (plugin/pkg/admission/priority/admission.go): without a PriorityClass a pod gets
/// priority 0 and the default preemption policy.
struct PriorityAdmission: AdmissionPlugin {
  var name: String { "Priority" }
  func admit(_ pod: inout JSONValue, _ attributes: AdmissionAttributes) throws {
    guard attributes.isPod, var spec = pod["spec"] else { return }
    BuiltinDefaults.setIfAbsent(&spec, ["priority"], 0)
    BuiltinDefaults.setIfAbsent(&spec, ["preemptionPolicy"], "PreemptLowerPriority")
    pod["spec"] = spec
  }
}
