import KubeCore

/// RuntimeClass (plugin/pkg/admission/runtimeclass/admission.go, enabled by default): a new pod
/// that names a RuntimeClass which does not exist — or is being deleted — is refused with 403
/// `pod rejected: RuntimeClass "NAME" not found`; a pod that sets `overhead` must match its
/// RuntimeClass's `overhead.podFixed` ("pod rejected: Pod's Overhead doesn't match RuntimeClass's
/// defined Overhead", or "… set without corresponding RuntimeClass defined Overhead").
///
/// So a cluster without the `nvidia` RuntimeClass (MicroK8s without its gpu addon) shows the
/// ReplicaSet's `FailedCreate` Event for an EdgeModel's pods, as a real one does. Not done here: the
/// plugin's mutating half, which copies the RuntimeClass's overhead and scheduling (node selector,
/// tolerations) into the pod.
struct RuntimeClassAdmission: AdmissionPlugin {
  var name: String { "RuntimeClass" }

  func validate(_ pod: JSONValue, _ attributes: AdmissionAttributes, state: ObjectStore.State) throws {
    guard attributes.isPod, attributes.operation == .create else { return }
    let podName = pod[path: ["metadata", "name"]]?.stringValue ?? pod[path: ["metadata", "generateName"]]?.stringValue ?? ""
    func refuse(_ why: String) -> APIError {
      .forbidden(message: "pods \"\(podName)\" is forbidden: \(why)", resource: GroupResource(group: "", resource: "pods"), name: podName)
    }
    let overhead = pod[path: ["spec", "overhead"]]?.objectValue ?? [:]
    guard let className = pod[path: ["spec", "runtimeClassName"]]?.stringValue, !className.isEmpty else {
      if !overhead.isEmpty { throw refuse("pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead") }
      return
    }
    guard let runtimeClass = state.get("node.k8s.io/runtimeclasses", namespace: "", name: className),
          runtimeClass[path: ["metadata", "deletionTimestamp"]] == nil else {
      throw refuse("pod rejected: RuntimeClass \"\(className)\" not found")
    }
    guard !overhead.isEmpty else { return }
    guard let fixed = runtimeClass[path: ["overhead", "podFixed"]]?.objectValue else {
      throw refuse("pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead")
    }
    if fixed != overhead { throw refuse("pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead") }
  }
}
