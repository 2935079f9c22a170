/// What the OpenAPI document does not say about built-in resources: short names and categories.
///
/// Values are those a v1.36 kube-apiserver reports in discovery (`kubectl api-resources`), from the
/// REST storage of each resource (k8s.io/kubernetes/pkg/registry/*/rest: `ShortNames()`, `Categories()`).
enum BuiltinResourceTable {
  static let shortNames: [String: [String]] = [
    "/pods": ["po"], "/services": ["svc"], "/replicationcontrollers": ["rc"], "/namespaces": ["ns"],
    "/nodes": ["no"], "/configmaps": ["cm"], "/endpoints": ["ep"], "/events": ["ev"],
    "/limitranges": ["limits"], "/persistentvolumeclaims": ["pvc"], "/persistentvolumes": ["pv"],
    "/resourcequotas": ["quota"], "/serviceaccounts": ["sa"], "/componentstatuses": ["cs"],
    "apps/deployments": ["deploy"], "apps/daemonsets": ["ds"], "apps/replicasets": ["rs"],
    "apps/statefulsets": ["sts"], "batch/cronjobs": ["cj"], "autoscaling/horizontalpodautoscalers": ["hpa"],
    "policy/poddisruptionbudgets": ["pdb"], "apiextensions.k8s.io/customresourcedefinitions": ["crd", "crds"],
    "networking.k8s.io/ingresses": ["ing"], "networking.k8s.io/networkpolicies": ["netpol"],
    "scheduling.k8s.io/priorityclasses": ["pc"], "storage.k8s.io/storageclasses": ["sc"],
    "certificates.k8s.io/certificatesigningrequests": ["csr"], "events.k8s.io/events": ["ev"],
  ]

  static let categories: [String: [String]] = [
    "/pods": ["all"], "/services": ["all"], "/replicationcontrollers": ["all"],
    "apps/deployments": ["all"], "apps/daemonsets": ["all"], "apps/replicasets": ["all"], "apps/statefulsets": ["all"],
    "batch/jobs": ["all"], "batch/cronjobs": ["all"], "autoscaling/horizontalpodautoscalers": ["all"],
    "apiextensions.k8s.io/customresourcedefinitions": ["api-extensions"],
    "apiregistration.k8s.io/apiservices": ["api-extensions"],
    "admissionregistration.k8s.io/mutatingwebhookconfigurations": ["api-extensions"],
    "admissionregistration.k8s.io/validatingwebhookconfigurations": ["api-extensions"],
    "admissionregistration.k8s.io/validatingadmissionpolicies": ["api-extensions"],
    "admissionregistration.k8s.io/validatingadmissionpolicybindings": ["api-extensions"],
  ]

  /// Resources whose strategy maintains `metadata.generation` (their `PrepareForUpdate` bumps it when
  /// the spec changes). Custom resources always do.
  static let tracksGeneration: Set<String> = [
    "/pods", "/replicationcontrollers", "apps/deployments", "apps/replicasets", "apps/statefulsets",
    "apps/daemonsets", "batch/jobs", "batch/cronjobs", "policy/poddisruptionbudgets",
    "autoscaling/horizontalpodautoscalers", "networking.k8s.io/ingresses", "networking.k8s.io/networkpolicies",
    "apiextensions.k8s.io/customresourcedefinitions", "admissionregistration.k8s.io/validatingadmissionpolicies",
    "flowcontrol.apiserver.k8s.io/flowschemas", "flowcontrol.apiserver.k8s.io/prioritylevelconfigurations",
  ]
}
