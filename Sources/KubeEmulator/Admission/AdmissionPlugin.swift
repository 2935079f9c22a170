import KubeCore

/// One admission plugin (k8s.io/apiserver pkg/admission/interfaces.go): a mutating `admit`, run on
/// the object before it is validated, and a validating `validate`, run under the store lock with
/// what is stored. Both default to doing nothing, so a plugin states only its own phase.
protocol AdmissionPlugin: Sendable {
  /// The plugin's upstream name (`NamespaceLifecycle`, `ServiceAccount`, …).
  var name: String { get }
  func admit(_ object: inout JSONValue, _ attributes: AdmissionAttributes) throws
  func validate(_ object: JSONValue, _ attributes: AdmissionAttributes, state: ObjectStore.State) throws
}

extension AdmissionPlugin {
  func admit(_ object: inout JSONValue, _ attributes: AdmissionAttributes) throws {}
  func validate(_ object: JSONValue, _ attributes: AdmissionAttributes, state: ObjectStore.State) throws {}
}

/// What a plugin is told about a write (admission.Attributes).
struct AdmissionAttributes {
  enum Operation: Sendable { case create, update }
  var resource: APIResource
  var operation: Operation
  /// The request's namespace; nil for cluster-scoped resources.
  var namespace: String?
  /// The service accounts as the ServiceAccount plugin's lister sees them.
  var serviceAccounts: ServiceAccountCache? = nil
  /// The RuntimeClasses as the RuntimeClass plugin's lister sees them.
  var runtimeClasses: RuntimeClassCache? = nil
  /// Whether the object is a pod, which several plugins only look at (their `GroupResource() != api.Resource("pods")` checks).
  var isPod: Bool { resource.groupResource == GroupResource(group: "", resource: "pods") }
}
