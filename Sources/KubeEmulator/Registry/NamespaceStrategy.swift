import KubeCore

/// Namespaces (pkg/registry/core/namespace/strategy.go and storage; the namespace controller,
/// pkg/controller/namespace, runs as `finalize`).
struct NamespaceStrategy: ResourceStrategy {
  static let storageKey = "/namespaces"
  var nameRule: NameRule { .dns1123Label }

  func prepareForCreate(_ object: inout JSONValue, server: APIServer) throws {
    setDefaults(&object)
    object[path: ["spec", "finalizers"]] = ["kubernetes"]
    object["status"] = ["phase": "Active"]
  }
  func prepareForUpdate(_ object: inout JSONValue, old: JSONValue, server: APIServer) throws { setDefaults(&object) }

  /// SetDefaults_Namespace: the `kubernetes.io/metadata.name` label.
  private func setDefaults(_ object: inout JSONValue) {
    let name = object[path: ["metadata", "name"]]?.stringValue ?? ""
    object[path: ["metadata", "labels", "kubernetes.io/metadata.name"]] = .string(name)
  }

  /// What two controllers of kube-controller-manager add to every new namespace, done here at
  /// once: its `default` ServiceAccount (the service-account controller, pkg/controller/serviceaccount)
  /// and the `kube-root-ca.crt` ConfigMap with the cluster CA (the root CA publisher,
  /// pkg/controller/certificates/rootcacertpublisher), which every pod's token volume projects.
  func afterWrite(_ stored: JSONValue, state: inout ObjectStore.State, server: APIServer) {
    guard stored[path: ["metadata", "deletionTimestamp"]] == nil,
          let namespace = stored[path: ["metadata", "name"]]?.stringValue else { return }
    server.ensureNamespaceDefaults(namespace, state: &state)
  }

  /// A namespace being deleted is `Terminating` (namespace storage's Delete).
  func markDeleting(_ object: inout JSONValue, now: JSONValue) {
    GenericStrategy.markDeleting(&object, now: now)
    object[path: ["status", "phase"]] = "Terminating"
  }

  /// It stays until the namespace controller has emptied it and cleared `spec.finalizers`.
  func awaitsFinalization(_ object: JSONValue) -> Bool {
    !(object[path: ["spec", "finalizers"]]?.arrayValue ?? []).isEmpty
  }

  /// The namespace controller: deletes everything in the namespace, then clears `spec.finalizers`.
  func finalize(_ object: inout JSONValue, finalizers: inout [String], state: inout ObjectStore.State,
                server: APIServer) -> Bool {
    let namespace = object[path: ["metadata", "name"]]?.stringValue ?? ""
    var changed = false
    var anyLeft = false
    for k in state.storageKeys where k != Self.storageKey {
      for o in state.list(k, namespace: namespace) {
        anyLeft = true
        if o[path: ["metadata", "deletionTimestamp"]] == nil, let r = server.resourceFor(storageKey: k) {
          _ = try? server.deleteLocked(&state, resource: r, namespace: namespace,
                                       name: o[path: ["metadata", "name"]]?.stringValue ?? "", options: APIServer.DeleteOptions())
          changed = true
        }
      }
    }
    if anyLeft {
      anyLeft = state.storageKeys.filter { $0 != Self.storageKey }.contains { !state.list($0, namespace: namespace).isEmpty }
    }
    if !anyLeft, object[path: ["spec", "finalizers"]] != nil {
      object[path: ["spec", "finalizers"]] = nil
      changed = true
    }
    return changed
  }

  /// printers.go `namespaceColumnDefinitions`.
  var tableColumns: [TableConverter.Column]? {
    [TableConverter.nameColumn, .init(name: "Status", type: "string") { o, _ in TableConverter.str(o, "status", "phase") }, TableConverter.ageColumn]
  }
}
