import KubeCore

/// RuntimeClass (plugin/pkg/admission/runtimeclass/admission.go, enabled by default), on pod
/// creation:
/// - mutating (`Admit`): the RuntimeClass's `overhead.podFixed` becomes the pod's `overhead` (a pod
///   that already sets a different one is refused), and its `scheduling` is merged in: the node
///   selector (a key the pod sets to another value is refused: "conflict:
///   runtimeClass.scheduling.nodeSelector[K] = V; pod.spec.nodeSelector[K] = W") and the
///   tolerations (pkg/util/tolerations `MergeTolerations`: a toleration another one covers is dropped);
/// - validating (`Validate`): a pod naming a RuntimeClass that does not exist — or is being deleted
///   — is refused with 403 `pod rejected: RuntimeClass "NAME" not found`; a pod's `overhead` must
///   match its RuntimeClass's ("pod rejected: Pod's Overhead doesn't match RuntimeClass's defined
///   Overhead", or "… set without corresponding RuntimeClass defined Overhead").
///
/// So a cluster without the `nvidia` RuntimeClass (MicroK8s without its gpu addon) shows the
/// ReplicaSet's `FailedCreate` Event for an EdgeModel's pods, as a real one does, and a RuntimeClass
/// that pins its pods to GPU nodes (`scheduling.nodeSelector`) places them there. Quantities are
/// compared as written, not semantically (`1000m` and `1` differ here).
struct RuntimeClassAdmission: AdmissionPlugin {
  var name: String { "RuntimeClass" }

  func admit(_ pod: inout JSONValue, _ attributes: AdmissionAttributes) throws {
    // Upstream reads its informer's lister; a class it has not seen is left to `validate`.
    guard attributes.isPod, attributes.operation == .create,
          let className = pod[path: ["spec", "runtimeClassName"]]?.stringValue, !className.isEmpty,
          let runtimeClass = attributes.runtimeClasses?.get(className) else { return }
    if let overhead = runtimeClass["overhead"] {
      let fixed = overhead["podFixed"]?.objectValue ?? [:]
      let podOverhead = pod[path: ["spec", "overhead"]]?.objectValue ?? [:]
      if !podOverhead.isEmpty && podOverhead != fixed {
        throw Self.refusal(pod, "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead")
      }
      pod[path: ["spec", "overhead"]] = fixed.isEmpty ? nil : .object(fixed)
    }
    guard let scheduling = runtimeClass["scheduling"] else { return }
    if let classSelector = scheduling["nodeSelector"]?.objectValue, !classSelector.isEmpty {
      var selector = pod[path: ["spec", "nodeSelector"]]?.objectValue ?? [:]
      for (key, value) in classSelector {
        if let podValue = selector[key], podValue != value {
          throw Self.refusal(pod, "conflict: runtimeClass.scheduling.nodeSelector[\(key)] = \(value.stringValue ?? ""); "
                                  + "pod.spec.nodeSelector[\(key)] = \(podValue.stringValue ?? "")")
        }
        selector[key] = value
      }
      pod[path: ["spec", "nodeSelector"]] = .object(selector)
    }
    let merged = Self.mergeTolerations(pod[path: ["spec", "tolerations"]]?.arrayValue ?? [],
                                       scheduling["tolerations"]?.arrayValue ?? [])
    pod[path: ["spec", "tolerations"]] = merged.isEmpty ? nil : .array(merged)
  }

  func validate(_ pod: JSONValue, _ attributes: AdmissionAttributes, state: ObjectStore.State) throws {
    guard attributes.isPod, attributes.operation == .create else { return }
    let overhead = pod[path: ["spec", "overhead"]]?.objectValue ?? [:]
    guard let className = pod[path: ["spec", "runtimeClassName"]]?.stringValue, !className.isEmpty else {
      if !overhead.isEmpty { throw Self.refusal(pod, "pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead") }
      return
    }
    guard let runtimeClass = state.get("node.k8s.io/runtimeclasses", namespace: "", name: className),
          runtimeClass[path: ["metadata", "deletionTimestamp"]] == nil else {
      throw Self.refusal(pod, "pod rejected: RuntimeClass \"\(className)\" not found")
    }
    guard !overhead.isEmpty else { return }
    guard let fixed = runtimeClass[path: ["overhead", "podFixed"]]?.objectValue else {
      throw Self.refusal(pod, "pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead")
    }
    if fixed != overhead { throw Self.refusal(pod, "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead") }
  }

  /// `admission.NewForbidden`: 403, `pods "NAME" is forbidden: WHY`.
  private static func refusal(_ pod: JSONValue, _ why: String) -> APIError {
    let podName = pod[path: ["metadata", "name"]]?.stringValue ?? pod[path: ["metadata", "generateName"]]?.stringValue ?? ""
    return .forbidden(message: "pods \"\(podName)\" is forbidden: \(why)", resource: GroupResource(group: "", resource: "pods"), name: podName)
  }

  /// pkg/util/tolerations `MergeTolerations`: both lists in order, without a toleration that one
  /// already kept covers, nor one that a later, different toleration covers (of equal ones, the first stays).
  static func mergeTolerations(_ first: [JSONValue], _ second: [JSONValue]) -> [JSONValue] {
    let all = first + second
    var merged: [JSONValue] = []
    for (i, t) in all.enumerated() {
      if merged.contains(where: { covers($0, t) }) { continue }
      if all[(i + 1)...].contains(where: { $0 != t && covers($0, t) }) { continue }
      merged.append(t)
    }
    return merged
  }

  /// `isSuperset(ss, t)`: whether toleration `ss` tolerates everything `t` does.
  static func covers(_ ss: JSONValue, _ t: JSONValue) -> Bool {
    if ss == t { return true }
    func field(_ v: JSONValue, _ k: String) -> String { v[k]?.stringValue ?? "" }
    if field(t, "key") != field(ss, "key") && (field(ss, "key") != "" || field(ss, "operator") != "Exists") { return false }
    // An empty effect matches every effect.
    if field(t, "effect") != field(ss, "effect") && field(ss, "effect") != "" { return false }
    if field(ss, "effect") == "NoExecute", let limit = ss["tolerationSeconds"]?.intValue {
      guard let seconds = t["tolerationSeconds"]?.intValue, seconds <= limit else { return false }
    }
    switch field(ss, "operator") {
    case "Equal", "": return field(t, "operator") == "Equal" && field(t, "value") == field(ss, "value")
    case "Exists": return true
    default: return false
    }
  }
}

/// The RuntimeClasses the mutating phase reads, as upstream's plugin reads its informer's lister:
/// recorded on every write of one (`RuntimeClassStrategy.afterWrite`). A deleted class may linger
/// here; the validating phase, which reads the store, refuses its pods.
final class RuntimeClassCache: Sendable {
  private let classes = Locked<[String: JSONValue]>([:])
  func get(_ name: String) -> JSONValue? { classes.value[name] }
  func record(_ runtimeClass: JSONValue) {
    guard let name = runtimeClass[path: ["metadata", "name"]]?.stringValue else { return }
    classes.update { $0[name] = runtimeClass }
  }
}
