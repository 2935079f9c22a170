import EdgeMLVocabulary
import KubeClient
import KubeCore

/// Which engine keys the cluster still wants, as far as one node's cache is concerned.
public struct CacheReferences: Sendable, Equatable {
  /// Key hex digits named by some EdgeModel's current engines (`status.engines[].key`).
  public var referenced: Set<String>
  /// Key hex digits of the pods on this node that have not finished (`edgeml.io/engine-key`).
  public var inUse: Set<String>

  public init(referenced: Set<String>, inUse: Set<String>) {
    self.referenced = referenced
    self.inUse = inUse
  }

  /// The EdgeModels resource (docs/edgemodel-contracts.md).
  public static let edgeModels = GroupVersionResource(group: "edgeml.io", version: "v1alpha1", resource: "edgemodels", namespaced: true)

  /// Reads them: the operator's pods on `node` (a `spec.nodeName` field selector, as the kubelet's
  /// own pod list is, and the operator's `managed-by` label) and every EdgeModel's status.
  ///
  /// Least privilege: `list` on pods and on edgemodels, nothing else. Only the two fields needed
  /// are built of each item.
  /// - Throws: `KubeAPIError` or `TransportError`; the caller then removes nothing this pass.
  public static func read(node: String, client: KubeClient) async throws -> CacheReferences {
    let pods = try await client.listAll(
      .pods, labelSelector: "\(ObjectLabels.managedBy)=\(ObjectLabels.managedByValue)",
      fieldSelector: "spec.nodeName=\(node)",
      projection: .keeping(["metadata", "status"], members: ["metadata": .keeping(["annotations"]), "status": .keeping(["phase"])]))
    let models = try await client.listAll(edgeModels, projection: .keeping(["status"], members: ["status": .keeping(["engines"])]))
    return CacheReferences(pods: pods.items, edgeModels: models.items)
  }

  /// From listed pods (of one node) and EdgeModels.
  public init(pods: [JSONValue], edgeModels: [JSONValue]) {
    inUse = Set(pods.compactMap { pod -> String? in
      // A finished pod's init container will not run again (restartPolicy of a workload's pods is
      // Always, so these are only evicted or deleted pods the kubelet has not cleaned up yet).
      let phase = pod[path: ["status", "phase"]]?.stringValue
      guard phase != "Succeeded", phase != "Failed" else { return nil }
      return CacheReferences.keyHex(pod[path: ["metadata", "annotations", ObjectLabels.engineKey]]?.stringValue)
    })
    referenced = Set(edgeModels.flatMap { model in
      (model[path: ["status", "engines"]]?.arrayValue ?? []).compactMap { CacheReferences.keyHex($0["key"]?.stringValue) }
    })
  }

  /// The hex part of a `sha256:<hex>` key, nil for anything else.
  static func keyHex(_ key: String?) -> String? {
    guard let key, key.hasPrefix("sha256:") else { return nil }
    return String(key.dropFirst("sha256:".count))
  }
}
