import EdgeMLVocabulary
import KubeCore

/// A Node as placement sees it: readiness, taints, GPU capacity and the Jetson facts the node agent
/// put in its `edgeml.io/*` labels (docs/edgemodel-contracts.md §1).
public struct JetsonNode: Sendable, Equatable {
  public var name: String
  public var labels: [String: String]
  public var ready: Bool
  public var unschedulable: Bool
  public var taints: [Taint]
  /// Allocatable `nvidia.com/gpu`; nil when the node has no such resource (no device plugin).
  public var allocatableGPUs: Int?

  public var module: String? { labels[JetsonLabels.module] }
  public var l4t: String? { labels[JetsonLabels.l4t] }
  public var tensorRT: String? { labels[JetsonLabels.tensorRT] }
  public var gpuArch: String? { labels[JetsonLabels.gpuArch] }
  public var dlaCores: Int { labels[JetsonLabels.dlaCores].flatMap { Int($0) } ?? 0 }
  public var memoryMiB: Int? { labels[JetsonLabels.memoryMiB].flatMap { Int($0) } }
  public var secureBoot: Bool { labels[JetsonLabels.secureBoot] == "true" }

  public init(name: String, labels: [String: String] = [:], ready: Bool = true, unschedulable: Bool = false,
              taints: [Taint] = [], allocatableGPUs: Int? = nil) {
    self.name = name
    self.labels = labels
    self.ready = ready
    self.unschedulable = unschedulable
    self.taints = taints
    self.allocatableGPUs = allocatableGPUs
  }

  /// Reads a Node object; a field that is absent or malformed reads as its safe value (not ready,
  /// no GPU), never as an error: a half-written Node must not stop placement of every model.
  public init(json: JSONValue) {
    name = json[path: ["metadata", "name"]]?.stringValue ?? ""
    var labels: [String: String] = [:]
    for (k, v) in json[path: ["metadata", "labels"]]?.objectValue ?? [:] { if let s = v.stringValue { labels[k] = s } }
    self.labels = labels
    let conditions = json[path: ["status", "conditions"]]?.arrayValue ?? []
    ready = conditions.contains { $0["type"] == "Ready" && $0["status"] == "True" }
    unschedulable = json[path: ["spec", "unschedulable"]]?.boolValue ?? false
    taints = (json[path: ["spec", "taints"]]?.arrayValue ?? []).map {
      Taint(key: $0["key"]?.stringValue ?? "", value: $0["value"]?.stringValue, effect: $0["effect"]?.stringValue ?? "")
    }
    if let gpu = json[path: ["status", "allocatable", "nvidia.com/gpu"]] {
      allocatableGPUs = (gpu.stringValue.flatMap { Int($0) }) ?? gpu.intValue ?? 0
    } else {
      allocatableGPUs = nil
    }
  }

  /// GPU-capable: the device plugin offers at least one `nvidia.com/gpu`, or, where no device plugin
  /// runs (the resource is absent), the node agent found a Jetson GPU (`edgeml.io/gpu.arch`). On a
  /// Jetson the integrated GPU is reached through the NVIDIA container runtime
  /// (`runtimeClassName: nvidia`), so the device plugin is optional there.
  public var gpuCapable: Bool {
    if let allocatableGPUs { return allocatableGPUs > 0 }
    return gpuArch != nil
  }
}

/// A node taint (core/v1 Taint).
public struct Taint: Sendable, Equatable, Hashable {
  public var key: String
  public var value: String?
  public var effect: String
  public init(key: String, value: String? = nil, effect: String) { self.key = key; self.value = value; self.effect = effect }

  /// Whether one of `tolerations` tolerates this taint (k8s.io/api core/v1 toleration.go
  /// `ToleratesTaint`: effect empty or equal; empty key with Exists matches all; Exists ignores the value).
  public func tolerated(by tolerations: [Toleration]) -> Bool {
    tolerations.contains { t in
      if let e = t.effect, !e.isEmpty, e != effect { return false }
      let op = t.operator ?? "Equal"
      if (t.key ?? "").isEmpty { return op == "Exists" }
      guard t.key == key else { return false }
      return op == "Exists" || (t.value ?? "") == (value ?? "")
    }
  }
}

/// The node labels the node agent owns (docs/edgemodel-contracts.md §1): the shared vocabulary's list.
public typealias JetsonLabels = NodeLabels
