import KubeCore

/// How server-side apply sees one node of a type: which maps are atomic, which lists are keyed, sets
/// or atomic.
///
/// kube-apiserver builds this from the OpenAPI models (k8s.io/kube-openapi `pkg/schemaconv/smd.go`):
/// `x-kubernetes-list-type` decides a list (`map` with `x-kubernetes-list-map-keys`, `set`, `atomic`);
/// without it, `x-kubernetes-patch-strategy: merge` makes a list keyed by its
/// `x-kubernetes-patch-merge-key`, or a set when it has none; anything else is atomic.
/// `x-kubernetes-map-type: atomic` makes a map atomic. Custom resources use the same extensions in
/// their CRD schema (apiextensions-apiserver builds the same models from it). Where nothing is known
/// the type is *deduced* as upstream's `deduced` type: maps are granular, lists atomic.
public struct ApplySchema: Sendable {
  enum Source: Sendable {
    case builtin(PatchSchema)
    case custom(JSONValue, metadata: PatchSchema?)
    case deduced
  }

  /// What kind of list a node is.
  public enum ListType: Sendable, Equatable {
    /// Replaced whole, owned as one field.
    case atomic
    /// Items are scalars, each owned on its own (`v:` elements).
    case set
    /// Items are objects identified by these fields (`k:` elements); a key field an item leaves
    /// out takes its value from `defaults` when the schema has one.
    case map(keys: [String], defaults: [String: JSONValue] = [:])
  }

  /// Defaults of list-map key fields of built-in types that are not zero values, from the upstream
  /// OpenAPI v3 documents (`"default": "TCP"` on `ContainerPort.protocol` and `ServicePort.protocol`;
  /// the bundled v2 document has no `default`s). structured-merge-diff keys an item that omits a key
  /// field by the field's default (typed/helpers.go `keyedAssociativeListItemToPathElement`: "omits
  /// key field … (and doesn't have default value)" is the error only without one), which is what
  /// makes an applied port without `protocol` the same item as the stored, defaulted one
  /// (kubernetes PR #98576).
  static let builtinKeyDefaults: [String: [String: JSONValue]] = [
    "io.k8s.api.core.v1.ContainerPort": ["protocol": "TCP"],
    "io.k8s.api.core.v1.ServicePort": ["protocol": "TCP"],
  ]

  let source: Source

  /// A schema for a built-in kind, from the upstream OpenAPI definitions.
  public init(builtin: PatchSchema) { source = .builtin(builtin) }

  /// A schema for a custom resource, from the CRD version's `openAPIV3Schema`; `metadata` is
  /// ObjectMeta's schema, as every custom resource has it whatever its CRD says.
  public init(custom: JSONValue, metadata: PatchSchema?) { source = .custom(custom, metadata: metadata) }

  /// The schema of an unknown type: granular maps, atomic lists.
  public static let deduced = ApplySchema(source: .deduced)

  private init(source: Source) { self.source = source }

  /// The schema of member `name`; `deduced` when nothing is known.
  public func field(_ name: String) -> ApplySchema {
    switch source {
    case .builtin(let schema):
      return schema.field(name).map(ApplySchema.init(builtin:)) ?? .deduced
    case .custom(let node, let metadata):
      // Only the root carries ObjectMeta's schema.
      if name == "metadata", let metadata { return ApplySchema(builtin: metadata) }
      if let property = node["properties"]?[name] { return ApplySchema(custom: property, metadata: nil) }
      if let additional = node["additionalProperties"], case .object = additional {
        return ApplySchema(custom: additional, metadata: nil)
      }
      return .deduced
    case .deduced:
      return .deduced
    }
  }

  /// Whether `name` is a declared field (a struct member) rather than a key of a map.
  public func declares(_ name: String) -> Bool {
    switch source {
    case .builtin(let schema): return schema.declares(name)
    case .custom(let node, _): return node["properties"]?[name] != nil
    case .deduced: return false
    }
  }

  /// The schema of a list's items.
  public var items: ApplySchema {
    switch source {
    case .builtin(let schema): return schema.items.map(ApplySchema.init(builtin:)) ?? .deduced
    case .custom(let node, _): return node["items"].map { ApplySchema(custom: $0, metadata: nil) } ?? .deduced
    case .deduced: return .deduced
    }
  }

  /// Whether objects of this type drop empty maps and lists when stored: built-in kinds are Go
  /// structs whose collections are `omitempty`; custom resources are stored as sent.
  public var omitsEmptyCollections: Bool {
    if case .builtin = source { return true }
    return false
  }

  /// Whether the map is owned whole (`x-kubernetes-map-type: atomic`).
  public var isAtomicMap: Bool {
    switch source {
    case .builtin(let schema): return schema.mapType == "atomic"
    case .custom(let node, _): return node["x-kubernetes-map-type"]?.stringValue == "atomic"
    case .deduced: return false
    }
  }

  /// The list's type, as described on the type.
  public var listType: ListType {
    switch source {
    case .builtin(let schema):
      switch schema.listType {
      case "map": return .map(keys: schema.listMapKeys, defaults: schema.items?.definitionName.flatMap { ApplySchema.builtinKeyDefaults[$0] } ?? [:])
      case "set": return .set
      case "atomic": return .atomic
      default:
        guard schema.patchStrategy.merges else { return .atomic }
        return schema.mergeKey.map { .map(keys: [$0]) } ?? .set
      }
    case .custom(let node, _):
      switch node["x-kubernetes-list-type"]?.stringValue {
      case "map":
        let keys = node["x-kubernetes-list-map-keys"]?.arrayValue?.compactMap(\.stringValue) ?? []
        var defaults: [String: JSONValue] = [:]
        for key in keys { if let value = node["items"]?["properties"]?[key]?["default"] { defaults[key] = value } }
        return .map(keys: keys, defaults: defaults)
      case "set": return .set
      default: return .atomic
      }
    case .deduced:
      return .atomic
    }
  }
}
