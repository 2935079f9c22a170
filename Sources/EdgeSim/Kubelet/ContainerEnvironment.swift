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
    func text(_ d: Data) -> String { String(decoding: d, as: UTF8.self) }
    for entry in container["envFrom"]?.arrayValue ?? [] {
      let prefix = entry["prefix"]?.stringValue ?? ""
      for (source, field) in [(KeyedSource.secret, "secretRef"), (.configMap, "configMapRef")] {
        guard let ref = entry[field] else { continue }
        let name = ref["name"]?.stringValue ?? ""
        guard let data = source.load(api, namespace: pod.namespace, name: name) else {
          if ref["optional"]?.boolValue == true { continue }
          throw .missing("\(source.lowerName) \"\(name)\" not found")
        }
        for (k, v) in data.sorted(by: { $0.key < $1.key }) { set(prefix + k, text(v)) }
      }
    }
    for e in container["env"]?.arrayValue ?? [] {
      let name = e["name"]?.stringValue ?? ""
      let keyRef = [(KeyedSource.secret, "secretKeyRef"), (.configMap, "configMapKeyRef")].lazy
        .compactMap { source, field in e[path: ["valueFrom", field]].map { (source, $0) } }.first
      if let value = e["value"]?.stringValue {
        set(name, expand(value, env))
      } else if let (source, ref) = keyRef {
        let objectName = ref["name"]?.stringValue ?? "", key = ref["key"]?.stringValue ?? ""
        let data = source.load(api, namespace: pod.namespace, name: objectName)
        guard let value = data?[key] else {
          if ref["optional"]?.boolValue == true { continue }
          throw .missing(data == nil ? "\(source.lowerName) \"\(objectName)\" not found"
                         : "couldn't find key \(key) in \(source.kind) \(pod.namespace)/\(objectName)")
        }
        set(name, text(value))
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
