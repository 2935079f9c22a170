import KubeCore

/// Finds the strategy of a resource, as kube-apiserver's storage providers wire one strategy into
/// the store of each resource (pkg/registry/<group>/rest/storage_<group>.go).
enum ResourceStrategies {
  /// Strategies by `group/resource`; a resource served in several versions shares one. events.k8s.io
  /// Events, stored as core Events, keep a strategy of their own: they are validated and printed
  /// in their own form.
  static let byGroupResource: [String: any ResourceStrategy] = [
    "/pods": PodStrategy(),
    "/podtemplates": PodTemplateStrategy(),
    "/replicationcontrollers": ReplicationControllerStrategy(),
    "/services": ServiceStrategy(),
    "/namespaces": NamespaceStrategy(),
    "/nodes": NodeStrategy(),
    "/secrets": SecretStrategy(),
    "/configmaps": ConfigMapStrategy(),
    "/serviceaccounts": ServiceAccountStrategy(),
    "/events": EventStrategy(),
    "events.k8s.io/events": EventsV1Strategy(),
    "/persistentvolumeclaims": PersistentVolumeClaimStrategy(),
    "/persistentvolumes": PersistentVolumeStrategy(),
    "apps/deployments": DeploymentStrategy(),
    "apps/replicasets": ReplicaSetStrategy(),
    "apps/daemonsets": DaemonSetStrategy(),
    "apps/statefulsets": StatefulSetStrategy(),
    "batch/jobs": JobStrategy(),
    "batch/cronjobs": CronJobStrategy(),
    "coordination.k8s.io/leases": LeaseStrategy(),
    "policy/poddisruptionbudgets": PodDisruptionBudgetStrategy(),
    "node.k8s.io/runtimeclasses": RuntimeClassStrategy(),
    "apiregistration.k8s.io/apiservices": APIServiceStrategy(),
    "rbac.authorization.k8s.io/roles": RBACStrategy(),
    "rbac.authorization.k8s.io/clusterroles": RBACStrategy(),
    "rbac.authorization.k8s.io/rolebindings": RBACStrategy(),
    "rbac.authorization.k8s.io/clusterrolebindings": RBACStrategy(),
    CRDSupport.storageKey: CustomResourceDefinitionStrategy(),
  ]

  static let generic: any ResourceStrategy = GenericStrategy()

  /// The strategy of `resource`; custom resources and resources without rules of their own get the
  /// generic one.
  static func strategy(for resource: APIResource) -> any ResourceStrategy {
    guard !resource.isCustom else { return generic }
    return byGroupResource["\(resource.group)/\(resource.resource)"] ?? generic
  }
}

extension APIResource {
  /// This resource's `ResourceStrategy`.
  var strategy: any ResourceStrategy { ResourceStrategies.strategy(for: self) }
}
