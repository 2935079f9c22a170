import ControllerRuntime
import Foundation
import KubeClient
import KubeCore

/// The first EdgeModel reconciler: it acknowledges each generation of an EdgeModel by writing
/// `status.observedGeneration` and a `Ready=Unknown` condition (placement, engine builds and serving
/// come with issue 6).
///
/// *Guarantees*: level-based and idempotent; an EdgeModel whose status already says this writes
/// nothing, so a steady cluster sees zero API writes per minute.
public struct EdgeModelStatusReconciler: Reconciler {
  public static let resource = GroupVersionResource(group: EdgeMLAPI.group, version: EdgeMLAPI.version, resource: "edgemodels", namespaced: true)
  public let client: KubeClient
  public let store: Store
  public let recorder: EventRecorder?

  public init(client: KubeClient, store: Store, recorder: EventRecorder? = nil) {
    self.client = client
    self.store = store
    self.recorder = recorder
  }

  /// The status this reconciler wants for an object at `generation`, keeping a matching
  /// condition's transition time (conditions change time only when their status changes).
  public static func desiredStatus(_ object: JSONValue, now: String) -> JSONValue? {
    guard let generation = object[path: ["metadata", "generation"]]?.intValue else { return nil }
    let previous = (object[path: ["status", "conditions"]]?.arrayValue ?? []).first { $0["type"] == "Ready" }
    let unchanged = previous?["status"] == "Unknown" && previous?["reason"] == "Reconciling"
    let ready: JSONObject = ["type": "Ready", "status": "Unknown", "observedGeneration": JSONValue(generation),
                             "lastTransitionTime": unchanged ? (previous?["lastTransitionTime"] ?? .string(now)) : .string(now),
                             "reason": "Reconciling",
                             "message": "the EdgeModel is accepted; placement and engine builds are not implemented yet"]
    var conditions = (object[path: ["status", "conditions"]]?.arrayValue ?? []).filter { $0["type"] != "Ready" }
    conditions.append(.object(ready))
    return ["observedGeneration": JSONValue(generation), "conditions": .array(conditions)]
  }

  public func reconcile(_ request: ReconcileRequest) async throws -> ReconcileResult {
    guard let object = await store.get(request.description) else { return .done }   // deleted
    let now = Timestamp(secondsSinceEpoch: Int64(Date().timeIntervalSince1970)).rfc3339
    guard let desired = EdgeModelStatusReconciler.desiredStatus(object, now: now) else { return .done }
    let current = object["status"] ?? [:]
    if current["observedGeneration"] == desired["observedGeneration"] && current["conditions"] == desired["conditions"] {
      return .done
    }
    do {
      _ = try await client.patch(EdgeModelStatusReconciler.resource, namespace: request.namespace, name: request.name,
                                 ["status": desired], type: .merge, subresource: "status")
    } catch let e as KubeAPIError where e.isNotFound {
      return .done
    }
    if current["observedGeneration"] != desired["observedGeneration"] {
      await recorder?.record(regarding: object, type: "Normal", reason: "Accepted", action: "Reconcile",
                             note: "generation \(desired["observedGeneration"]?.intValue ?? 0) accepted")
    }
    return .done
  }
}
