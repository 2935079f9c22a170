import KubeCore

/// The functions and operators CRD rules may call, dispatched by name and argument types.
///
/// Sources: google/cel-spec `doc/langdef.md` "List of Standard Definitions"; cel-go `ext/strings.go`
/// (string extensions Kubernetes enables); k8s.io/apiserver `pkg/cel/library/lists.go`, `regex.go` and
/// `quantity.go`. A call whose arguments match no overload fails with `no such overload`, as in cel-go.
package enum CELFunctions {
  /// Global functions and their accepted argument counts, for the checker.
  package static let globals: [String: Set<Int>] = [
    "size": [1], "matches": [2], "int": [1], "uint": [1], "double": [1], "string": [1], "bool": [1],
    "bytes": [1], "duration": [1], "timestamp": [1], "type": [1], "dyn": [1], "quantity": [1], "isQuantity": [1],
    "_+_": [2], "_-_": [2], "_*_": [2], "_/_": [2], "_%_": [2], "_==_": [2], "_!=_": [2], "_<_": [2],
    "_<=_": [2], "_>_": [2], "_>=_": [2], "@in": [2], "_[_]": [2], "!_": [1], "-_": [1],
    "_&&_": [2], "_||_": [2], "_?_:_": [3],
  ]

  /// Receiver-style functions (`target.f(args)`) and their accepted argument counts, for the checker.
  package static let members: [String: Set<Int>] = [
    "size": [0], "contains": [1], "startsWith": [1], "endsWith": [1], "matches": [1],
    "lowerAscii": [0], "upperAscii": [0], "trim": [0], "split": [1, 2], "join": [0, 1], "indexOf": [1, 2],
    "lastIndexOf": [1, 2], "replace": [2, 3], "format": [1], "substring": [1, 2], "charAt": [1], "reverse": [0],
    "isSorted": [0], "sum": [0], "min": [0], "max": [0], "find": [1], "findAll": [1, 2],
    "compareTo": [1], "isGreaterThan": [1], "isLessThan": [1], "asInteger": [0], "asApproximateFloat": [0],
    "isInteger": [0], "sign": [0],
    "getHours": [0, 1], "getMinutes": [0, 1], "getSeconds": [0, 1], "getMilliseconds": [0, 1],
    "getFullYear": [0, 1], "getMonth": [0, 1], "getDate": [0, 1], "getDayOfMonth": [0, 1], "getDayOfWeek": [0, 1],
    "getDayOfYear": [0, 1],
    "hasValue": [0], "value": [0], "orValue": [1],
  ]

  package static func call(_ name: String, target: CELValue?, args: [CELValue], cost: inout CELCost) throws(CELEvalError) -> CELValue {
    if let target { return try member(name, target, args, cost: &cost) }
    switch (name, args.count) {
    case ("_+_", 2): return try add(args[0], args[1], cost: &cost)
    case ("_-_", 2): return try subtract(args[0], args[1])
    case ("_*_", 2): return try multiply(args[0], args[1])
    case ("_/_", 2): return try divide(args[0], args[1])
    case ("_%_", 2): return try modulo(args[0], args[1])
    case ("_==_", 2):
      try cost.charge(equalityCost(args[0]))
      return .bool(CELValue.equals(args[0], args[1]))
    case ("_!=_", 2):
      try cost.charge(equalityCost(args[0]))
      return .bool(!CELValue.equals(args[0], args[1]))
    case ("_<_", 2): return .bool(try compare(args[0], args[1]).map { $0 < 0 } ?? false)
    case ("_<=_", 2): return .bool(try compare(args[0], args[1]).map { $0 <= 0 } ?? false)
    case ("_>_", 2): return .bool(try compare(args[0], args[1]).map { $0 > 0 } ?? false)
    case ("_>=_", 2): return .bool(try compare(args[0], args[1]).map { $0 >= 0 } ?? false)
    case ("@in", 2): return try contains(args[1], args[0], cost: &cost)
    case ("_[_]", 2): return try index(args[0], args[1])
    case ("!_", 1):
      guard case .bool(let b) = args[0] else { throw CELEvalError.noSuchOverload }
      return .bool(!b)
    case ("-_", 1):
      switch args[0] {
      case .int(let i):
        guard i != Int64.min else { throw .error("integer overflow") }
        return .int(-i)
      case .double(let d): return .double(-d)
      case .duration(let d):
        guard d != Int64.min else { throw .error("integer overflow") }
        return .duration(-d)
      default: throw CELEvalError.noSuchOverload
      }
    case ("size", 1): return try size(args[0])
    case ("matches", 2): return try member("matches", args[0], [args[1]], cost: &cost)
    case ("type", 1): return .type(args[0].typeName)
    case ("dyn", 1): return args[0]
    default:
      return try CELConversions.convert(name, args, cost: &cost)
    }
  }

  // MARK: operators

  private static func add(_ a: CELValue, _ b: CELValue, cost: inout CELCost) throws(CELEvalError) -> CELValue {
    switch (a, b) {
    case (.int(let x), .int(let y)):
      let (r, o) = x.addingReportingOverflow(y)
      if o { throw .error("integer overflow") }
      return .int(r)
    case (.uint(let x), .uint(let y)):
      let (r, o) = x.addingReportingOverflow(y)
      if o { throw .error("unsigned integer overflow") }
      return .uint(r)
    case (.double(let x), .double(let y)): return .double(x + y)
    case (.string(let x), .string(let y)):
      try cost.charge(CELCost.linear(x.utf8.count + y.utf8.count))
      return .string(x + y)
    case (.bytes(let x), .bytes(let y)):
      try cost.charge(CELCost.linear(x.count + y.count))
      return .bytes(x + y)
    case (.keyedList(let x), _):
      guard let y = b.listItems else { throw CELEvalError.noSuchOverload }
      try cost.charge(CELCost.multiplied(UInt64(x.items.count), UInt64(y.count)))
      return .keyedList(x.concatenated(with: y))
    case (.list(let x), _):
      guard let y = b.listItems else { throw CELEvalError.noSuchOverload }
      try cost.charge(UInt64(x.count + y.count))
      return .list(x + y)
    case (.duration(let x), .duration(let y)):
      let (r, o) = x.addingReportingOverflow(y)
      if o { throw .error("integer overflow") }
      return .duration(r)
    case (.timestamp(let t), .duration(let d)), (.duration(let d), .timestamp(let t)):
      return .timestamp(try shift(t, by: d))
    default: throw CELEvalError.noSuchOverload
    }
  }

  package static func shift(_ t: Timestamp, by nanos: Int64) throws(CELEvalError) -> Timestamp {
    var seconds = t.secondsSinceEpoch.addingReportingOverflow(nanos / 1_000_000_000)
    var n = Int64(t.nanoseconds) + nanos % 1_000_000_000
    if n < 0 { n += 1_000_000_000; seconds.partialValue -= 1 }
    if n >= 1_000_000_000 { n -= 1_000_000_000; seconds.partialValue += 1 }
    // CEL timestamps span years 0001 to 9999 (langdef.md "Timestamp and Duration").
    guard !seconds.overflow, seconds.partialValue >= -62135596800, seconds.partialValue <= 253402300799 else {
      throw .error("timestamp overflow")
    }
    return Timestamp(secondsSinceEpoch: seconds.partialValue, nanoseconds: Int32(n))
  }

  private static func subtract(_ a: CELValue, _ b: CELValue) throws(CELEvalError) -> CELValue {
    switch (a, b) {
    case (.int(let x), .int(let y)):
      let (r, o) = x.subtractingReportingOverflow(y)
      if o { throw .error("integer overflow") }
      return .int(r)
    case (.uint(let x), .uint(let y)):
      let (r, o) = x.subtractingReportingOverflow(y)
      if o { throw .error("unsigned integer overflow") }
      return .uint(r)
    case (.double(let x), .double(let y)): return .double(x - y)
    case (.duration(let x), .duration(let y)):
      let (r, o) = x.subtractingReportingOverflow(y)
      if o { throw .error("integer overflow") }
      return .duration(r)
    case (.timestamp(let t), .duration(let d)):
      guard d != Int64.min else { throw .error("integer overflow") }
      return .timestamp(try shift(t, by: -d))
    case (.timestamp(let x), .timestamp(let y)):
      let (s, o1) = x.secondsSinceEpoch.subtractingReportingOverflow(y.secondsSinceEpoch)
      let (ns, o2) = s.multipliedReportingOverflow(by: 1_000_000_000)
      let (r, o3) = ns.addingReportingOverflow(Int64(x.nanoseconds) - Int64(y.nanoseconds))
      if o1 || o2 || o3 { throw .error("integer overflow") }
      return .duration(r)
    default: throw CELEvalError.noSuchOverload
    }
  }

  private static func multiply(_ a: CELValue, _ b: CELValue) throws(CELEvalError) -> CELValue {
    switch (a, b) {
    case (.int(let x), .int(let y)):
      let (r, o) = x.multipliedReportingOverflow(by: y)
      if o { throw .error("integer overflow") }
      return .int(r)
    case (.uint(let x), .uint(let y)):
      let (r, o) = x.multipliedReportingOverflow(by: y)
      if o { throw .error("unsigned integer overflow") }
      return .uint(r)
    case (.double(let x), .double(let y)): return .double(x * y)
    default: throw CELEvalError.noSuchOverload
    }
  }

  private static func divide(_ a: CELValue, _ b: CELValue) throws(CELEvalError) -> CELValue {
    switch (a, b) {
    case (.int(let x), .int(let y)):
      if y == 0 { throw .error("division by zero") }
      if x == Int64.min && y == -1 { throw .error("integer overflow") }
      return .int(x / y)
    case (.uint(let x), .uint(let y)):
      if y == 0 { throw .error("division by zero") }
      return .uint(x / y)
    case (.double(let x), .double(let y)): return .double(x / y)
    default: throw CELEvalError.noSuchOverload
    }
  }

  private static func modulo(_ a: CELValue, _ b: CELValue) throws(CELEvalError) -> CELValue {
    switch (a, b) {
    case (.int(let x), .int(let y)):
      if y == 0 { throw .error("modulus by zero") }
      if x == Int64.min && y == -1 { throw .error("integer overflow") }
      return .int(x % y)
    case (.uint(let x), .uint(let y)):
      if y == 0 { throw .error("modulus by zero") }
      return .uint(x % y)
    default: throw CELEvalError.noSuchOverload
    }
  }

  /// Orders two values of comparable types (langdef.md "Ordering"); numbers across types; nil when a
  /// NaN makes them unordered (every comparison is then false).
  package static func compare(_ a: CELValue, _ b: CELValue) throws(CELEvalError) -> Int? {
    switch (a, b) {
    case (.string(let x), .string(let y)):
      // CEL orders strings by code point, which is UTF-8 byte order
      return x.utf8.lexicographicallyPrecedes(y.utf8) ? -1 : (x == y ? 0 : 1)
    case (.bytes(let x), .bytes(let y)): return x.lexicographicallyPrecedes(y) ? -1 : (x == y ? 0 : 1)
    case (.bool(let x), .bool(let y)): return x == y ? 0 : (!x ? -1 : 1)
    case (.duration(let x), .duration(let y)): return x < y ? -1 : (x == y ? 0 : 1)
    case (.timestamp(let x), .timestamp(let y)): return x < y ? -1 : (x == y ? 0 : 1)
    default:
      if let c = CELValue.numericCompare(a, b) { return c }
      if case .double(let d) = a, d.isNaN, isNumber(b) { return nil }
      if case .double(let d) = b, d.isNaN, isNumber(a) { return nil }
      throw CELEvalError.noSuchOverload
    }
  }

  package static func isNumber(_ v: CELValue) -> Bool {
    switch v {
    case .int, .uint, .double: return true
    default: return false
    }
  }

  private static func equalityCost(_ v: CELValue) -> UInt64 {
    switch v {
    case .string(let s): return CELCost.linear(s.utf8.count)
    case .bytes(let b): return CELCost.linear(b.count)
    case .list(let l): return UInt64(l.count)
    case .keyedList(let k): return CELCost.multiplied(UInt64(k.items.count), UInt64(k.items.count))
    case .map(let m): return UInt64(m.count)
    default: return 0
    }
  }

  private static func contains(_ container: CELValue, _ element: CELValue, cost: inout CELCost) throws(CELEvalError) -> CELValue {
    if let items = container.listItems {
      try cost.charge(UInt64(items.count))
      return .bool(items.contains { CELValue.equals($0, element) })
    }
    switch container {
    case .list(let items):
      try cost.charge(UInt64(items.count))
      return .bool(items.contains { CELValue.equals($0, element) })
    case .map(let m): return .bool(m.contains(element))
    default: throw CELEvalError.noSuchOverload
    }
  }

  private static func index(_ container: CELValue, _ key: CELValue) throws(CELEvalError) -> CELValue {
    switch container.listItems.map(CELValue.list) ?? container {
    case .list(let items):
      let i: Int64
      switch key {
      case .int(let v): i = v
      case .uint(let v): i = v > UInt64(Int64.max) ? Int64.max : Int64(v)
      case .double(let d) where d == d.rounded() && abs(d) < 9e18: i = Int64(d)
      default: throw .error("unsupported index type '\(key.typeName)' in list")
      }
      guard i >= 0, i < Int64(items.count) else { throw .error("index out of bounds: \(i)") }
      return items[Int(i)]
    case .map(let m):
      guard CELMap.isKeyType(key) || { if case .double = key { return true } else { return false } }() else {
        throw .error("unsupported key type")
      }
      guard let v = m[key] else { throw .error("no such key: \(CELConversions.display(key))") }
      return v
    case .optional: throw CELEvalError.noSuchOverload
    default: throw CELEvalError.noSuchOverload
    }
  }

  package static func size(_ v: CELValue) throws(CELEvalError) -> CELValue {
    switch v {
    case .string(let s): return .int(Int64(s.unicodeScalars.count))
    case .bytes(let b): return .int(Int64(b.count))
    case .list(let l): return .int(Int64(l.count))
    case .keyedList(let k): return .int(Int64(k.items.count))
    case .map(let m): return .int(Int64(m.count))
    default: throw CELEvalError.noSuchOverload
    }
  }
}
