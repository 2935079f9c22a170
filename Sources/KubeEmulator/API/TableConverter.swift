import Foundation
import KubeCore

/// Renders objects as a `meta.k8s.io/v1` Table, what `kubectl get` asks for and prints.
///
/// Columns for built-ins follow the server-side printers in k8s.io/kubernetes/pkg/printers/internalversion/printers.go;
/// custom resources use their CRD's `additionalPrinterColumns` (or NAME/AGE), resources without a
/// printer get NAME and CREATED AT (k8s.io/apiserver/pkg/registry/rest/table.go).
enum TableConverter {
  struct Column: Sendable {
    var name: String
    var type: String
    var format: String = ""
    var description: String = ""
    var priority = 0
    var cell: @Sendable (JSONValue, Date) -> JSONValue
  }

  static func table(for resource: APIResource, objects: [JSONValue], includeObject: String, listMetadata: JSONValue?, now: Date) -> JSONValue {
    let columns = self.columns(for: resource)
    let rows: [JSONValue] = objects.map { object in
      var row: JSONObject = ["cells": .array(columns.map { $0.cell(object, now) })]
      switch includeObject {
      case "None": break
      case "Object": row["object"] = object
      default:
        row["object"] = ["kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": object["metadata"] ?? [:]]
      }
      return .object(row)
    }
    let definitions: [JSONValue] = columns.map { c in
      ["name": .string(c.name), "type": .string(c.type), "format": .string(c.format),
       "description": .string(c.description), "priority": JSONValue(c.priority)]
    }
    return ["kind": "Table", "apiVersion": "meta.k8s.io/v1",
            "metadata": listMetadata ?? ["resourceVersion": .string(objects.first?[path: ["metadata", "resourceVersion"]]?.stringValue ?? "")],
            "columnDefinitions": .array(definitions), "rows": .array(rows)]
  }

  static let nameColumn = Column(name: "Name", type: "string", format: "name",
                                 description: "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names") {
    o, _ in o[path: ["metadata", "name"]] ?? ""
  }
  static let ageColumn = Column(name: "Age", type: "string", description: "CreationTimestamp is a timestamp representing the server time when this object was created.") {
    o, now in .string(age(o, now))
  }

  static func age(_ o: JSONValue, _ now: Date) -> String {
    guard let ts = o[path: ["metadata", "creationTimestamp"]]?.stringValue, let created = RFC3339.parse(ts) else { return "<unknown>" }
    return humanDuration(now.timeIntervalSince(created))
  }

  /// k8s.io/apimachinery/pkg/util/duration/duration.go `HumanDuration`.
  static func humanDuration(_ interval: TimeInterval) -> String {
    let seconds = Int(interval)
    if seconds < -1 { return "<invalid>" }
    if seconds < 0 { return "0s" }
    if seconds < 60 * 2 { return "\(seconds)s" }
    let minutes = seconds / 60
    if minutes < 10 {
      let s = seconds % 60
      return s == 0 ? "\(minutes)m" : "\(minutes)m\(s)s"
    }
    if minutes < 60 * 3 { return "\(minutes)m" }
    let hours = minutes / 60
    if hours < 8 {
      let m = minutes % 60
      return m == 0 ? "\(hours)h" : "\(hours)h\(m)m"
    }
    if hours < 48 { return "\(hours)h" }
    if hours < 24 * 8 {
      let h = hours % 24
      return h == 0 ? "\(hours / 24)d" : "\(hours / 24)d\(h)h"
    }
    if hours < 24 * 365 * 2 { return "\(hours / 24)d" }
    if hours < 24 * 365 * 8 {
      let d = (hours / 24) % 365
      return d == 0 ? "\(hours / 24 / 365)y" : "\(hours / 24 / 365)y\(d)d"
    }
    return "\(hours / 24 / 365)y"
  }

  static func str(_ o: JSONValue, _ path: String...) -> JSONValue { o[path: path] ?? "" }
  static func int(_ o: JSONValue, _ path: String...) -> JSONValue { o[path: path] ?? 0 }

  /// The custom resource's printer columns, the strategy's printer, or the generic NAME / CREATED AT.
  static func columns(for resource: APIResource) -> [Column] {
    if resource.isCustom { return CustomPrinterColumns.columns(resource) }
    return resource.strategy.tableColumns ?? [
      nameColumn,
      Column(name: "Created At", type: "date", description: "CreationTimestamp is a timestamp representing the server time when this object was created.") { o, _ in
        str(o, "metadata", "creationTimestamp")
      },
    ]
  }

  static func containerField(_ o: JSONValue, _ path: [String], _ field: String) -> JSONValue {
    .string((o[path: path]?.arrayValue ?? []).compactMap { $0[field]?.stringValue }.joined(separator: ","))
  }

  static func selectorText(_ o: JSONValue) -> JSONValue {
    guard let sel = o[path: ["spec", "selector"]], let parsed = try? LabelSelector(json: sel) else { return "<none>" }
    return .string(parsed.isEmpty ? "<none>" : parsed.description)
  }
}
