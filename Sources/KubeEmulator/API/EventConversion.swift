import KubeCore

/// Core `v1` Events and `events.k8s.io/v1` Events are one stored object seen through two versions,
/// as in kube-apiserver (k8s.io/kubernetes/pkg/apis/events/v1/conversion.go): an Event written by a
/// controller through events.k8s.io shows up in `kubectl describe` (which reads core Events).
enum EventConversion {
  static let eventsGroupKey = "events.k8s.io/events"
  static let coreKey = "/events"

  /// Field name mapping events.k8s.io → core.
  static let fieldMap: [(String, String)] = [
    ("regarding", "involvedObject"), ("note", "message"), ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"), ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"), ("reportingController", "reportingComponent"),
  ]

  /// An events.k8s.io Event in its stored core form.
  static func toCore(_ event: JSONValue) -> JSONValue {
    guard case .object(let o) = event else { return event }
    var out = JSONObject()
    out["apiVersion"] = "v1"
    out["kind"] = "Event"
    for (k, v) in o where k != "apiVersion" && k != "kind" {
      let mapped = fieldMap.first { $0.0 == k }?.1 ?? k
      out[mapped] = v
    }
    if out["source"] == nil, let controller = o["reportingController"] {
      var source: JSONObject = ["component": controller]
      if let host = o["reportingInstance"] { source["host"] = host }
      out["source"] = .object(source)
    }
    return .object(out)
  }

  /// A stored core Event as events.k8s.io/v1 serves it.
  static func toEventsV1(_ event: JSONValue) -> JSONValue {
    guard case .object(let o) = event else { return event }
    var out = JSONObject()
    out["kind"] = "Event"
    out["apiVersion"] = "events.k8s.io/v1"
    for (k, v) in o where k != "apiVersion" && k != "kind" {
      let mapped = fieldMap.first { $0.1 == k }?.0 ?? k
      out[mapped] = v
    }
    if out["reportingController"] == nil, let component = o["source"]?["component"] { out["reportingController"] = component }
    if out["reportingInstance"] == nil, let host = o["source"]?["host"] { out["reportingInstance"] = host }
    return .object(out)
  }

  /// The core field a field selector on events.k8s.io names.
  static func coreField(_ field: String) -> String {
    for (v1, core) in fieldMap {
      if field == v1 { return core }
      if field.hasPrefix(v1 + ".") { return core + field.dropFirst(v1.count) }
    }
    return field
  }

  /// events.k8s.io/v1 creates must say who reported what, and when (pkg/apis/core/validation/events.go).
  static func validateEventsV1(_ event: JSONValue) -> [FieldError] {
    var errors: [FieldError] = []
    for field in ["eventTime", "reportingController", "reportingInstance", "action", "reason"] where (event[field] ?? .null) == .null {
      errors.append(FieldError(.required, field: field))
    }
    if let note = event["note"]?.stringValue, note.utf8.count > 1024 {
      errors.append(FieldError(.tooLong, field: "note", detail: "may not be more than 1024 bytes"))
    }
    if let type = event["type"]?.stringValue, type != "Normal" && type != "Warning" {
      errors.append(FieldError(.notSupported, field: "type", value: "\"\(type)\"", detail: "supported values: \"Normal\", \"Warning\""))
    }
    return errors
  }
}
