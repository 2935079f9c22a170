import KubeCore

/// The nesting limit for patch bodies.
///
/// Merging and comparing values recurse once per nesting level, and so do `KubeCore`'s equality and
/// serializer; a body nested thousands of levels deep (the parser accepts 10 000, as Go's decoder
/// does) would exhaust a thread's stack. Kubernetes objects are a few dozen levels deep, so refusing
/// bodies deeper than `maximum` changes nothing for real clients and turns an attack into a 400.
enum PatchDepth {
  /// The deepest nesting of objects and arrays a patch body may have.
  static let maximum = 2_000

  /// Throws `PatchError.malformedPatch` when `body` nests objects and arrays deeper than `maximum`.
  ///
  /// - Complexity: O(size of `body`), without recursion.
  static func check(_ body: JSONValue) throws(PatchError) {
    var pending: [(value: JSONValue, depth: Int)] = [(body, 1)]
    while let (value, depth) = pending.popLast() {
      let children: [JSONValue]
      switch value {
      case .object(let object): children = object.values
      case .array(let elements): children = elements
      case .null, .bool, .number, .string: continue
      }
      guard depth <= maximum else {
        throw .malformedPatch(detail: "patch nests objects and arrays deeper than \(maximum) levels")
      }
      for child in children { pending.append((child, depth + 1)) }
    }
  }
}
