import KubeCore

/// Builds JSON values from libyaml events the way sigs.k8s.io/yaml does (go-yaml v2 into `interface{}`,
/// then `convertToJSONableObject`, then `encoding/json`): anchors and aliases, `<<` merge keys, strict
/// duplicate keys, non-string keys turned into strings, and no NaN or infinity.
struct YAMLComposer {
  /// A composed node: scalars keep their resolved type until they become a key or a value.
  private enum Node {
    case scalar(YAMLScalar, line: Int, column: Int)
    case collection(JSONValue, isMapping: Bool)
  }

  /// Node and alias counts of a subtree with aliases expanded, for go-yaml's excessive-aliasing guard.
  private struct Cost {
    var nodes = 0
    var aliases = 0
    static func + (a: Cost, b: Cost) -> Cost {
      Cost(nodes: a.nodes.addingCapped(b.nodes), aliases: a.aliases.addingCapped(b.aliases))
    }
  }

  private let parser: LibYAMLParser
  private var anchors: [String: (Node, Cost)] = [:]
  private var documentCost = Cost()
  /// Collections currently open; composing recurses, so depth is bounded as `JSONParser` bounds it.
  private var depth = 0
  /// Nodes that aliases stand for; capped so a value too big to print or serialize is never returned.
  private var expandedByAliases = 0
  private static let maximumAliasExpansion = 4_000_000
  /// Whether `fieldLines` is kept (`locatedDocuments()`); plain parsing does not pay for it.
  private var recordsLines = false
  /// The field path of the node being composed (`spec`, `steps[0]`, …) while recording.
  private var fieldPath: [String] = []
  /// The line of each field of the current document, by dotted path, while recording.
  private var fieldLines: [String: Int] = [:]

  init(_ text: String) throws(YAMLError) { parser = try LibYAMLParser(text) }

  /// All documents; a document with no content at the end of the stream is dropped.
  mutating func documents() throws(YAMLError) -> [JSONValue] {
    try composeDocuments().map(\.value)
  }

  /// All documents with the line each starts on and the lines of their fields.
  mutating func locatedDocuments() throws(YAMLError) -> [YAMLDocument] {
    recordsLines = true
    return try composeDocuments()
  }

  private mutating func composeDocuments() throws(YAMLError) -> [YAMLDocument] {
    var results: [YAMLDocument] = []
    var lastWasEmpty = false
    guard case .streamStart = try parser.next().kind else { return results }
    while true {
      let event = try parser.next()
      switch event.kind {
      case .streamEnd:
        if lastWasEmpty { results.removeLast() }
        return results
      case .documentStart:
        anchors = [:]
        documentCost = Cost()
        expandedByAliases = 0
        fieldLines = [:]
        let first = try parser.next()
        if case .scalar(let value, nil, nil, true, _) = first.kind, value.isEmpty { lastWasEmpty = true } else { lastWasEmpty = false }
        let (node, _) = try compose(first)
        results.append(YAMLDocument(value: try value(of: node), line: first.line, fieldLines: fieldLines))
        guard case .documentEnd = try parser.next().kind else {
          throw YAMLError(message: "expected the end of the document", line: event.line, column: event.column)
        }
      default:
        throw YAMLError(message: "unexpected YAML event", line: event.line, column: event.column)
      }
    }
  }

  private mutating func remember(_ anchor: String?, _ node: Node, _ cost: Cost) {
    if let anchor { anchors[anchor] = (node, cost) }
  }

  private mutating func compose(_ event: YAMLEvent) throws(YAMLError) -> (Node, Cost) {
    switch event.kind {
    case .sequenceStart, .mappingStart:
      depth += 1
      defer { depth -= 1 }
      guard depth <= JSONParser.maximumDepth else {
        throw YAMLError(message: "exceeded max depth of \(JSONParser.maximumDepth)", line: event.line, column: event.column)
      }
      return try composeCollection(event)
    default:
      return try composeLeaf(event)
    }
  }

  private mutating func composeLeaf(_ event: YAMLEvent) throws(YAMLError) -> (Node, Cost) {
    switch event.kind {
    case .alias(let anchor):
      guard let (node, cost) = anchors[anchor] else {
        throw YAMLError(message: "unknown anchor '\(anchor)' referenced", line: event.line, column: event.column)
      }
      let total = cost + Cost(nodes: 1, aliases: 1)
      documentCost = documentCost + total
      expandedByAliases = expandedByAliases.addingCapped(cost.nodes)
      try checkAliasing(event)
      return (node, total)
    case .scalar(let text, let anchor, let tag, _, let implicit):
      let scalar: YAMLScalar
      do {
        scalar = try YAMLScalarResolver.resolve(text, tag: tag, isPlainImplicit: implicit)
      } catch {
        throw YAMLError(message: error.message, line: event.line, column: event.column)
      }
      let node = Node.scalar(scalar, line: event.line, column: event.column)
      remember(anchor, node, Cost(nodes: 1))
      documentCost = documentCost + Cost(nodes: 1)
      return (node, Cost(nodes: 1))
    default:
      return try composeCollection(event)
    }
  }

  private mutating func composeCollection(_ event: YAMLEvent) throws(YAMLError) -> (Node, Cost) {
    switch event.kind {
    case .sequenceStart(let anchor, _):
      documentCost = documentCost + Cost(nodes: 1)
      var items: [JSONValue] = []
      var cost = Cost(nodes: 1)
      while true {
        let next = try parser.next()
        if case .sequenceEnd = next.kind { break }
        if recordsLines { enterField("[\(items.count)]", line: next.line) }
        defer { if recordsLines { fieldPath.removeLast() } }
        let (node, itemCost) = try compose(next)
        items.append(try value(of: node))
        cost = cost + itemCost
      }
      let node = Node.collection(.array(items), isMapping: false)
      remember(anchor, node, cost)
      return (node, cost)
    case .mappingStart(let anchor, _):
      documentCost = documentCost + Cost(nodes: 1)
      let (object, cost) = try composeMapping()
      let node = Node.collection(.object(object), isMapping: true)
      remember(anchor, node, cost)
      return (node, cost)
    default:
      throw YAMLError(message: "unexpected YAML event", line: event.line, column: event.column)
    }
  }

  /// go-yaml v2's guard against alias bombs (decode.go `allowedAliasRatio`).
  private func checkAliasing(_ event: YAMLEvent) throws(YAMLError) {
    let decoded = documentCost.nodes
    let ratio: Double =
      decoded <= 400_000 ? 0.99 : decoded >= 4_000_000 ? 0.10 : 0.99 - 0.89 * Double(decoded - 400_000) / 3_600_000
    let overRatio = documentCost.aliases > 100 && decoded > 1000 && Double(documentCost.aliases) / Double(decoded) > ratio
    if overRatio || expandedByAliases > YAMLComposer.maximumAliasExpansion {
      throw YAMLError(message: "document contains excessive aliasing", line: event.line, column: event.column)
    }
  }

  private mutating func composeMapping() throws(YAMLError) -> (JSONObject, Cost) {
    var object = JSONObject()
    var explicitKeys = Set<String>()
    var cost = Cost(nodes: 1)
    while true {
      let keyEvent = try parser.next()
      if case .mappingEnd = keyEvent.kind { break }
      let isMerge: Bool
      if case .scalar("<<", _, let tag, true, let implicit) = keyEvent.kind,
        implicit || tag == YAMLScalarResolver.tagPrefix + "merge"
      {
        isMerge = true
      } else {
        isMerge = false
      }
      let (keyNode, keyCost) = try compose(keyEvent)
      // The key is read again below, where a bad key throws (after its value, as go-yaml reports it).
      let recorded = recordsLines && !isMerge
      if recorded { enterField((try? keyString(keyNode, keyEvent))?.0 ?? "?", line: keyEvent.line) }
      defer { if recorded { fieldPath.removeLast() } }
      let valueEvent = try parser.next()
      let (valueNode, valueCost) = try compose(valueEvent)
      cost = cost + keyCost + valueCost
      if isMerge {
        try merge(valueNode, valueEvent, into: &object)
        continue
      }
      let (key, shown) = try keyString(keyNode, keyEvent)
      guard explicitKeys.insert(key).inserted else {
        throw YAMLError(message: "key \(shown) already set in map", line: keyEvent.line, column: keyEvent.column)
      }
      object[key] = try value(of: valueNode)
    }
    return (object, cost)
  }

  /// Steps into a field (a key, or `[i]` for an item) and records the line it starts on; the
  /// first line recorded for a path wins (a key set twice is an error anyway).
  private mutating func enterField(_ component: String, line: Int) {
    let isIndex = component.hasPrefix("[")
    let parent = fieldPath.last ?? ""
    let path = parent.isEmpty ? component : (isIndex ? parent + component : parent + "." + component)
    fieldPath.append(path)
    if fieldLines[path] == nil { fieldLines[path] = line }
  }

  /// `<<`: a mapping, or a sequence of mappings where earlier ones win (go-yaml v2 decode.go `merge`).
  private func merge(_ node: Node, _ event: YAMLEvent, into object: inout JSONObject) throws(YAMLError) {
    let failure = YAMLError(message: "map merge requires map or sequence of maps as the value", line: event.line, column: event.column)
    guard case .collection(let value, let isMapping) = node else { throw failure }
    let sources: [JSONValue] = isMapping ? [value] : (value.arrayValue ?? []).reversed()
    for source in sources {
      guard let mapping = source.objectValue else { throw failure }
      for (key, member) in mapping { object[key] = member }
    }
  }

  /// A key as sigs.k8s.io/yaml turns it into a JSON member name, plus how go-yaml prints it (`%#v`).
  private func keyString(_ node: Node, _ event: YAMLEvent) throws(YAMLError) -> (String, String) {
    guard case .scalar(let scalar, _, _) = node else {
      throw YAMLError(message: "invalid map key: a mapping or sequence cannot be a key", line: event.line, column: event.column)
    }
    switch scalar {
    case .string(let text): return (text, text.goQuoted)
    case .int(let digits):
      guard Int64(digits) != nil else {
        throw YAMLError(message: "unsupported map key of type: uint64, key: \(digits)", line: event.line, column: event.column)
      }
      return (digits, digits)
    case .bool(let flag): return (flag ? "true" : "false", flag ? "true" : "false")
    case .float(let value):
      let text = YAMLComposer.goFloat32String(value)
      return (text, text)
    case .null:
      throw YAMLError(message: "unsupported map key of type: %!s(<nil>), key: <nil>", line: event.line, column: event.column)
    }
  }

  /// A node as a JSON value; NaN and infinities have no JSON form (`encoding/json` refuses them).
  private func value(of node: Node) throws(YAMLError) -> JSONValue {
    switch node {
    case .collection(let value, _): return value
    case .scalar(let scalar, let line, let column):
      switch scalar {
      case .null: return .null
      case .bool(let flag): return .bool(flag)
      case .int(let digits): return .number(JSONNumber(unchecked: digits))
      case .string(let text): return .string(text)
      case .float(let value):
        guard value.isFinite else {
          let shown = value.isNaN ? "NaN" : (value < 0 ? "-Inf" : "+Inf")
          throw YAMLError(message: "json: unsupported value: \(shown)", line: line, column: column)
        }
        return .number(JSONNumber(value))
      }
    }
  }

  /// `strconv.FormatFloat(f, 'g', -1, 32)` with go-yaml's spellings of the special values.
  static func goFloat32String(_ value: Double) -> String {
    if value.isNaN { return ".nan" }
    if value.isInfinite { return value < 0 ? "-.inf" : ".inf" }
    let single = Float(value)
    if single == 0 { return single.sign == .minus ? "-0" : "0" }
    // Shortest digits of the Float, then Go's %g layout: exponent form below 1e-4 or from 1e6.
    var text = "\(abs(single))"
    var exponent = 0
    if let e = text.firstIndex(where: { $0 == "e" }) {
      exponent = Int(text[text.index(after: e)...]) ?? 0
      text = String(text[..<e])
    }
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    let whole = String(parts[0])
    let fraction = parts.count > 1 ? String(parts[1]) : ""
    var digits = whole + fraction
    var point = whole.count + exponent
    while digits.count > 1, digits.hasPrefix("0") { digits.removeFirst(); point -= 1 }
    while digits.count > 1, digits.hasSuffix("0") { digits.removeLast() }
    let sign = single < 0 ? "-" : ""
    let decimalExponent = point - 1
    if decimalExponent < -4 || decimalExponent >= 6 {  // shortest %g switches at precision 6
      let tail = digits.dropFirst()
      let magnitude = abs(decimalExponent)
      return sign + digits.prefix(1) + (tail.isEmpty ? "" : "." + tail) + "e" + (decimalExponent < 0 ? "-" : "+")
        + (magnitude < 10 ? "0" : "") + String(magnitude)
    }
    if point <= 0 { return sign + "0." + String(repeating: "0", count: -point) + digits }
    if point >= digits.count { return sign + digits + String(repeating: "0", count: point - digits.count) }
    let index = digits.index(digits.startIndex, offsetBy: point)
    return sign + digits[..<index] + "." + digits[index...]
  }
}

extension Int {
  /// Addition that stops at `Int.max` instead of trapping.
  func addingCapped(_ other: Int) -> Int {
    let (sum, overflow) = addingReportingOverflow(other)
    return overflow ? .max : sum
  }
}
