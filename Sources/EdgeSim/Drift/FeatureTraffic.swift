import Foundation
import KubeCore

/// What the simulated clients send a model's drift agent for one feature when no drift is
/// commanded: a normal distribution for a numerical feature, category weights for a categorical one.
///
/// A feature no `FeatureDistribution` names gets `FeatureDistribution.default`: numerical N(0.5, 0.1²)
/// (a brightness in [0, 1]); categorical `class-0…class-3` weighted 0.4, 0.3, 0.2, 0.1.
public struct FeatureDistribution: Sendable, Equatable {
  public var namespace: String?
  public var model: String
  public var feature: String
  public var mean: Double
  public var standardDeviation: Double
  public var categories: [CategoryWeight]

  public init(namespace: String? = nil, model: String, feature: String, mean: Double = 0.5, standardDeviation: Double = 0.1,
              categories: [CategoryWeight] = FeatureDistribution.defaultCategories) {
    self.namespace = namespace; self.model = model; self.feature = feature
    self.mean = mean; self.standardDeviation = standardDeviation; self.categories = categories
  }

  public static let defaultCategories = [CategoryWeight("class-0", 0.4), CategoryWeight("class-1", 0.3),
                                         CategoryWeight("class-2", 0.2), CategoryWeight("class-3", 0.1)]

  static func `default`(model: String, feature: String) -> FeatureDistribution { FeatureDistribution(model: model, feature: feature) }
}

/// A category and its weight (weights need not add up to 1).
public struct CategoryWeight: Sendable, Equatable {
  public var name: String
  public var weight: Double
  public init(_ name: String, _ weight: Double) { self.name = name; self.weight = weight }
}

/// Drift on command: from now on, what the clients send one model's drift agents for one feature,
/// on the nodes whose labels match `nodeSelector` (all nodes when empty), moves: numerical values
/// are drawn from N(mean + shift, (sd·scale)²), categorical ones from `categories` when given.
///
/// The latest command for the same model, feature, namespace and selector replaces the earlier one;
/// when several match one pod, the latest wins (a ConfigMap's commands come after Swift's).
public struct FeatureDrift: Sendable, Equatable {
  public var namespace: String?
  public var model: String
  public var feature: String
  public var nodeSelector: [String: String]
  /// Added to the numerical mean, in the feature's own units.
  public var shift: Double
  /// Multiplies the numerical standard deviation.
  public var scale: Double
  /// Replaces the categorical weights when not nil.
  public var categories: [CategoryWeight]?

  public init(namespace: String? = nil, model: String, feature: String, nodeSelector: [String: String] = [:],
              shift: Double = 0, scale: Double = 1, categories: [CategoryWeight]? = nil) {
    self.namespace = namespace; self.model = model; self.feature = feature; self.nodeSelector = nodeSelector
    self.shift = shift; self.scale = scale; self.categories = categories
  }

  /// Whether it addresses the same thing as `other` (so `other` is replaced by it).
  func replaces(_ other: FeatureDrift) -> Bool {
    namespace == other.namespace && model == other.model && feature == other.feature && nodeSelector == other.nodeSelector
  }

  func matches(namespace: String, model: String, feature: String, nodeLabels: [String: String]) -> Bool {
    (self.namespace ?? namespace) == namespace && self.model == model && self.feature == feature
      && nodeSelector.allSatisfy { nodeLabels[$0.key] == $0.value }
  }

  /// Checks the numbers a command carries.
  /// - Throws: `EdgeSimError.invalidDrift` saying what is wrong.
  public func validate() throws(EdgeSimError) {
    guard !model.isEmpty, !feature.isEmpty else { throw .invalidDrift("a drift needs a model and a feature") }
    guard shift.isFinite else { throw .invalidDrift("shift must be a finite number") }
    guard scale.isFinite, scale > 0 else { throw .invalidDrift("scale must be a positive number") }
    if let categories {
      guard !categories.isEmpty, categories.allSatisfy({ $0.weight.isFinite && $0.weight >= 0 }),
            categories.contains(where: { $0.weight > 0 }) else {
        throw .invalidDrift("category weights must be finite, non-negative and not all zero")
      }
    }
  }

  // MARK: the ConfigMap form

  /// The ConfigMap `kube-system/edgeml-sim-drift`: each data entry one drift, as JSON
  /// (docs/edgesim.md, "Drift on command").
  public static let configMapNamespace = "kube-system"
  public static let configMapName = "edgeml-sim-drift"

  /// The data key of this drift in the ConfigMap: `MODEL.FEATURE`, with the namespace and a hash of
  /// the selector when set (ConfigMap keys allow letters, digits, `-`, `_` and `.`).
  public var configMapKey: String {
    var key = (namespace.map { "\($0)." } ?? "") + "\(model).\(feature)"
    if !nodeSelector.isEmpty {
      let text = nodeSelector.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
      key += "." + String(RequestDraws.stream(text) & 0xFFFF_FFFF, radix: 16)
    }
    return String(key.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "_" })
  }

  /// The drift as its ConfigMap value.
  public var configMapValue: String {
    var object: JSONObject = ["model": .string(model), "feature": .string(feature)]
    if let namespace { object["namespace"] = .string(namespace) }
    if !nodeSelector.isEmpty {
      var nodes = JSONObject()
      for (k, v) in nodeSelector.sorted(by: { $0.key < $1.key }) { nodes[k] = .string(v) }
      object["nodes"] = .object(nodes)
    }
    object["shift"] = JSONValue(shift)
    object["scale"] = JSONValue(scale)
    if let categories {
      var weights = JSONObject()
      for c in categories { weights[c.name] = JSONValue(c.weight) }
      object["categories"] = .object(weights)
    }
    return JSONValue.object(object).serializedString()
  }

  /// Reads one ConfigMap value.
  /// - Throws: `EdgeSimError.invalidDrift` naming the key and what is wrong.
  public init(configMapKey key: String, value: String) throws(EdgeSimError) {
    let json: JSONValue
    do { json = try JSONValue(parsing: value) } catch { throw .invalidDrift("\(key): not JSON: \(error)") }
    guard let model = json["model"]?.stringValue, let feature = json["feature"]?.stringValue else {
      throw .invalidDrift("\(key): \"model\" and \"feature\" are required strings")
    }
    func number(_ name: String, _ fallback: Double) throws(EdgeSimError) -> Double {
      guard let v = json[name] else { return fallback }
      guard let d = v.doubleValue else { throw .invalidDrift("\(key): \"\(name)\" must be a number") }
      return d
    }
    var categories: [CategoryWeight]?
    if let c = json["categories"] {
      guard let object = c.objectValue else { throw .invalidDrift("\(key): \"categories\" must be an object of weights") }
      var list: [CategoryWeight] = []
      for (name, weight) in object {
        guard let w = weight.doubleValue else { throw .invalidDrift("\(key): category \(name)'s weight must be a number") }
        list.append(CategoryWeight(name, w))
      }
      categories = list
    }
    var selector: [String: String] = [:]
    if let nodes = json["nodes"] {
      guard let object = nodes.objectValue else { throw .invalidDrift("\(key): \"nodes\" must be an object of node labels") }
      for (k, v) in object {
        guard let s = v.stringValue else { throw .invalidDrift("\(key): node label \(k) must be a string") }
        selector[k] = s
      }
    }
    self.init(namespace: json["namespace"]?.stringValue, model: model, feature: feature, nodeSelector: selector,
              shift: try number("shift", 0), scale: try number("scale", 1), categories: categories)
    do { try validate() } catch {
      if case .invalidDrift(let message) = error { throw .invalidDrift("\(key): \(message)") }
      throw error
    }
  }
}

/// A pod's `drift-agent` sidecar, as the traffic engine sees it: where to post and which features.
struct DriftSidecar: Sendable, Equatable {
  struct Feature: Sendable, Equatable {
    var name: String
    var numerical: Bool
  }
  var port: Int
  var features: [Feature]

  /// The container name the contract fixes (docs/drift-agent.md).
  static let containerName = "drift-agent"

  /// The sidecar of `pod`, if it has a `drift-agent` container with at least one `--feature`.
  init?(pod: JSONValue) {
    guard let container = (pod[path: ["spec", "containers"]]?.arrayValue ?? []).first(where: { $0["name"]?.stringValue == Self.containerName })
    else { return nil }
    let words = ((container["command"]?.arrayValue ?? []) + (container["args"]?.arrayValue ?? [])).compactMap(\.stringValue)
    var port = 9470
    var features: [Feature] = []
    var i = 0
    while i < words.count {
      let word = words[i]
      var value: String?
      var flag = word
      if let eq = word.firstIndex(of: "="), word.hasPrefix("--") { flag = String(word[..<eq]); value = String(word[word.index(after: eq)...]) }
      if value == nil, flag == "--feature" || flag == "--port", i + 1 < words.count { value = words[i + 1]; i += 1 }
      if flag == "--port", let v = value.flatMap(Int.init) { port = v }
      if flag == "--feature", let v = value, let colon = v.lastIndex(of: ":") {
        let kind = v[v.index(after: colon)...]
        if kind == "numerical" || kind == "categorical" { features.append(Feature(name: String(v[..<colon]), numerical: kind == "numerical")) }
      }
      i += 1
    }
    guard !features.isEmpty else { return nil }
    self.port = port
    self.features = features
  }
}

/// Draws one request's feature values: a pure function of the request's draws, the distribution
/// and the drift in force, so the values are reproducible under the traffic seed.
enum FeatureSampler {
  /// The draw slot of a feature: apart from the slots the request's routing and latency use (0–5),
  /// and apart per feature name.
  static func slot(_ feature: String) -> Int { 16 + Int(RequestDraws.stream(feature) % (1 << 20)) * 2 }

  static func number(_ distribution: FeatureDistribution, drift: FeatureDrift?, draws: RequestDraws, slot: Int) -> Double {
    // Box–Muller (Box & Muller, Ann. Math. Statist. 1958): two uniforms to one standard normal.
    let u1 = max(draws.uniform(slot), 0x1.0p-53), u2 = draws.uniform(slot + 1)
    let z = (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    return distribution.mean + (drift?.shift ?? 0) + distribution.standardDeviation * (drift?.scale ?? 1) * z
  }

  static func category(_ distribution: FeatureDistribution, drift: FeatureDrift?, draws: RequestDraws, slot: Int) -> String {
    let weights = drift?.categories ?? distribution.categories
    let total = weights.reduce(0) { $0 + max($1.weight, 0) }
    guard total > 0 else { return weights.first?.name ?? "" }
    var pick = draws.uniform(slot) * total
    for w in weights where w.weight > 0 {
      if pick < w.weight { return w.name }
      pick -= w.weight
    }
    return weights.last { $0.weight > 0 }!.name
  }
}
