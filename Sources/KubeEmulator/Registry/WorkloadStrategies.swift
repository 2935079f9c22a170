import KubeCore

/// A strategy whose create and update apply the same defaults (the kind's SetDefaults_*), a create
/// also starting from the status `PrepareForCreate` gives a new object.
protocol DefaultingStrategy: ResourceStrategy {
  func setDefaults(_ object: inout JSONValue)
  var initialStatus: JSONValue { get }
}

extension DefaultingStrategy {
  func prepareForCreate(_ object: inout JSONValue, server: APIServer) throws {
    setDefaults(&object)
    object["status"] = initialStatus
  }
  func prepareForUpdate(_ object: inout JSONValue, old: JSONValue, server: APIServer) throws { setDefaults(&object) }
}

/// What the apps/v1 workloads share (pkg/apis/apps/validation): a selector that matches the
/// template, non-negative replicas, valid containers, and a selector that never changes.
protocol AppsWorkloadStrategy: DefaultingStrategy {}

extension AppsWorkloadStrategy {
  var nameRule: NameRule { .dns1123Label }
  func validate(_ object: JSONValue) -> [FieldError] { Validation.workload(object) }
  func validateUpdate(_ new: JSONValue, old: JSONValue) -> [FieldError] {
    Validation.workload(new) + Validation.immutableSelector(new, old: old)
  }
}

/// Deployments (pkg/registry/apps/deployment/strategy.go).
struct DeploymentStrategy: AppsWorkloadStrategy {
  var initialStatus: JSONValue { [:] }

  func setDefaults(_ object: inout JSONValue) {
    BuiltinDefaults.setIfAbsent(&object, ["spec", "replicas"], 1)
    if object[path: ["spec", "strategy", "type"]] == nil { object[path: ["spec", "strategy", "type"]] = "RollingUpdate" }
    if object[path: ["spec", "strategy", "type"]]?.stringValue == "RollingUpdate" {
      BuiltinDefaults.setIfAbsent(&object, ["spec", "strategy", "rollingUpdate", "maxUnavailable"], "25%")
      BuiltinDefaults.setIfAbsent(&object, ["spec", "strategy", "rollingUpdate", "maxSurge"], "25%")
    }
    BuiltinDefaults.setIfAbsent(&object, ["spec", "revisionHistoryLimit"], 10)
    BuiltinDefaults.setIfAbsent(&object, ["spec", "progressDeadlineSeconds"], 600)
    BuiltinDefaults.template(&object)
  }

  /// printers.go `deploymentColumnDefinitions` / `printDeployment`.
  var tableColumns: [TableConverter.Column]? {
    typealias Column = TableConverter.Column
    return [TableConverter.nameColumn,
            Column(name: "Ready", type: "string", description: "Number of the pod with ready state") { o, _ in
              .string("\(o[path: ["status", "readyReplicas"]]?.intValue ?? 0)/\(o[path: ["spec", "replicas"]]?.intValue ?? 0)")
            },
            Column(name: "Up-to-date", type: "integer", description: "Total number of non-terminated pods targeted by this deployment that have the desired template spec.") { o, _ in TableConverter.int(o, "status", "updatedReplicas") },
            Column(name: "Available", type: "integer", description: "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.") { o, _ in TableConverter.int(o, "status", "availableReplicas") },
            TableConverter.ageColumn,
            Column(name: "Containers", type: "string", description: "Names of each container in the template.", priority: 1) { o, _ in TableConverter.containerField(o, ["spec", "template", "spec", "containers"], "name") },
            Column(name: "Images", type: "string", description: "Images referenced by each container in the template.", priority: 1) { o, _ in TableConverter.containerField(o, ["spec", "template", "spec", "containers"], "image") },
            Column(name: "Selector", type: "string", description: "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.", priority: 1) { o, _ in TableConverter.selectorText(o) }]
  }
}

/// The columns ReplicaSets and ReplicationControllers share (printers.go `replicaSetColumnDefinitions`).
private let replicaSetColumns: [TableConverter.Column] = [
  TableConverter.nameColumn,
  .init(name: "Desired", type: "integer", description: "Replicas is the number of desired replicas.") { o, _ in TableConverter.int(o, "spec", "replicas") },
  .init(name: "Current", type: "integer", description: "Replicas is the most recently observed number of replicas.") { o, _ in TableConverter.int(o, "status", "replicas") },
  .init(name: "Ready", type: "integer", description: "The number of ready replicas for this replica set.") { o, _ in TableConverter.int(o, "status", "readyReplicas") },
  TableConverter.ageColumn,
]

/// ReplicaSets (pkg/registry/apps/replicaset/strategy.go).
struct ReplicaSetStrategy: AppsWorkloadStrategy {
  var initialStatus: JSONValue { ["replicas": 0] }
  func setDefaults(_ object: inout JSONValue) {
    BuiltinDefaults.setIfAbsent(&object, ["spec", "replicas"], 1)
    BuiltinDefaults.template(&object)
  }
  var tableColumns: [TableConverter.Column]? { replicaSetColumns }
}

/// ReplicationControllers (pkg/registry/core/replicationcontroller/strategy.go; the selector and
/// labels default from the template, SetDefaults_ReplicationController).
struct ReplicationControllerStrategy: DefaultingStrategy {
  var initialStatus: JSONValue { ["replicas": 0] }
  func setDefaults(_ object: inout JSONValue) {
    BuiltinDefaults.setIfAbsent(&object, ["spec", "replicas"], 1)
    if object[path: ["spec", "selector"]] == nil, let labels = object[path: ["spec", "template", "metadata", "labels"]] {
      object[path: ["spec", "selector"]] = labels
    }
    if object[path: ["metadata", "labels"]] == nil, let labels = object[path: ["spec", "template", "metadata", "labels"]] {
      object[path: ["metadata", "labels"]] = labels
    }
    BuiltinDefaults.template(&object)
  }
  var tableColumns: [TableConverter.Column]? { replicaSetColumns }
}

/// DaemonSets (pkg/registry/apps/daemonset/strategy.go).
struct DaemonSetStrategy: AppsWorkloadStrategy {
  var initialStatus: JSONValue { ["currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0, "numberReady": 0] }
  func setDefaults(_ object: inout JSONValue) {
    if object[path: ["spec", "updateStrategy", "type"]] == nil { object[path: ["spec", "updateStrategy", "type"]] = "RollingUpdate" }
    if object[path: ["spec", "updateStrategy", "type"]]?.stringValue == "RollingUpdate" {
      BuiltinDefaults.setIfAbsent(&object, ["spec", "updateStrategy", "rollingUpdate", "maxUnavailable"], 1)
      BuiltinDefaults.setIfAbsent(&object, ["spec", "updateStrategy", "rollingUpdate", "maxSurge"], 0)
    }
    BuiltinDefaults.setIfAbsent(&object, ["spec", "revisionHistoryLimit"], 10)
    BuiltinDefaults.template(&object)
  }

  /// printers.go `daemonSetColumnDefinitions` / `printDaemonSet`.
  var tableColumns: [TableConverter.Column]? {
    typealias Column = TableConverter.Column
    return [TableConverter.nameColumn,
            Column(name: "Desired", type: "integer") { o, _ in TableConverter.int(o, "status", "desiredNumberScheduled") },
            Column(name: "Current", type: "integer") { o, _ in TableConverter.int(o, "status", "currentNumberScheduled") },
            Column(name: "Ready", type: "integer") { o, _ in TableConverter.int(o, "status", "numberReady") },
            Column(name: "Up-to-date", type: "integer") { o, _ in TableConverter.int(o, "status", "updatedNumberScheduled") },
            Column(name: "Available", type: "integer") { o, _ in TableConverter.int(o, "status", "numberAvailable") },
            Column(name: "Node Selector", type: "string") { o, _ in
              let sel = o[path: ["spec", "template", "spec", "nodeSelector"]]?.objectValue ?? JSONObject()
              return .string(sel.isEmpty ? "<none>" : sel.map { "\($0.0)=\($0.1.stringValue ?? "")" }.joined(separator: ","))
            },
            TableConverter.ageColumn]
  }
}

/// StatefulSets (pkg/registry/apps/statefulset/strategy.go).
struct StatefulSetStrategy: AppsWorkloadStrategy {
  var initialStatus: JSONValue { ["replicas": 0, "availableReplicas": 0] }
  func setDefaults(_ object: inout JSONValue) {
    BuiltinDefaults.setIfAbsent(&object, ["spec", "replicas"], 1)
    BuiltinDefaults.setIfAbsent(&object, ["spec", "podManagementPolicy"], "OrderedReady")
    if object[path: ["spec", "updateStrategy", "type"]] == nil { object[path: ["spec", "updateStrategy", "type"]] = "RollingUpdate" }
    if object[path: ["spec", "updateStrategy", "type"]]?.stringValue == "RollingUpdate" {
      BuiltinDefaults.setIfAbsent(&object, ["spec", "updateStrategy", "rollingUpdate", "partition"], 0)
    }
    BuiltinDefaults.setIfAbsent(&object, ["spec", "revisionHistoryLimit"], 10)
    BuiltinDefaults.setIfAbsent(&object, ["spec", "persistentVolumeClaimRetentionPolicy", "whenDeleted"], "Retain")
    BuiltinDefaults.setIfAbsent(&object, ["spec", "persistentVolumeClaimRetentionPolicy", "whenScaled"], "Retain")
    BuiltinDefaults.template(&object)
  }

  /// printers.go `statefulSetColumnDefinitions` / `printStatefulSet`.
  var tableColumns: [TableConverter.Column]? {
    [TableConverter.nameColumn,
     TableConverter.Column(name: "Ready", type: "string") { o, _ in
       .string("\(o[path: ["status", "readyReplicas"]]?.intValue ?? 0)/\(o[path: ["spec", "replicas"]]?.intValue ?? 0)")
     },
     TableConverter.ageColumn]
  }
}
