#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import KubeCore

/// One of the project's custom resources: metadata, a typed spec and status, and the object as it
/// was read, so that writing it back never erases a field this version of the code does not know.
///
/// *Guarantees*: `json` is the original object with every field the Swift types model replaced by
/// their current values (an optional set to nil removes the field) and every field they do not
/// model kept as it was — at every level, so a newer CRD field inside `spec.engine` survives a
/// round trip through an older controller.
public protocol CustomResource: Sendable {
  associatedtype Spec: Codable & Sendable & Equatable
  associatedtype Status: Codable & Sendable & Equatable
  static var kind: String { get }
  static var plural: String { get }
  var metadata: ObjectMeta { get set }
  var spec: Spec { get set }
  var status: Status? { get set }
  /// The object as read (or as built), the base unknown fields are kept from.
  var original: JSONValue { get }
  init(metadata: ObjectMeta, spec: Spec, status: Status?, original: JSONValue)
}

/// The API group and version of the project's custom resources.
public enum EdgeMLAPI {
  public static let group = "edgeml.io"
  public static let version = "v1alpha1"
  public static let apiVersion = "edgeml.io/v1alpha1"
}

/// Why an object could not be read as one of our kinds.
public struct ResourceDecodingError: Error, Sendable, CustomStringConvertible {
  public var kind: String
  public var message: String
  public var description: String { "cannot read \(kind): \(message)" }
}

extension CustomResource {
  /// Reads an object as the API server returns it.
  /// - Throws: `ResourceDecodingError` naming the field that does not fit the type.
  public init(json: JSONValue) throws(ResourceDecodingError) {
    do {
      let metadata = try ObjectMeta(json: json["metadata"] ?? [:])
      let spec: Spec
      do { spec = try ModelCoding.decode(Spec.self, from: json["spec"] ?? [:]) } catch {
        throw ResourceDecodingError(kind: Self.kind, message: ModelCoding.describe(error, root: "spec"))
      }
      let status: Status?
      do { status = try json["status"].map { try ModelCoding.decode(Status.self, from: $0) } } catch {
        throw ResourceDecodingError(kind: Self.kind, message: ModelCoding.describe(error, root: "status"))
      }
      self.init(metadata: metadata, spec: spec, status: status, original: json)
    } catch let error as ResourceDecodingError {
      throw error
    } catch {
      throw ResourceDecodingError(kind: Self.kind, message: "\(error)")
    }
  }

  /// The object to send back: known fields from the Swift values, unknown ones from `original`.
  public var json: JSONValue {
    var out = original
    out["apiVersion"] = .string(EdgeMLAPI.apiVersion)
    out["kind"] = .string(Self.kind)
    out["metadata"] = metadata.json
    out["spec"] = ModelCoding.merge(encoded: ModelCoding.encode(spec), original: original["spec"], model: spec)
    if let status {
      out["status"] = ModelCoding.merge(encoded: ModelCoding.encode(status), original: original["status"], model: status)
    } else {
      out["status"] = nil
    }
    return out
  }
}

/// JSON ↔ Codable for the API types, and the merge that keeps unknown fields.
public enum ModelCoding {
  /// Reads `json` as `T` (KubeCore's `JSONValueDecoder`: the tree is walked, not printed and parsed).
  public static func decode<T: Decodable>(_ type: T.Type, from json: JSONValue) throws -> T {
    try JSONValueDecoder().decode(T.self, from: json)
  }

  /// `value` as JSON with sorted keys, or null when it cannot be written (a NaN or infinite Double).
  public static func encode<T: Encodable>(_ value: T) -> JSONValue {
    (try? JSONValueEncoder().encode(value)) ?? .null
  }

  /// What a user reads about a field that does not fit its type: the field's path, then why
  /// (`spec.placement.replicas: Expected to decode Int but found a string instead.`).
  public static func describe(_ error: any Error, root: String) -> String {
    guard let error = error as? DecodingError else { return "\(error)" }
    func path(_ keys: [any CodingKey]) -> String {
      keys.reduce(root) { out, key in key.intValue.map { "\(out)[\($0)]" } ?? "\(out).\(key.stringValue)" }
    }
    switch error {
    case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
      return "\(path(c.codingPath)): \(c.debugDescription)"
    case .keyNotFound(let key, let c):
      return "\(path(c.codingPath)): required field \"\(key.stringValue)\" is missing"
    @unknown default:
      return "\(error)"
    }
  }

  /// Known fields (stored properties of `model`) come from `encoded`; fields of `original` the
  /// model does not have are kept. Recurses into nested structs and into arrays of equal length.
  public static func merge(encoded: JSONValue, original: JSONValue?, model: Any) -> JSONValue {
    guard let original else { return encoded }
    let value = unwrapOptional(model)
    switch (encoded, original) {
    case (.object(var out), .object(let orig)):
      let mirror = Mirror(reflecting: value)
      guard mirror.displayStyle == .struct else { return encoded }   // maps and free-form JSON replace
      var known: [String: Any] = [:]
      for child in mirror.children { if let label = child.label { known[label] = child.value } }
      for (k, v) in orig where known[k] == nil { out[k] = v }
      for (k, child) in known {
        if let e = out[k], let o = orig[k] { out[k] = merge(encoded: e, original: o, model: child) }
      }
      return .object(out)
    case (.array(let items), .array(let origItems)) where items.count == origItems.count:
      let elements = Mirror(reflecting: value).children.map(\.value)
      guard elements.count == items.count else { return encoded }
      return .array((0..<items.count).map { merge(encoded: items[$0], original: origItems[$0], model: elements[$0]) })
    default:
      return encoded
    }
  }

  static func unwrapOptional(_ value: Any) -> Any {
    let mirror = Mirror(reflecting: value)
    if mirror.displayStyle == .optional, let first = mirror.children.first { return unwrapOptional(first.value) }
    return value
  }
}

/// An integer or a string, as `x-kubernetes-int-or-string` fields hold (`maxUnavailable: 1` or `"25%"`).
public enum IntOrString: Codable, Sendable, Hashable {
  case int(Int)
  case string(String)

  public init(from decoder: any Decoder) throws {
    let c = try decoder.singleValueContainer()
    if let i = try? c.decode(Int.self) { self = .int(i) } else { self = .string(try c.decode(String.self)) }
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    switch self {
    case .int(let i): try c.encode(i)
    case .string(let s): try c.encode(s)
    }
  }
}

/// A condition in a status (`metav1.Condition`): KubeCore's `Condition`, with its set/find helpers
/// (`Condition.set` moves `lastTransitionTime` only when the status changes).
public typealias StatusCondition = Condition

/// A reference to an object in the same namespace.
public struct LocalObjectReference: Codable, Sendable, Equatable {
  public var name: String
  public init(name: String) { self.name = name }
}

/// A key of a Secret or ConfigMap in the same namespace.
public struct KeySelector: Codable, Sendable, Equatable {
  public var name: String
  public var key: String
  public init(name: String, key: String) { self.name = name; self.key = key }
}

/// An object with no fields of its own (`replicaRatio: {}`).
public struct EmptyObject: Codable, Sendable, Equatable {
  public init() {}
}
