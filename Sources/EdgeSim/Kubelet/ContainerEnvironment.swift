import Foundation
import KubeCore

/// A container's environment as the kubelet builds it (pkg/kubelet/kubelet_pods.go `makeEnvironmentVariables`):
/// `envFrom` first, then `env` (later entries win), `$(VAR)` references expanded, `valueFrom` resolved.
enum ContainerEnvironment {
  /// - Throws: `SandboxError.missing` for a non-optional Secret, ConfigMap or key that does not exist
  ///   (the kubelet's `CreateContainerConfigError`).
  static func make(container: JSONValue, pod: JSONValue, api: ClusterAPI, hostIP: String, podIP: String) throws(SandboxError) -> [(String, String)] {
    var env: [(String, String)] = []
    func set(_ k: String, _ v: String) {
      if let i = env.firstIndex(where: { $0.0 == k }) { env[i].1 = v } else { env.append((k, v)) }
    }
    for source in container["envFrom"]?.arrayValue ?? [] {
      let prefix = source["prefix"]?.stringValue ?? ""
      if let ref = source["secretRef"] {
        let name = ref["name"]?.stringValue ?? ""
        guard let s = api.get(Keys.secrets, namespace: pod.namespace, name: name) else {
          if ref["optional"]?.boolValue == true { continue }
          throw .missing("secret \"\(name)\" not found")
        }
        for (k, v) in s["data"]?.objectValue ?? JSONObject() {
          set(prefix + k, String(decoding: Data(base64Encoded: v.stringValue ?? "") ?? Data(), as: UTF8.self))
        }
      }
      if let ref = source["configMapRef"] {
        let name = ref["name"]?.stringValue ?? ""
        guard let c = api.get(Keys.configMaps, namespace: pod.namespace, name: name) else {
          if ref["optional"]?.boolValue == true { continue }
          throw .missing("configmap \"\(name)\" not found")
        }
        for (k, v) in c["data"]?.objectValue ?? JSONObject() { set(prefix + k, v.stringValue ?? "") }
      }
    }
    for e in container["env"]?.arrayValue ?? [] {
      let name = e["name"]?.stringValue ?? ""
      if let value = e["value"]?.stringValue {
        set(name, expand(value, env))
      } else if let ref = e[path: ["valueFrom", "secretKeyRef"]] {
        let sname = ref["name"]?.stringValue ?? "", key = ref["key"]?.stringValue ?? ""
        let data = api.get(Keys.secrets, namespace: pod.namespace, name: sname)?["data"]?[key]?.stringValue
        guard let data else {
          if ref["optional"]?.boolValue == true { continue }
          throw .missing(api.get(Keys.secrets, namespace: pod.namespace, name: sname) == nil
                         ? "secret \"\(sname)\" not found" : "couldn't find key \(key) in Secret \(pod.namespace)/\(sname)")
        }
        set(name, String(decoding: Data(base64Encoded: data) ?? Data(), as: UTF8.self))
      } else if let ref = e[path: ["valueFrom", "configMapKeyRef"]] {
        let cname = ref["name"]?.stringValue ?? "", key = ref["key"]?.stringValue ?? ""
        let value = api.get(Keys.configMaps, namespace: pod.namespace, name: cname)?["data"]?[key]?.stringValue
        guard let value else {
          if ref["optional"]?.boolValue == true { continue }
          throw .missing(api.get(Keys.configMaps, namespace: pod.namespace, name: cname) == nil
                         ? "configmap \"\(cname)\" not found" : "couldn't find key \(key) in ConfigMap \(pod.namespace)/\(cname)")
        }
        set(name, value)
      } else if let path = e[path: ["valueFrom", "fieldRef", "fieldPath"]]?.stringValue {
        set(name, fieldValue(path, pod: pod, hostIP: hostIP, podIP: podIP))
      } else {
        set(name, "")
      }
    }
    return env
  }

  /// The downward API fields a fieldRef may name (pkg/kubelet/kubelet_pods.go `podFieldSelectorRuntimeValue`).
  static func fieldValue(_ path: String, pod: JSONValue, hostIP: String, podIP: String) -> String {
    switch path {
    case "metadata.name": return pod.name
    case "metadata.namespace": return pod.namespace
    case "metadata.uid": return pod.uid
    case "spec.nodeName": return pod.nodeName
    case "spec.serviceAccountName": return pod[path: ["spec", "serviceAccountName"]]?.stringValue ?? ""
    case "status.hostIP": return hostIP
    case "status.podIP": return podIP
    default:
      if path.hasPrefix("metadata.labels['"), path.hasSuffix("']") {
        return pod.labels[String(path.dropFirst("metadata.labels['".count).dropLast(2))] ?? ""
      }
      if path.hasPrefix("metadata.annotations['"), path.hasSuffix("']") {
        return pod.annotations[String(path.dropFirst("metadata.annotations['".count).dropLast(2))] ?? ""
      }
      return ""
    }
  }

  /// Expands `$(VAR)` from earlier variables; `$$` escapes (third_party/forked/golang/expansion).
  static func expand(_ text: String, _ env: [(String, String)]) -> String {
    guard text.contains("$") else { return text }
    var out = ""
    var i = text.startIndex
    while i < text.endIndex {
      let c = text[i]
      let next = text.index(after: i)
      if c == "$", next < text.endIndex {
        if text[next] == "$" { out.append("$"); i = text.index(after: next); continue }
        if text[next] == "(", let close = text[next...].firstIndex(of: ")") {
          let name = String(text[text.index(after: next)..<close])
          if let v = env.last(where: { $0.0 == name })?.1 { out += v } else { out += "$(\(name))" }
          i = text.index(after: close)
          continue
        }
      }
      out.append(c)
      i = next
    }
    return out
  }
}
