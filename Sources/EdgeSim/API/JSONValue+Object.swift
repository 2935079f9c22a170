import Foundation
import KubeCore

/// Reading the metadata and status fields the simulator needs from untyped objects.
extension JSONValue {
  var name: String { self[path: ["metadata", "name"]]?.stringValue ?? "" }
  var resourceVersion: String { self[path: ["metadata", "resourceVersion"]]?.stringValue ?? "" }
  var namespace: String { self[path: ["metadata", "namespace"]]?.stringValue ?? "" }
  var uid: String { self[path: ["metadata", "uid"]]?.stringValue ?? "" }
  var generation: Int { self[path: ["metadata", "generation"]]?.intValue ?? 0 }
  var isDeleting: Bool { self[path: ["metadata", "deletionTimestamp"]] != nil }
  var creationTimestamp: String { self[path: ["metadata", "creationTimestamp"]]?.stringValue ?? "" }

  var labels: [String: String] { Self.stringMap(self[path: ["metadata", "labels"]]) }
  var annotations: [String: String] { Self.stringMap(self[path: ["metadata", "annotations"]]) }

  static func stringMap(_ value: JSONValue?) -> [String: String] {
    var out: [String: String] = [:]
    for (k, v) in value?.objectValue ?? JSONObject() { if let s = v.stringValue { out[k] = s } }
    return out
  }

  /// The uid of the controlling owner (`ownerReferences[].controller == true`) of the given kind.
  func controllerUID(kind: String) -> String? {
    for ref in self[path: ["metadata", "ownerReferences"]]?.arrayValue ?? []
    where ref["controller"]?.boolValue == true && ref["kind"]?.stringValue == kind {
      return ref["uid"]?.stringValue
    }
    return nil
  }

  func controllerName(kind: String) -> String? {
    for ref in self[path: ["metadata", "ownerReferences"]]?.arrayValue ?? []
    where ref["controller"]?.boolValue == true && ref["kind"]?.stringValue == kind {
      return ref["name"]?.stringValue
    }
    return nil
  }

  /// An owner reference to this object, as controllers write it (`controller` and `blockOwnerDeletion` true).
  func controllerReference(apiVersion: String, kind: String) -> JSONValue {
    ["apiVersion": .string(apiVersion), "kind": .string(kind), "name": .string(name), "uid": .string(uid),
     "controller": true, "blockOwnerDeletion": true]
  }

  /// The condition of `type`, if present.
  func condition(_ type: String, at path: [String] = ["status", "conditions"]) -> JSONValue? {
    (self[path: path]?.arrayValue ?? []).first { $0["type"]?.stringValue == type }
  }

  func conditionStatus(_ type: String) -> String? { condition(type)?["status"]?.stringValue }

  // MARK: pods

  var nodeName: String { self[path: ["spec", "nodeName"]]?.stringValue ?? "" }
  var phase: String { self[path: ["status", "phase"]]?.stringValue ?? "" }
  var isTerminal: Bool { phase == "Succeeded" || phase == "Failed" }
  /// Not terminal and not being deleted (pkg/controller/controller_utils.go `IsPodActive`).
  var isActivePod: Bool { !isTerminal && !isDeleting }
  var isPodReady: Bool { conditionStatus("Ready") == "True" }
}

/// Condition lists with upstream's transition rule: `lastTransitionTime` changes only when the
/// status does (apimachinery pkg/api/meta/conditions.go `SetStatusCondition`).
func setCondition(_ conditions: inout [JSONValue], type: String, status: String, reason: String? = nil,
                  message: String? = nil, now: String, extra: JSONObject = [:]) {
  var condition: JSONValue = ["type": .string(type), "status": .string(status)]
  for (k, v) in extra { condition[k] = v }
  if let reason { condition["reason"] = .string(reason) }
  if let message { condition["message"] = .string(message) }
  if let i = conditions.firstIndex(where: { $0["type"]?.stringValue == type }) {
    let old = conditions[i]
    let sameStatus = old["status"]?.stringValue == status
    condition["lastTransitionTime"] = sameStatus ? (old["lastTransitionTime"] ?? .string(now)) : .string(now)
    if old["lastUpdateTime"] != nil || extra["lastUpdateTime"] != nil {
      let sameContent = sameStatus && old["reason"] == condition["reason"] && old["message"] == condition["message"]
      condition["lastUpdateTime"] = sameContent ? (old["lastUpdateTime"] ?? .string(now)) : .string(now)
    }
    conditions[i] = condition
  } else {
    condition["lastTransitionTime"] = .string(now)
    if extra["lastUpdateTime"] != nil { condition["lastUpdateTime"] = .string(now) }
    conditions.append(condition)
  }
}

/// RFC 3339 to the second, as `metav1.Time` serialises.
func rfc3339(_ date: Date) -> String {
  Timestamp(secondsSinceEpoch: Int64(date.timeIntervalSince1970.rounded(.down))).rfc3339
}

func parseRFC3339(_ text: String?) -> Date? {
  guard let text, let t = try? Timestamp(rfc3339: text) else { return nil }
  return Date(timeIntervalSince1970: Double(t.secondsSinceEpoch) + Double(t.nanoseconds) / 1e9)
}

func rfc3339Micro(_ date: Date) -> String {
  let s = date.timeIntervalSince1970.rounded(.down)
  return Timestamp(secondsSinceEpoch: Int64(s), nanoseconds: Int32((date.timeIntervalSince1970 - s) * 1e9)).rfc3339Micro
}
