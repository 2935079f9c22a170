import ArgumentParser
import EdgeSim
import Foundation
import KubeClient
import KubeCore

/// `edgeml sim drift`: commands drift in a running `edgeml sim` through the cluster itself — an
/// entry of the ConfigMap `kube-system/edgeml-sim-drift` that EdgeSim watches (docs/edgesim.md,
/// "Drift on command"), so `kubectl` can do the same.
struct SimDriftCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "drift",
    abstract: "Shift what the simulated clients send a model's drift agents for one feature, on some nodes or all.")

  @Option(help: "The model (its pods' edgeml.io/model label).") var model: String
  @Option(help: "The feature, as the drift agent's --feature names it.") var feature: String
  @Option(help: "Added to a numerical feature's mean, in its own units.") var shift = 0.0
  @Option(help: "Multiplies a numerical feature's standard deviation.") var scale = 1.0
  @Option(help: ArgumentHelp("New weights of a categorical feature.", valueName: "NAME=WEIGHT,…")) var category: String?
  @Option(help: ArgumentHelp("Only pods on nodes with these labels (default: every node).", valueName: "KEY=VALUE,…")) var nodes: String?
  @Option(help: "Only the model's pods in this namespace (default: any).") var namespace: String?
  @Flag(help: "Remove this drift (same model, feature, namespace and nodes) instead of setting it.") var reset = false
  @Option(help: "Kubeconfig of the simulated cluster (default: $KUBECONFIG, else edgeml sim's default path).") var kubeconfig: String?
  @Option(help: "Kubeconfig context to use.") var context: String?

  func validate() throws {
    do { try drift().validate() } catch { throw ValidationError("\(error)") }
  }

  func drift() throws -> FeatureDrift {
    FeatureDrift(namespace: namespace, model: model, feature: feature, nodeSelector: try Self.labels(nodes ?? "", "--nodes"),
                 shift: shift, scale: scale,
                 categories: try category.map { text in
                   try Self.orderedPairs(text, "--category").map { name, weight in
                     guard let w = Double(weight), w.isFinite, w >= 0 else {
                       throw ValidationError("--category: the weight of \(name) must be a number >= 0, not \"\(weight)\".")
                     }
                     return CategoryWeight(name, w)
                   }
                 })
  }

  /// `K=V,K=V` as pairs, in order.
  static func orderedPairs(_ text: String, _ flag: String) throws -> [(String, String)] {
    guard !text.isEmpty else { return [] }
    return try text.split(separator: ",").map { item in
      let kv = item.split(separator: "=", maxSplits: 1).map(String.init)
      guard kv.count == 2, !kv[0].isEmpty else { throw ValidationError("\(flag): expected KEY=VALUE,…, not \"\(item)\".") }
      return (kv[0], kv[1])
    }
  }

  static func labels(_ text: String, _ flag: String) throws -> [String: String] {
    var out: [String: String] = [:]
    for (k, v) in try orderedPairs(text, flag) { out[k] = v }
    return out
  }

  func run() async throws {
    let drift = try drift()
    let environment = ProcessInfo.processInfo.environment
    let path = kubeconfig ?? (environment["KUBECONFIG"] == nil ? SimCommand.defaultKubeconfigPath() : nil)
    let client = try KubeClient(configuration: try ClientConfiguration.from(try Kubeconfig.load(explicitPath: path), context: context))
    defer { client.shutdown() }
    let key = drift.configMapKey
    let value: JSONValue = reset ? .null : .string(drift.configMapValue)
    do {
      _ = try await client.patch(.configMaps, namespace: FeatureDrift.configMapNamespace, name: FeatureDrift.configMapName,
                                 ["data": .object([key: value])], type: .merge)
    } catch let error as KubeAPIError where error.reason == "NotFound" {
      guard !reset else { print("no drift commanded (no ConfigMap \(FeatureDrift.configMapNamespace)/\(FeatureDrift.configMapName))"); return }
      _ = try await client.create(.configMaps, namespace: FeatureDrift.configMapNamespace, [
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": ["name": .string(FeatureDrift.configMapName), "namespace": .string(FeatureDrift.configMapNamespace)],
        "data": .object([key: value]),
      ])
    }
    let whereText = drift.nodeSelector.isEmpty ? "every node" : "nodes " + drift.nodeSelector.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    if reset {
      print("drift removed: \(model)/\(feature) on \(whereText)")
    } else {
      let change = drift.categories.map { "categories " + $0.map { "\($0.name)=\($0.weight)" }.joined(separator: ",") } ?? "shift \(shift), scale \(scale)"
      print("drift commanded: \(model)/\(feature) on \(whereText): \(change) (ConfigMap \(FeatureDrift.configMapNamespace)/\(FeatureDrift.configMapName), key \(key))")
    }
  }
}
