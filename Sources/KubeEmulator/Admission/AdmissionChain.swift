import KubeCore

/// The admission plugins every write passes, in kube-apiserver's order (k8s.io/kubernetes
/// pkg/kubeapiserver/options/plugins.go `AllOrderedPlugins`; the ones a v1.36 server enables by
/// default that the emulator has a use for).
struct AdmissionChain: Sendable {
  var plugins: [any AdmissionPlugin]

  static let standard = AdmissionChain(plugins: [
    NamespaceLifecycleAdmission(),
    ServiceAccountAdmission(),
    DefaultTolerationSecondsAdmission(),
    PriorityAdmission(),
    RuntimeClassAdmission(),
  ])

  /// The mutating phase: each plugin in order.
  func admit(_ object: inout JSONValue, _ attributes: AdmissionAttributes) throws {
    for plugin in plugins { try plugin.admit(&object, attributes) }
  }

  /// The validating phase: each plugin in order; the first refusal is the answer.
  func validate(_ object: JSONValue, _ attributes: AdmissionAttributes, state: ObjectStore.State) throws {
    for plugin in plugins { try plugin.validate(object, attributes, state: state) }
  }
}
