import KubeCore

/// The scheduler's filters as pure functions over a pod and a node (kube-scheduler's default
/// profile, pkg/scheduler/framework/plugins: NodeUnschedulable, TaintToleration, NodeAffinity,
/// NodeResourcesFit, run in that order; a node is reported under the first filter it fails).
enum NodeFit {
  /// Why one node cannot take the pod; the texts are kube-scheduler's, so the aggregated message
  /// reads like a real cluster's.
  enum Failure: Hashable, Sendable {
    case unschedulable
    case untoleratedTaint(key: String, value: String)
    case affinity
    case insufficient(String)
    case tooManyPods

    var text: String {
      switch self {
      case .unschedulable: return "node(s) were unschedulable"  // nodeunschedulable.ErrReasonUnschedulable
      case .untoleratedTaint(let k, let v): return "node(s) had untolerated taint {\(k): \(v)}"  // tainttoleration
      case .affinity: return "node(s) didn't match Pod's node affinity/selector"  // nodeaffinity.ErrReasonPod
      case .insufficient(let r): return "Insufficient \(r)"  // noderesources/fit.go
      case .tooManyPods: return "Too many pods"
      }
    }
    /// Whether evicting lower-priority pods could help (noderesources) or not (everything else).
    var preemptionMayHelp: Bool {
      switch self { case .insufficient, .tooManyPods: return true; default: return false }
    }
  }

  /// What the filters read of a node, read once per node version (the scheduler keeps these by
  /// resourceVersion, as kube-scheduler keeps NodeInfo in its cache snapshot).
  struct NodeInfo: Sendable {
    var name: String
    var labels: [String: String]
    var unschedulable: Bool
    /// NoSchedule and NoExecute taints, plus `node.kubernetes.io/not-ready` for a node that is not
    /// Ready and carries no lifecycle taint yet (the node lifecycle controller's TaintNodesByCondition
    /// would add it).
    var taints: [JSONValue]
    var allocatable: Resources

    init(_ node: JSONValue) {
      name = node.name
      labels = node.labels
      unschedulable = node[path: ["spec", "unschedulable"]]?.boolValue == true
      var taints = node[path: ["spec", "taints"]]?.arrayValue ?? []
      if node.condition("Ready")?["status"]?.stringValue != "True",
         !taints.contains(where: { $0["key"]?.stringValue?.hasPrefix("node.kubernetes.io/") == true }) {
        taints.append(["key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"])
      }
      self.taints = taints.filter { ["NoSchedule", "NoExecute"].contains($0["effect"]?.stringValue ?? "") }
      allocatable = Resources.allocatable(ofNode: node)
    }
  }

  /// What the filters read of a pod, read once per scheduling attempt.
  struct PodInfo: Sendable {
    var tolerations: [JSONValue]
    var nodeSelector: [String: String]
    /// Required node affinity terms; nil when the pod has none.
    var terms: [Term]?
    /// The pod's positive requests in name order (the order fit.go reports them in).
    var requestedAmounts: [(name: String, amount: Double)]

    init(_ pod: JSONValue) {
      tolerations = pod[path: ["spec", "tolerations"]]?.arrayValue ?? []
      nodeSelector = JSONValue.stringMap(pod[path: ["spec", "nodeSelector"]])
      terms = pod[path: ["spec", "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"]]?
        .arrayValue?.map(Term.init)
      requestedAmounts = Resources.requests(ofPod: pod).amounts.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// What node affinity and the node selector depend on: pods with equal keys match the same nodes.
    var placement: Placement { Placement(nodeSelector: nodeSelector, terms: terms) }
  }

  /// A pod's node selector and required node affinity terms, as one hashable value.
  struct Placement: Hashable, Sendable {
    var nodeSelector: [String: String]
    var terms: [Term]?
  }

  /// The failures of `node` for `pod`, given what the pods already bound there request; empty means it fits.
  static func failures(pod: JSONValue, node: JSONValue, requested: Resources) -> [Failure] {
    failures(PodInfo(pod), NodeInfo(node), requested: requested)
  }

  /// - Parameter matchesAffinity: the node selector and affinity result when the caller already
  ///   knows it for this node (the scheduler remembers it per placement), else computed here.
  static func failures(_ pod: PodInfo, _ node: NodeInfo, requested: Resources, matchesAffinity: Bool? = nil) -> [Failure] {
    // NodeUnschedulable: spec.unschedulable, unless the pod tolerates node.kubernetes.io/unschedulable:NoSchedule.
    if node.unschedulable, !tolerates(pod.tolerations, taint: ["key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"]) {
      return [.unschedulable]
    }
    // TaintToleration: the first NoSchedule/NoExecute taint the pod does not tolerate.
    for taint in node.taints where !tolerates(pod.tolerations, taint: taint) {
      return [.untoleratedTaint(key: taint["key"]?.stringValue ?? "", value: taint["value"]?.stringValue ?? "")]
    }
    if !(matchesAffinity ?? matchesSelectorAndAffinity(pod, labels: node.labels, name: node.name)) { return [.affinity] }
    // NodeResourcesFit: every insufficient resource is reported (fit.go fitsRequest).
    var out: [Failure] = []
    if requested.pods + 1 > node.allocatable.pods { out.append(.tooManyPods) }
    for (name, amount) in pod.requestedAmounts {
      if requested.amounts[name, default: 0] + amount > node.allocatable.amounts[name, default: 0] { out.append(.insufficient(name)) }
    }
    return out
  }

  /// Whether some toleration tolerates the taint (k8s.io/api core/v1 toleration.go `ToleratesTaint`).
  static func tolerates(_ tolerations: [JSONValue], taint: JSONValue) -> Bool {
    tolerations.contains { toleration(matches: $0, taint: taint) }
  }

  static func toleration(matches t: JSONValue, taint: JSONValue) -> Bool {
    let effect = t["effect"]?.stringValue ?? ""
    if !effect.isEmpty && effect != (taint["effect"]?.stringValue ?? "") { return false }
    let key = t["key"]?.stringValue ?? ""
    if !key.isEmpty && key != (taint["key"]?.stringValue ?? "") { return false }
    switch t["operator"]?.stringValue ?? "Equal" {
    case "Exists": return true
    case "Equal", "": return (t["value"]?.stringValue ?? "") == (taint["value"]?.stringValue ?? "")
    default: return false
    }
  }

  /// `spec.nodeSelector` and required node affinity (component-helpers nodeaffinity.go).
  static func matchesSelectorAndAffinity(pod: JSONValue, node: JSONValue) -> Bool {
    matchesSelectorAndAffinity(PodInfo(pod), labels: node.labels, name: node.name)
  }

  static func matchesSelectorAndAffinity(_ pod: PodInfo, labels: [String: String], name: String) -> Bool {
    for (k, v) in pod.nodeSelector where labels[k] != v { return false }
    guard let terms = pod.terms else { return true }
    // Terms are ORed; inside a term expressions and fields are ANDed; an empty term matches nothing.
    return terms.contains { term in
      if term.expressions.isEmpty && term.fields.isEmpty { return false }
      return term.expressions.allSatisfy { $0.matches(labels) } && term.fields.allSatisfy { $0.matches(["metadata.name": name]) }
    }
  }

  /// One NodeSelectorRequirement, read once per pod.
  struct Requirement: Hashable, Sendable {
    var key: String
    var op: String
    var values: [String]

    init(_ r: JSONValue) {
      key = r["key"]?.stringValue ?? ""
      op = r["operator"]?.stringValue ?? ""
      values = (r["values"]?.arrayValue ?? []).compactMap(\.stringValue)
    }

    func matches(_ labels: [String: String]) -> Bool {
      let value = labels[key]
      switch op {
      case "In": return value.map(values.contains) ?? false
      case "NotIn": return value.map { !values.contains($0) } ?? true
      case "Exists": return value != nil
      case "DoesNotExist": return value == nil
      case "Gt", "Lt":
        guard let value, let have = Int64(value), values.count == 1, let want = Int64(values[0]) else { return false }
        return op == "Gt" ? have > want : have < want
      default: return false
      }
    }
  }

  /// One NodeSelectorTerm: its expressions and fields, ANDed.
  struct Term: Hashable, Sendable {
    var expressions: [Requirement]
    var fields: [Requirement]
    init(_ term: JSONValue) {
      expressions = (term["matchExpressions"]?.arrayValue ?? []).map(Requirement.init)
      fields = (term["matchFields"]?.arrayValue ?? []).map(Requirement.init)
    }
  }

  /// kube-scheduler's FitError message (pkg/scheduler/framework/types.go `FitError.Error`): reasons
  /// counted and sorted, then the preemption summary.
  static func unschedulableMessage(nodeCount: Int, failures: [[Failure]]) -> String {
    var histogram: [String: Int] = [:]
    var preemption: [String: Int] = [:]
    for node in failures {
      for f in node { histogram[f.text, default: 0] += 1 }
      let key = node.allSatisfy(\.preemptionMayHelp) ? "No preemption victims found for incoming pod" : "Preemption is not helpful for scheduling"
      preemption[key, default: 0] += 1
    }
    let reasons = histogram.map { "\($0.value) \($0.key)" }.sorted()
    let victims = preemption.map { "\($0.value) \($0.key)" }.sorted()
    var message = "0/\(nodeCount) nodes are available"
    if !reasons.isEmpty { message += ": " + reasons.joined(separator: ", ") }
    message += "."
    if nodeCount > 0 { message += " preemption: 0/\(nodeCount) nodes are available: " + victims.joined(separator: ", ") + "." }
    return message
  }
}

/// Amounts of schedulable resources (cpu in cores, memory in bytes, extended resources in units) and a pod count.
struct Resources: Sendable, Equatable {
  var amounts: [String: Double] = [:]
  var pods = 0

  static let names = ["cpu", "memory", "nvidia.com/gpu", "ephemeral-storage"]

  mutating func add(_ other: Resources) {
    for (k, v) in other.amounts { amounts[k, default: 0] += v }
    pods += other.pods
  }

  /// A pod's effective request: the larger of the sum over containers and the largest init
  /// container (pkg/api/v1/resource/helpers.go `PodRequests`); a limit without a request counts
  /// as the request, as API defaulting makes it.
  static func requests(ofPod pod: JSONValue) -> Resources {
    func of(_ c: JSONValue) -> [String: Double] {
      var out: [String: Double] = [:]
      let requests = c[path: ["resources", "requests"]]?.objectValue ?? JSONObject()
      let limits = c[path: ["resources", "limits"]]?.objectValue ?? JSONObject()
      for (k, v) in limits { out[k] = quantity(v) }
      for (k, v) in requests { out[k] = quantity(v) }
      return out
    }
    var sum: [String: Double] = [:]
    for c in pod[path: ["spec", "containers"]]?.arrayValue ?? [] { for (k, v) in of(c) { sum[k, default: 0] += v } }
    for c in pod[path: ["spec", "initContainers"]]?.arrayValue ?? [] { for (k, v) in of(c) { sum[k] = max(sum[k, default: 0], v) } }
    return Resources(amounts: sum, pods: 1)
  }

  static func allocatable(ofNode node: JSONValue) -> Resources {
    var r = Resources()
    for (k, v) in node[path: ["status", "allocatable"]]?.objectValue ?? JSONObject() where k != "pods" { r.amounts[k] = quantity(v) }
    r.pods = Int(quantity(node[path: ["status", "allocatable", "pods"]] ?? "110"))
    return r
  }

  static func quantity(_ v: JSONValue) -> Double {
    if let d = v.doubleValue { return d }
    guard let s = v.stringValue, let q = try? Quantity(parsing: s) else { return 0 }
    return q.doubleValue
  }
}
