import Foundation
import KubeCore

/// Secrets and ConfigMaps as the kubelet consumes them: a map from key to bytes.
enum KeyedSource: Sendable, CaseIterable {
  case secret, configMap

  var storageKey: String { self == .secret ? Keys.secrets : Keys.configMaps }
  /// How the kubelet's messages name the kind ("secret \"x\" not found", "Secret ns/x").
  var lowerName: String { self == .secret ? "secret" : "configmap" }
  var kind: String { self == .secret ? "Secret" : "ConfigMap" }

  /// The object's keys: a Secret's `data` (base64) and `stringData`, a ConfigMap's `data` and `binaryData` (base64);
  /// nil when the object does not exist.
  func load(_ api: ClusterAPI, namespace: String, name: String) -> [String: Data]? {
    guard let object = api.get(storageKey, namespace: namespace, name: name) else { return nil }
    let (encoded, plain) = self == .secret ? ("data", "stringData") : ("binaryData", "data")
    var out: [String: Data] = [:]
    for (k, v) in object[encoded]?.objectValue ?? JSONObject() { out[k] = Data(base64Encoded: v.stringValue ?? "") ?? Data() }
    for (k, v) in object[plain]?.objectValue ?? JSONObject() { out[k] = Data((v.stringValue ?? "").utf8) }
    return out
  }
}
