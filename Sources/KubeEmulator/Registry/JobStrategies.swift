import Foundation
import KubeCore

/// Jobs (pkg/registry/batch/job/strategy.go).
struct JobStrategy: ResourceStrategy {
  var nameRule: NameRule { .dns1123Label }
  /// batch/v1 Jobs orphan their pods by default for compatibility (strategy.go
  /// `DefaultGarbageCollectionPolicy`); kubectl asks for Background explicitly.
  var defaultGarbageCollectionPolicy: String { "Orphan" }

  func prepareForCreate(_ object: inout JSONValue, server: APIServer) throws { setDefaults(&object, isCreate: true) }
  func prepareForUpdate(_ object: inout JSONValue, old: JSONValue, server: APIServer) throws { setDefaults(&object, isCreate: false) }

  func validate(_ object: JSONValue) -> [FieldError] {
    var errors = Validation.containers(object[path: ["spec", "template", "spec", "containers"]], path: "spec.template.spec.containers")
    let policy = object[path: ["spec", "template", "spec", "restartPolicy"]]?.stringValue ?? ""
    if policy != "Never" && policy != "OnFailure" {
      errors.append(FieldError(.notSupported, field: "spec.template.spec.restartPolicy", value: "\"\(policy)\"", detail: "supported values: \"OnFailure\", \"Never\""))
    }
    return errors
  }

  func validateUpdate(_ new: JSONValue, old: JSONValue) -> [FieldError] {
    validate(new) + Validation.immutableSelector(new, old: old)
  }

  /// The selector and labels `PrepareForCreate` generates are not the client's.
  func setByClient(_ object: JSONValue) -> JSONValue {
    guard object[path: ["spec", "manualSelector"]]?.boolValue != true else { return object }
    var o = object
    o[path: ["spec", "selector"]] = nil
    for key in [["metadata", "labels"], ["spec", "template", "metadata", "labels"]] {
      guard case .object(var labels)? = o[path: key] else { continue }
      for generated in ["batch.kubernetes.io/controller-uid", "batch.kubernetes.io/job-name", "controller-uid", "job-name"] {
        labels.removeValue(forKey: generated)
      }
      o[path: key] = labels.isEmpty ? nil : .object(labels)
    }
    return o
  }

  private func setDefaults(_ object: inout JSONValue, isCreate: Bool) {
    let parallelism = object[path: ["spec", "parallelism"]]
    let completions = object[path: ["spec", "completions"]]
    if completions == nil && parallelism == nil {
      object[path: ["spec", "completions"]] = 1
      object[path: ["spec", "parallelism"]] = 1
    } else if parallelism == nil {
      object[path: ["spec", "parallelism"]] = 1
    }
    BuiltinDefaults.setIfAbsent(&object, ["spec", "backoffLimit"], 6)
    BuiltinDefaults.setIfAbsent(&object, ["spec", "completionMode"], "NonIndexed")
    BuiltinDefaults.setIfAbsent(&object, ["spec", "suspend"], false)
    BuiltinDefaults.setIfAbsent(&object, ["spec", "podReplacementPolicy"], "TerminatingOrFailed")
    if isCreate, object[path: ["spec", "manualSelector"]]?.boolValue != true {
      // The job strategy generates the selector and labels from the uid (pkg/registry/batch/job/strategy.go).
      let uid = object[path: ["metadata", "uid"]] ?? ""
      let name = object[path: ["metadata", "name"]] ?? ""
      object[path: ["spec", "selector"]] = ["matchLabels": ["batch.kubernetes.io/controller-uid": uid]]
      object[path: ["spec", "manualSelector"]] = false
      for key in [["metadata", "labels"], ["spec", "template", "metadata", "labels"]] {
        var labels = object[path: key]?.objectValue ?? JSONObject()
        labels["batch.kubernetes.io/controller-uid"] = uid
        labels["batch.kubernetes.io/job-name"] = name
        labels["controller-uid"] = uid
        labels["job-name"] = name
        object[path: key] = .object(labels)
      }
    }
    BuiltinDefaults.template(&object)
    if isCreate { object["status"] = [:] }
  }

  /// printers.go `jobColumnDefinitions` / `printJob`.
  var tableColumns: [TableConverter.Column]? {
    typealias Column = TableConverter.Column
    return [TableConverter.nameColumn,
            Column(name: "Status", type: "string") { o, _ in .string(Self.status(o)) },
            Column(name: "Completions", type: "string") { o, _ in
              let completions = o[path: ["spec", "completions"]]?.intValue
              let succeeded = o[path: ["status", "succeeded"]]?.intValue ?? 0
              return .string(completions.map { "\(succeeded)/\($0)" } ?? "\(succeeded)/1 of \(o[path: ["spec", "parallelism"]]?.intValue ?? 1)")
            },
            Column(name: "Duration", type: "string") { o, now in
              guard let start = (o[path: ["status", "startTime"]]?.stringValue).flatMap(RFC3339.parse) else { return "" }
              let end = (o[path: ["status", "completionTime"]]?.stringValue).flatMap(RFC3339.parse) ?? now
              return .string(TableConverter.humanDuration(end.timeIntervalSince(start)))
            },
            TableConverter.ageColumn]
  }

  static func status(_ o: JSONValue) -> String {
    let conditions = o[path: ["status", "conditions"]]?.arrayValue ?? []
    func has(_ t: String) -> Bool { conditions.contains { $0["type"]?.stringValue == t && $0["status"]?.stringValue == "True" } }
    if has("Complete") { return "Complete" }
    if has("Failed") { return "Failed" }
    if o[path: ["metadata", "deletionTimestamp"]] != nil { return "Terminating" }
    if has("Suspended") { return "Suspended" }
    return "Running"
  }
}

/// CronJobs (pkg/registry/batch/cronjob/strategy.go).
struct CronJobStrategy: DefaultingStrategy {
  var nameRule: NameRule { .dns1123Label }
  var initialStatus: JSONValue { [:] }

  func setDefaults(_ object: inout JSONValue) {
    BuiltinDefaults.setIfAbsent(&object, ["spec", "concurrencyPolicy"], "Allow")
    BuiltinDefaults.setIfAbsent(&object, ["spec", "suspend"], false)
    BuiltinDefaults.setIfAbsent(&object, ["spec", "successfulJobsHistoryLimit"], 3)
    BuiltinDefaults.setIfAbsent(&object, ["spec", "failedJobsHistoryLimit"], 1)
    BuiltinDefaults.template(&object, path: ["spec", "jobTemplate", "spec", "template", "spec"])
  }
}
