import EdgeMLVocabulary
/// The `edgeml.io/*` node labels of docs/edgemodel-contracts.md §1 (keys: the shared vocabulary),
/// worked out from a node's facts.
extension NodeLabels {
  /// The labels for a set of facts: one per known fact, none for a nil one.
  ///
  /// Every value is a valid Kubernetes label value (at most 63 characters of `[A-Za-z0-9._-]`,
  /// alphanumeric at both ends, apimachinery `IsValidLabelValue`); a fact that would not be one
  /// (say, an odd nvpmodel mode name) is left out and reported by `invalidValues(for:)`.
  public static func labels(for facts: NodeFacts) -> [String: String] {
    candidates(for: facts).filter { isValidLabelValue($0.value) }
  }

  /// The facts whose text is not a valid label value, as `(key, value)`.
  public static func invalidValues(for facts: NodeFacts) -> [(key: String, value: String)] {
    candidates(for: facts).filter { !isValidLabelValue($0.value) }.map { ($0.key, $0.value) }.sorted { $0.key < $1.key }
  }

  static func candidates(for facts: NodeFacts) -> [String: String] {
    var labels: [String: String] = [:]
    labels[module] = facts.module
    labels[soc] = facts.soc
    labels[gpuArch] = facts.gpuArch
    labels[l4t] = facts.l4t
    labels[jetpack] = facts.jetpack
    labels[tensorRT] = facts.tensorRT
    labels[cuda] = facts.cuda
    labels[dlaCores] = facts.dlaCores.map(String.init)
    labels[memoryMiB] = facts.memoryMiB.map(String.init)
    labels[powerMode] = facts.powerMode
    labels[secureBoot] = facts.secureBoot.map { $0 ? "true" : "false" }
    return labels
  }

  /// apimachinery `IsValidLabelValue` (k8s.io/apimachinery/pkg/util/validation/validation.go):
  /// empty, or at most 63 characters matching `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`.
  public static func isValidLabelValue(_ value: String) -> Bool {
    let bytes = Array(value.utf8)
    guard !bytes.isEmpty else { return true }
    func isAlphanumeric(_ b: UInt8) -> Bool { (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) }
    guard bytes.count <= 63, let first = bytes.first, let last = bytes.last, isAlphanumeric(first), isAlphanumeric(last) else { return false }
    return bytes.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
  }
}
