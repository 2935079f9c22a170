import KubeCore

/// PodDisruptionBudgets (pkg/registry/policy/poddisruptionbudget/strategy.go). Evictions read
/// them (`APIServer+Eviction.swift`); EdgeSim's disruption controller keeps their status.
struct PodDisruptionBudgetStrategy: ResourceStrategy {
  /// printers.go `podDisruptionBudgetColumnDefinitions` / `printPodDisruptionBudget`: a bound that
  /// is not set prints "N/A"; a set one prints as its IntOrString (`IntOrString.String()`: the
  /// number, or the percentage as written).
  var tableColumns: [TableConverter.Column]? {
    typealias Column = TableConverter.Column
    return [TableConverter.nameColumn,
            Column(name: "Min Available", type: "string", description: "The minimum number of pods that must be available.") { o, _ in
              .string(Self.intOrString(o[path: ["spec", "minAvailable"]]))
            },
            Column(name: "Max Unavailable", type: "string", description: "The maximum number of pods that may be unavailable.") { o, _ in
              .string(Self.intOrString(o[path: ["spec", "maxUnavailable"]]))
            },
            Column(name: "Allowed Disruptions", type: "integer", description: "Calculated number of pods that may be disrupted at this time.") { o, _ in
              TableConverter.int(o, "status", "disruptionsAllowed")
            },
            TableConverter.ageColumn]
  }

  static func intOrString(_ value: JSONValue?) -> String {
    switch value {
    case .number(let n)?: return n.description
    case .string(let s)?: return s
    default: return "N/A"
    }
  }
}
