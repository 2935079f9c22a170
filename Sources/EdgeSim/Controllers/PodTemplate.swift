import KubeCore

/// Pod templates: the hash controllers label their pods with, and pods made from a template.
enum PodTemplate {
  /// The `pod-template-hash` of a template: FNV-32a over the template, its decimal form encoded
  /// with apimachinery's `rand.SafeEncodeString` alphabet (pkg/controller/controller_utils.go
  /// `ComputeHash`; upstream hashes Go's printed struct, we hash the JSON, so values differ from a
  /// real cluster's but are stable and change exactly when the template does).
  static func hash(_ template: JSONValue) -> String {
    var t = template
    t[path: ["metadata", "labels", "pod-template-hash"]] = nil
    var h: UInt32 = 2_166_136_261
    for b in t.serialized() { h = (h ^ UInt32(b)) &* 16_777_619 }
    let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
    return String(String(h).utf8.map { alphabet[Int($0) % alphabet.count] })
  }

  /// A pod object from a template, owned by `owner` (pkg/controller/controller_utils.go `GetPodFromTemplate`).
  static func pod(from template: JSONValue, generateName: String, owner: JSONValue, extraLabels: [String: String] = [:]) -> JSONValue {
    var meta: JSONValue = ["generateName": .string(generateName),
                           "ownerReferences": [owner]]
    var labels = template[path: ["metadata", "labels"]]?.objectValue ?? JSONObject()
    for (k, v) in extraLabels.sorted(by: { $0.key < $1.key }) { labels[k] = .string(v) }
    if !labels.isEmpty { meta["labels"] = .object(labels) }
    if let annotations = template[path: ["metadata", "annotations"]] { meta["annotations"] = annotations }
    if let finalizers = template[path: ["metadata", "finalizers"]] { meta["finalizers"] = finalizers }
    return ["apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": template["spec"] ?? [:]]
  }

  /// `25%` of 10 → 2 or 3; plain integers as they are (apimachinery intstr `GetScaledValueFromIntOrPercent`).
  static func scaled(_ value: JSONValue?, total: Int, roundUp: Bool, default fallback: Int) -> Int {
    guard let value else { return fallback }
    if let i = value.intValue { return i }
    guard let s = value.stringValue, s.hasSuffix("%"), let p = Double(s.dropLast()) else { return fallback }
    let v = p * Double(total) / 100
    return Int(roundUp ? v.rounded(.up) : v.rounded(.down))
  }
}

/// A count as an `omitempty` field: absent when zero (or less).
func omitZero(_ n: Int) -> JSONValue? { n > 0 ? .some(JSONValue(n)) : .none }
