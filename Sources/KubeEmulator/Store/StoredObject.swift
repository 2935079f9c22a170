import KubeCore
import Synchronization

/// One stored version of an object, with its JSON made at most once and shared by every answer
/// that serves this version: LIST items, GETs, write responses and watch events.
///
/// What is kept is the object's members other than `kind` and `apiVersion` (`"metadata":{…},…`,
/// without braces): those two are what differs between the ways one version is served — a LIST
/// item of a built-in kind has neither, a GET has `kind` then `apiVersion`, a custom resource has
/// `apiVersion` (the version asked for: one stored version serves every version of its CRD, as the
/// emulator converts with the `None` strategy) then `kind` — so one encoding serves them all, the
/// header written around it (`ServedForm`).
///
/// Guarantees: `members` is exactly what `JSONSerializer` writes for those members of `value`, so
/// an answer built from it has the same bytes as one serialised from the object. A new version of
/// an object is a new `StoredObject`, so an encoding is never served for a version it was not made
/// from.
/// Caveats: encodings are kept while the whole store holds at most `EncodingBudget.defaultLimit` bytes of
/// them; past that a version is encoded on every read instead (the answer is the same).
public final class StoredObject: Sendable {
  /// The object as the store holds it.
  public let value: JSONValue
  private let budget: EncodingBudget
  /// The encoded members, once made and while the budget allowed keeping them.
  private let encoded = Mutex<[UInt8]?>(nil)

  init(_ value: JSONValue, budget: EncodingBudget) {
    self.value = value
    self.budget = budget
  }

  deinit {
    if let bytes = encoded.withLock({ $0 }) { budget.release(bytes.count) }
  }

  /// The JSON of every member but `kind` and `apiVersion`, comma-separated, in stored order.
  ///
  /// Made on the first call (outside the store's lock: callers read the `StoredObject` under it and
  /// encode after); later calls, from any thread, get the same bytes. A caller racing the first
  /// waits for it rather than encoding again.
  public var members: [UInt8] {
    encoded.withLock { cached in
      if let cached { return cached }
      let bytes = StoredObject.encodeMembers(value)
      if budget.reserve(bytes.count) { cached = bytes }
      return bytes
    }
  }

  static func encodeMembers(_ value: JSONValue) -> [UInt8] {
    guard case .object(let o) = value else { return [] }
    var out: [UInt8] = []
    out.reserveCapacity(2048)
    var first = true
    for i in 0..<o.count where o.keys[i] != "kind" && o.keys[i] != "apiVersion" {
      if !first { out.append(UInt8(ascii: ",")) }
      first = false
      JSONSerializer.write(.string(o.keys[i]), into: &out)
      out.append(UInt8(ascii: ":"))
      JSONSerializer.write(o.values[i], into: &out)
    }
    return out
  }
}

/// How many bytes of encodings one store keeps (see `StoredObject`), shared by its objects.
final class EncodingBudget: Sendable {
  /// 64 MiB: the JSON of some 20,000 pods as the benchmark writes them (3.3 KB each).
  static let defaultLimit = 64 << 20
  let limit: Int
  private let used = Atomic<Int>(0)

  init(limit: Int = EncodingBudget.defaultLimit) { self.limit = limit }

  /// Takes `count` bytes of the budget if they fit.
  func reserve(_ count: Int) -> Bool {
    var current = used.load(ordering: .relaxed)
    while current + count <= limit {
      let (exchanged, original) = used.compareExchange(expected: current, desired: current + count, ordering: .relaxed)
      if exchanged { return true }
      current = original
    }
    return false
  }

  func release(_ count: Int) { used.subtract(count, ordering: .relaxed) }

  /// Bytes of encodings kept now.
  var bytes: Int { used.load(ordering: .relaxed) }
}

/// What is written around a `StoredObject`'s members to serve it: `kind` and `apiVersion` as the
/// request's resource names them, in the order kube-apiserver writes them (a typed object's
/// `TypeMeta` first, `kind` then `apiVersion`; an unstructured one's keys sorted).
public struct ServedForm: Sendable {
  let kind: String
  let groupVersion: String
  /// Whether LIST items carry `kind` and `apiVersion`: a custom resource list's do (unstructured
  /// lists write each item whole), a built-in list's do not (the typed list names them once).
  let itemsCarryType: Bool
  /// `{"kind":"Pod","apiVersion":"v1"` (built-in) or `{"apiVersion":"g/v","kind":"K"` (custom).
  let objectHead: [UInt8]

  init(kind: String, groupVersion: String, isCustom: Bool) {
    self.kind = kind
    self.groupVersion = groupVersion
    itemsCarryType = isCustom
    var head: [UInt8] = [UInt8(ascii: "{")]
    for (i, (key, value)) in ServedForm.typeMembers(kind: kind, groupVersion: groupVersion, isCustom: isCustom).enumerated() {
      if i > 0 { head.append(UInt8(ascii: ",")) }
      JSONSerializer.write(.string(key), into: &head)
      head.append(UInt8(ascii: ":"))
      JSONSerializer.write(.string(value), into: &head)
    }
    objectHead = head
  }

  private static func typeMembers(kind: String, groupVersion: String, isCustom: Bool) -> [(String, String)] {
    isCustom ? [("apiVersion", groupVersion), ("kind", kind)] : [("kind", kind), ("apiVersion", groupVersion)]
  }

  /// The object as a GET, a write's answer or a watch event serves it: `kind` and `apiVersion`
  /// first, then every other member in stored order.
  func present(_ object: JSONValue) -> JSONValue {
    guard case .object(let o) = object else { return object }
    var out = JSONObject()
    for (key, value) in ServedForm.typeMembers(kind: kind, groupVersion: groupVersion, isCustom: itemsCarryType) {
      out.appendUnchecked(key, .string(value))
    }
    for i in 0..<o.count where o.keys[i] != "kind" && o.keys[i] != "apiVersion" { out.appendUnchecked(o.keys[i], o.values[i]) }
    return .object(out)
  }

  /// The object as an item of a LIST (see `itemsCarryType`).
  func item(_ object: JSONValue) -> JSONValue {
    if itemsCarryType { return present(object) }
    guard case .object(var o) = object else { return object }
    o.removeValue(forKey: "kind")
    o.removeValue(forKey: "apiVersion")
    return .object(o)
  }

  /// Appends the served object (`present`) encoded from its members' encoding.
  func writeObject(_ members: [UInt8], into out: inout [UInt8]) {
    out.append(contentsOf: objectHead)
    if !members.isEmpty {
      out.append(UInt8(ascii: ","))
      out.append(contentsOf: members)
    }
    out.append(UInt8(ascii: "}"))
  }
}
