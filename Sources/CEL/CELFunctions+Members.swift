import KubeCore

extension CELFunctions {
  /// Receiver-style calls: string extensions (cel-go `ext/strings.go`), the Kubernetes list, regex and
  /// quantity libraries (k8s.io/apiserver `pkg/cel/library/lists.go`, `regex.go`, `quantity.go`),
  /// duration accessors and optional values.
  package static func member(_ name: String, _ target: CELValue, _ args: [CELValue], cost: inout CELCost) throws(CELEvalError) -> CELValue {
    switch target {
    case .string(let s): return try stringMember(name, s, args, cost: &cost)
    case .list(let items): return try listMember(name, items, args, cost: &cost)
    case .keyedList(let k): return try listMember(name, k.items, args, cost: &cost)
    case .map(let m) where name == "size" && args.isEmpty: return .int(Int64(m.count))
    case .bytes(let b) where name == "size" && args.isEmpty: return .int(Int64(b.count))
    case .quantity(let q): return try quantityMember(name, q, args)
    case .timestamp(let t): return try timestampMember(name, t, args)
    case .duration(let d):
      switch (name, args.count) {
      case ("getHours", 0): return .int(d / 3_600_000_000_000)
      case ("getMinutes", 0): return .int(d / 60_000_000_000)
      case ("getSeconds", 0): return .int(d / 1_000_000_000)
      case ("getMilliseconds", 0): return .int((d / 1_000_000) % 1000)
      default: throw CELEvalError.noSuchOverload
      }
    case .optional(let wrapped):
      switch (name, args.count) {
      case ("hasValue", 0): return .bool(wrapped != nil)
      case ("value", 0):
        guard let wrapped else { throw .error("optional.none() dereference") }
        return wrapped
      case ("orValue", 1): return wrapped ?? args[0]
      default: throw CELEvalError.noSuchOverload
      }
    default:
      throw CELEvalError.noSuchOverload
    }
  }

  private static func string(_ v: CELValue) throws(CELEvalError) -> String {
    guard case .string(let s) = v else { throw CELEvalError.noSuchOverload }
    return s
  }

  private static func int(_ v: CELValue) throws(CELEvalError) -> Int64 {
    guard case .int(let i) = v else { throw CELEvalError.noSuchOverload }
    return i
  }

  private static func stringMember(_ name: String, _ s: String, _ args: [CELValue], cost: inout CELCost) throws(CELEvalError) -> CELValue {
    try cost.charge(CELCost.linear(s.utf8.count))
    // searching for a substring is charged per (haystack × needle), what the naive search costs
    if ["contains", "indexOf", "lastIndexOf", "replace", "split"].contains(name), case .string(let needle)? = args.first {
      try cost.charge(CELCost.linear(s.utf8.count) * CELCost.linear(needle.utf8.count))
    }
    let scalars = Array(s.unicodeScalars)
    func text(_ slice: ArraySlice<Unicode.Scalar>) -> String {
      var v = String.UnicodeScalarView(); v.append(contentsOf: slice); return String(v)
    }
    func find(_ needle: [Unicode.Scalar], from start: Int, last: Bool) -> Int {
      if needle.isEmpty { return last ? scalars.count : start }
      guard scalars.count >= needle.count, start <= scalars.count - needle.count else { return -1 }
      let positions = Array(start...(scalars.count - needle.count))
      for p in (last ? positions.reversed() : positions) where Array(scalars[p..<(p + needle.count)]) == needle { return p }
      return -1
    }
    switch (name, args.count) {
    case ("size", 0): return .int(Int64(scalars.count))
    case ("contains", 1): let t = try string(args[0]); return .bool(t.isEmpty || s.contains(t))
    case ("startsWith", 1): return .bool(s.unicodeScalars.starts(with: try string(args[0]).unicodeScalars))
    case ("endsWith", 1): return .bool(s.unicodeScalars.reversed().starts(with: try string(args[0]).unicodeScalars.reversed()))
    case ("matches", 1), ("find", 1), ("findAll", 1), ("findAll", 2):
      let re = try CELRegex.compile(try string(args[0]))
      try cost.charge(re.cost(length: scalars.count))
      switch name {
      case "matches": return .bool(re.matches(s))
      case "find": return .string(re.find(s) ?? "")
      default:
        let limit = args.count == 2 ? try int(args[1]) : -1
        return .list(re.findAll(s, limit: limit).map { .string($0) })
      }
    case ("lowerAscii", 0):
      return .string(String(String.UnicodeScalarView(s.unicodeScalars.map { $0 >= "A" && $0 <= "Z" ? Unicode.Scalar($0.value + 32) ?? $0 : $0 })))
    case ("upperAscii", 0):
      return .string(String(String.UnicodeScalarView(s.unicodeScalars.map { $0 >= "a" && $0 <= "z" ? Unicode.Scalar($0.value - 32) ?? $0 : $0 })))
    case ("trim", 0):
      let isSpace: (Unicode.Scalar) -> Bool = { $0.properties.isWhitespace }
      var a = 0, b = scalars.count
      while a < b, isSpace(scalars[a]) { a += 1 }
      while b > a, isSpace(scalars[b - 1]) { b -= 1 }
      return .string(text(scalars[a..<b]))
    case ("charAt", 1):
      let i = try int(args[0])
      guard i >= 0, i <= Int64(scalars.count) else { throw .error("index out of range: \(i)") }
      return .string(i == Int64(scalars.count) ? "" : text(scalars[Int(i)...Int(i)]))
    case ("indexOf", _), ("lastIndexOf", _):
      let needle = Array(try string(args[0]).unicodeScalars)
      let last = name == "lastIndexOf"
      if args.count == 2 {
        let offset = try int(args[1])
        guard offset >= 0, offset <= Int64(scalars.count) else { throw .error("index out of range: \(offset)") }
        if last {
          let limit = Int(offset)
          var best = -1
          if needle.count <= scalars.count {
            for p in 0...(scalars.count - needle.count) where p <= limit && Array(scalars[p..<(p + needle.count)]) == needle { best = p }
          }
          return .int(Int64(needle.isEmpty ? limit : best))
        }
        return .int(Int64(find(needle, from: Int(offset), last: false)))
      }
      return .int(Int64(find(needle, from: 0, last: last)))
    case ("replace", 2), ("replace", 3):
      let old = try string(args[0]), new = try string(args[1])
      var limit = args.count == 3 ? try int(args[2]) : -1
      if limit == 0 || old.isEmpty && limit == 0 { return .string(s) }
      // Matched scalar by scalar, as cel-go's strings.Replace matches bytes: a needle never
      // straddles or skips part of a grapheme (Foundation's range(of:) would).
      var out = "", rest = Substring(s).unicodeScalars
      if old.isEmpty { return .string(s) }
      while limit != 0, let r = rest.firstRange(of: old.unicodeScalars) {
        out += Substring(rest[..<r.lowerBound]) + new
        rest = rest[r.upperBound...]
        limit -= 1
      }
      return .string(out + Substring(rest))
    case ("split", 1), ("split", 2):
      let sep = try string(args[0])
      let limit = args.count == 2 ? try int(args[1]) : -1
      if limit == 0 { return .list([]) }
      if sep.isEmpty {
        var parts = scalars.map { CELValue.string(String($0)) }
        if limit > 0, parts.count > Int(limit) {
          let head = parts.prefix(Int(limit) - 1)
          parts = Array(head) + [.string(text(scalars[(Int(limit) - 1)...]))]
        }
        return .list(parts)
      }
      var parts: [CELValue] = [], rest = Substring(s).unicodeScalars
      while limit < 0 || parts.count < Int(limit) - 1, let r = rest.firstRange(of: sep.unicodeScalars) {
        parts.append(.string(String(Substring(rest[..<r.lowerBound]))))
        rest = rest[r.upperBound...]
      }
      parts.append(.string(String(Substring(rest))))
      return .list(parts)
    case ("substring", 1), ("substring", 2):
      let start = try int(args[0])
      let end = args.count == 2 ? try int(args[1]) : Int64(scalars.count)
      guard start >= 0, start <= Int64(scalars.count) else { throw .error("index out of range: \(start)") }
      guard end >= 0, end <= Int64(scalars.count) else { throw .error("index out of range: \(end)") }
      guard start <= end else { throw .error("invalid substring range. start: \(start), end: \(end)") }
      return .string(text(scalars[Int(start)..<Int(end)]))
    case ("reverse", 0): return .string(text(ArraySlice(scalars.reversed())))
    case ("format", 1):
      guard case .list(let values)? = args.first.map({ $0.listItems.map(CELValue.list) ?? $0 }) else { throw CELEvalError.noSuchOverload }
      return .string(try CELConversions.format(s, values))
    default: throw CELEvalError.noSuchOverload
    }
  }

  private static func listMember(_ name: String, _ items: [CELValue], _ args: [CELValue], cost: inout CELCost) throws(CELEvalError) -> CELValue {
    try cost.charge(UInt64(items.count))
    switch (name, args.count) {
    case ("size", 0): return .int(Int64(items.count))
    case ("join", 0), ("join", 1):
      let sep = args.isEmpty ? "" : try string(args[0])
      var parts: [String] = []
      for item in items { parts.append(try string(item)) }
      return .string(parts.joined(separator: sep))
    case ("indexOf", 1):
      return .int(Int64(items.firstIndex { CELValue.equals($0, args[0]) } ?? -1))
    case ("lastIndexOf", 1):
      return .int(Int64(items.lastIndex { CELValue.equals($0, args[0]) } ?? -1))
    case ("isSorted", 0):
      for k in items.indices.dropFirst() {
        guard let c = try compare(items[k - 1], items[k]) else { return .bool(false) }
        if c > 0 { return .bool(false) }
      }
      return .bool(true)
    case ("sum", 0):
      guard var total = items.first else { return .int(0) }
      for item in items.dropFirst() { total = try call("_+_", target: nil, args: [total, item], cost: &cost) }
      return total
    case ("min", 0), ("max", 0):
      guard var best = items.first else { throw .error("\(name) called on empty list") }
      for item in items.dropFirst() {
        guard let c = try compare(item, best) else { continue }
        if name == "min" ? c < 0 : c > 0 { best = item }
      }
      return best
    default: throw CELEvalError.noSuchOverload
    }
  }

  private static func quantityMember(_ name: String, _ q: Quantity, _ args: [CELValue]) throws(CELEvalError) -> CELValue {
    func other() throws(CELEvalError) -> Quantity {
      guard case .quantity(let o) = args[0] else { throw CELEvalError.noSuchOverload }
      return o
    }
    switch (name, args.count) {
    case ("compareTo", 1): let o = try other(); return .int(q < o ? -1 : (q == o ? 0 : 1))
    case ("isGreaterThan", 1): return .bool(q > (try other()))
    case ("isLessThan", 1): return .bool(q < (try other()))
    case ("asApproximateFloat", 0): return .double(q.doubleValue)
    case ("isInteger", 0):
      let d = q.doubleValue
      return .bool(d == d.rounded() && abs(d) < 9.2e18)
    case ("asInteger", 0):
      let d = q.doubleValue
      guard d == d.rounded(), abs(d) < 9.2e18 else { throw .error("cannot convert value to integer") }
      return .int(Int64(d))
    case ("sign", 0): return .int(q.isZero ? 0 : (q.doubleValue < 0 ? -1 : 1))
    default: throw CELEvalError.noSuchOverload
    }
  }
}
