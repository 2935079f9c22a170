import KubeCore

/// CustomResourceDefinitions (apiextensions-apiserver pkg/registry/customresourcedefinition:
/// strategy.go, etcd.go; its establishing, naming and finalizer controllers run in the hooks).
struct CustomResourceDefinitionStrategy: ResourceStrategy {
  func prepareForCreate(_ object: inout JSONValue, server: APIServer) throws {
    setDefaults(&object)
    object["status"] = CRDSupport.initialStatus(object)
  }
  func prepareForUpdate(_ object: inout JSONValue, old: JSONValue, server: APIServer) throws { setDefaults(&object) }

  private func setDefaults(_ object: inout JSONValue) {
    BuiltinDefaults.setIfAbsent(&object, ["spec", "conversion", "strategy"], "None")
    if let kind = object[path: ["spec", "names", "kind"]]?.stringValue {
      BuiltinDefaults.setIfAbsent(&object, ["spec", "names", "listKind"], .string(kind + "List"))
      BuiltinDefaults.setIfAbsent(&object, ["spec", "names", "singular"], .string(kind.lowercased()))
    }
  }

  func validate(_ crd: JSONValue) -> [FieldError] { CRDSupport.validate(crd) }
  func validateUpdate(_ crd: JSONValue, old: JSONValue) -> [FieldError] { CRDSupport.validate(crd) }

  /// The naming and establishing controllers accept its names and start serving it.
  func afterWrite(_ stored: JSONValue, state: inout ObjectStore.State, server: APIServer) {
    _ = CRDSupport.establish(stored, state: &state, server: server)
  }

  /// Deleting a CRD first deletes its objects, behind this finalizer (etcd.go Delete).
  var deletionFinalizers: [String] { [CRDSupport.cleanupFinalizer] }

  /// etcd.go's Delete only sets the timestamp (no grace period, no generation bump), and the CRD
  /// says it is terminating.
  func markDeleting(_ object: inout JSONValue, now: JSONValue) {
    if object[path: ["metadata", "deletionTimestamp"]] == nil { object[path: ["metadata", "deletionTimestamp"]] = now }
    object = CRDSupport.markTerminating(object, now: now)
  }

  /// The finalizer controller (pkg/controller/finalizer): drops the CRD's objects and stops serving it.
  func finalize(_ object: inout JSONValue, finalizers: inout [String], state: inout ObjectStore.State,
                server: APIServer) -> Bool {
    guard finalizers.contains(CRDSupport.cleanupFinalizer) else { return false }
    CRDSupport.removeServedResources(object, state: &state, catalog: server.catalog)
    finalizers.removeAll { $0 == CRDSupport.cleanupFinalizer }
    return true
  }

  var tableColumns: [TableConverter.Column]? {
    [TableConverter.nameColumn, .init(name: "Created At", type: "date") { o, _ in TableConverter.str(o, "metadata", "creationTimestamp") }]
  }
}
