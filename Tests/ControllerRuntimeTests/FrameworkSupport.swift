import KubeClient
import KubeCore
import KubeEmulator
import Logging
import Testing
@testable import ControllerRuntime

/// A custom resource for the framework's tests: `widgets.test.edgeml.io`, with a status subresource.
let widgets = GroupVersionResource(group: "test.edgeml.io", version: "v1", resource: "widgets", namespaced: true)

func installWidgetCRD(_ c: KubeClient) async throws {
  let open: JSONValue = ["type": "object", "x-kubernetes-preserve-unknown-fields": true]
  _ = try await c.create(GroupVersionResource(group: "apiextensions.k8s.io", version: "v1", resource: "customresourcedefinitions",
                                              namespaced: false), [
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": ["name": "widgets.test.edgeml.io"],
    "spec": ["group": "test.edgeml.io", "scope": "Namespaced",
             "names": ["plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"],
             "versions": [["name": "v1", "served": true, "storage": true, "subresources": ["status": [:]],
                           "schema": ["openAPIV3Schema": ["type": "object", "properties": ["spec": open, "status": open]]]]]],
  ])
}

func widget(_ name: String, size: Int = 1) -> JSONValue {
  ["apiVersion": "test.edgeml.io/v1", "kind": "Widget", "metadata": ["name": .string(name), "namespace": "default"],
   "spec": ["size": JSONValue(size)]]
}

/// Lists `resource` into `store`, as a reflector's relist would: tests read a current cache
/// without waiting for a watch.
func refresh(_ store: Store, _ c: KubeClient, _ resource: GroupVersionResource, labelSelector: String? = nil) async throws {
  let page = try await c.listAll(resource, namespace: "default", labelSelector: labelSelector)
  await store.replace(page.items.map(CachedFields.all.transform), resourceVersion: page.resourceVersion)
}

/// Records what it was asked to reconcile, and answers with a fixed result or error.
actor Seen {
  var requests: [String] = []
  var changes: [(old: String?, new: String?)] = []
  var labels: [String?] = []
  func add(_ r: String) { requests.append(r) }
  func add(label: String?) { labels.append(label) }
  func add(change: ObjectChange) {
    changes.append((change.old?[path: ["data", "v"]]?.stringValue, change.new?[path: ["data", "v"]]?.stringValue))
  }
}

struct RecordingReconciler: Reconciler {
  let seen: Seen
  var result: ReconcileResult = .done
  var error: (any Error & Sendable)? = nil
  func reconcile(_ request: ReconcileRequest, context: ReconcileContext) async throws -> ReconcileResult {
    await seen.add(request.description)
    if let error { throw error }
    return result
  }
}

struct Boom: Error, Sendable {}
