import EdgeMLVocabulary
import KubeClient
import KubeCore
import Logging

/// Labels one Node with the facts of its Jetson (docs/edgemodel-contracts.md §1).
///
/// `edgeml node-agent` calls this once per interval; `--once` (EdgeSim's kubelet) and the demo call
/// it once, in-process or as a command.
public enum NodeLabeler {
  /// What one labelling pass found and did.
  public struct Outcome: Sendable, Equatable {
    /// The facts and the files that could not be read.
    public var report: NodeFactsReport
    /// The `edgeml.io/*` labels the node should carry.
    public var labels: [String: String]
    /// The difference that was written; empty when the node already matched.
    public var patch: NodeLabelPatch
    /// Whether a PATCH was sent (false in steady state).
    public var wrote: Bool
  }

  /// Reads the facts under `root`, then brings the Node's `edgeml.io/*` labels to them.
  ///
  /// Reads the Node (GET), computes `NodeLabelPatch`, and sends a JSON merge patch pinned to the
  /// resourceVersion it read only when something differs. On 409 Conflict (someone wrote the Node
  /// in between) it re-reads and retries, at most `attempts` times.
  ///
  /// - Parameters:
  ///   - node: The Node's name (`NODE_NAME` from the downward API in the DaemonSet).
  ///   - root: Where the host's files are (`/host` in the DaemonSet, a fixture tree in tests).
  ///   - client: A client allowed to get and patch nodes.
  ///   - logger: Warnings about unreadable facts and the applied change go here.
  ///   - knownWarnings: Warnings already reported by an earlier pass; logged at debug level only, so
  ///     a periodic agent says once that a file is missing, not every interval.
  /// - Throws: `KubeAPIError` (NotFound for an unknown node, Forbidden without RBAC, Conflict after
  ///   the last attempt) or `TransportError`.
  public static func label(node: String, root: HostRoot, client: KubeClient, logger: Logger,
                           knownWarnings: [FactWarning] = [], attempts: Int = 3) async throws -> Outcome {
    let report = NodeFacts.read(from: root)
    var logger = logger
    logger[metadataKey: "kube.kind"] = "Node"
    logger[metadataKey: "kube.name"] = "\(node)"
    for warning in report.warnings {
      logger.log(level: knownWarnings.contains(warning) ? .debug : .warning, "Jetson fact unreadable; its label is left out",
                 metadata: ["file": "\(warning.file)", "problem": "\(warning.problem)"])
    }
    for invalid in NodeLabels.invalidValues(for: report.facts) {
      logger.warning("Jetson fact is not a valid label value; left out", metadata: ["label": "\(invalid.key)", "value": "\(invalid.value)"])
    }
    let labels = NodeLabels.labels(for: report.facts)
    var attempt = 0
    while true {
      attempt += 1
      let object = try await client.get(.nodes, name: node)
      let current = (object[path: ["metadata", "labels"]]?.objectValue ?? [:]).reduce(into: [String: String]()) { result, pair in
        if let value = pair.1.stringValue { result[pair.0] = value }
      }
      let patch = NodeLabelPatch(current: current, desired: labels)
      if patch.isEmpty { return Outcome(report: report, labels: labels, patch: patch, wrote: false) }
      let resourceVersion = object[path: ["metadata", "resourceVersion"]]?.stringValue
      do {
        let patched = try await client.patch(.nodes, name: node, patch.mergePatch(resourceVersion: resourceVersion), type: .merge)
        logger.info("Node labels updated", metadata: [
          "labels.set": "\(patch.assignments.keys.sorted().joined(separator: ","))",
          "labels.removed": "\(patch.removals.joined(separator: ","))",
          "kube.resourceVersion": "\(patched[path: ["metadata", "resourceVersion"]]?.stringValue ?? "")",
        ])
        return Outcome(report: report, labels: labels, patch: patch, wrote: true)
      } catch let error as KubeAPIError where error.isConflict && attempt < attempts {
        logger.debug("Node changed while labelling; reading it again")
      }
    }
  }
}
