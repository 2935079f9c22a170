import Foundation
import KubeCore

/// Writes core/v1 Events about objects, as client-go's record.EventRecorder does for one component.
struct EventRecorder: Sendable {
  let api: ClusterAPI
  let component: String
  let host: String?

  init(api: ClusterAPI, component: String, host: String? = nil) {
    self.api = api; self.component = component; self.host = host
  }

  /// Records an event; failures are ignored, as upstream's recorder drops events it cannot write.
  func record(_ object: JSONValue, kind: String, apiVersion: String = "v1", type: String = "Normal",
              reason: String, message: String, fieldPath: String? = nil) {
    let now = Date()
    let ns = object.namespace.isEmpty ? "default" : object.namespace
    // client-go names events `<object>.<unix nanos in hex>`.
    let name = "\(object.name).\(String(UInt64(now.timeIntervalSince1970 * 1e9), radix: 16))"
    var involved: JSONValue = ["kind": .string(kind), "namespace": .string(object.namespace), "name": .string(object.name),
                               "uid": .string(object.uid), "apiVersion": .string(apiVersion)]
    if let rv = object[path: ["metadata", "resourceVersion"]] { involved["resourceVersion"] = rv }
    if let fieldPath { involved["fieldPath"] = .string(fieldPath) }
    var source: JSONValue = ["component": .string(component)]
    if let host { source["host"] = .string(host) }
    let event: JSONValue = [
      "apiVersion": "v1", "kind": "Event",
      "metadata": ["name": .string(name), "namespace": .string(ns)],
      "involvedObject": involved, "reason": .string(reason), "message": .string(message), "type": .string(type),
      "source": source, "firstTimestamp": .string(rfc3339(now)), "lastTimestamp": .string(rfc3339(now)), "count": 1,
      "reportingComponent": .string(component), "reportingInstance": .string(host ?? component),
    ]
    _ = try? api.create(Paths.events(ns), event)
  }
}
