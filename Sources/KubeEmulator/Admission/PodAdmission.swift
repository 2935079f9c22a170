import KubeCore

// The admission plugins that add to a pod. Like the defaults before them they run on updates too,
// where a real server's pod validation would refuse the change instead (a pod's spec is immutable
// but for a few fields), so a pod keeps what they added.

/// ServiceAccount (plugin/pkg/admission/serviceaccount/admission.go): a pod without one runs as `default`.
struct ServiceAccountAdmission: AdmissionPlugin {
  var name: String { "ServiceAccount" }
  func admit(_ pod: inout JSONValue, _ attributes: AdmissionAttributes) throws {
    guard attributes.isPod, var spec = pod["spec"] else { return }
    BuiltinDefaults.setIfAbsent(&spec, ["serviceAccountName"], "default")
    if spec["serviceAccount"] == nil { spec["serviceAccount"] = spec["serviceAccountName"] }
    pod["spec"] = spec
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
