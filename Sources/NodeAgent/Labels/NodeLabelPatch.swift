import EdgeMLVocabulary
import KubeCore

/// The JSON merge patch that brings a Node's `edgeml.io/*` labels to the desired set.
///
/// Guarantees: keys outside `edgeml.io/` are never in the patch, so other owners' labels (kubelet's
/// `kubernetes.io/*`, K3s', the user's) are untouched; a desired key whose value already matches is
/// left out; an `edgeml.io/*` key the agent no longer reports is set to `null` (RFC 7386: removed).
/// When nothing differs there is no patch, so a steady node costs 0 writes (DESIGN.md §5).
public struct NodeLabelPatch: Sendable, Equatable {
  /// Keys to set, with their new values.
  public var assignments: [String: String]
  /// `edgeml.io/*` keys to remove.
  public var removals: [String]

  /// Compares the current labels with the desired `edgeml.io/*` labels.
  ///
  /// - Precondition: every desired key starts with `NodeLabels.prefix` (a programmer error otherwise).
  public init(current: [String: String], desired: [String: String]) {
    precondition(desired.keys.allSatisfy { $0.hasPrefix(NodeLabels.prefix) }, "BUG: the agent only owns edgeml.io/ labels")
    assignments = desired.filter { current[$0.key] != $0.value }
    removals = current.keys.filter { $0.hasPrefix(NodeLabels.prefix) && desired[$0] == nil }.sorted()
  }

  /// Whether the labels already match (no request needed).
  public var isEmpty: Bool { assignments.isEmpty && removals.isEmpty }

  /// The merge patch body. With `resourceVersion`, the API server applies it only to that version
  /// of the Node (409 Conflict otherwise), so a patch computed from a stale read is never applied.
  public func mergePatch(resourceVersion: String? = nil) -> JSONValue {
    var labels = JSONObject()
    for key in assignments.keys.sorted() { labels.appendUnchecked(key, .string(assignments[key] ?? "")) }
    for key in removals { labels.appendUnchecked(key, .null) }
    var metadata = JSONObject()
    if let resourceVersion { metadata.appendUnchecked("resourceVersion", .string(resourceVersion)) }
    metadata.appendUnchecked("labels", .object(labels))
    return ["metadata": .object(metadata)]
  }
}
