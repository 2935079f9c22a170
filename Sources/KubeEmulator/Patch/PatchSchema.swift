import KubeCore

/// The strategic-merge metadata of the built-in API types, read from an OpenAPI v2 document.
///
/// kube-apiserver takes this metadata from the Go struct tags (`patchStrategy`, `patchMergeKey`) of the
/// versioned type (kubernetes/apiserver `pkg/endpoints/handlers/patch.go`, `smpPatcher`); the OpenAPI
/// document publishes the same tags as `x-kubernetes-patch-strategy` and `x-kubernetes-patch-merge-key`
/// (kubernetes `api/openapi-spec/README.md`), so a registry built from the upstream swagger file gives
/// the same merges without Go types.
///
/// Guarantees: lookups never copy the definitions; `$ref`s are resolved when a field is asked for, so
/// recursive definitions (`JSONSchemaProps`) cost nothing up front.
public struct PatchSchemaRegistry: Sendable {
  private let definitions: [String: JSONValue]
  private let definitionNamesByKind: [String: String]

  /// Builds a registry from the document's `definitions` object (names such as
  /// `io.k8s.api.apps.v1.Deployment`). Anything that is not an object gives an empty registry.
  ///
  /// - Complexity: O(number of definitions).
  public init(swaggerDefinitions: JSONValue) {
    var table: [String: JSONValue] = [:]
    var kinds: [String: String] = [:]
    if case .object(let object) = swaggerDefinitions {
      table.reserveCapacity(object.count)
      for (name, definition) in object {
        table[name] = definition
        for gvk in definition["x-kubernetes-group-version-kind"]?.arrayValue ?? [] {
          guard let group = gvk["group"]?.stringValue, let version = gvk["version"]?.stringValue,
            let kind = gvk["kind"]?.stringValue
          else { continue }
          let key = PatchSchemaRegistry.kindKey(group: group, version: version, kind: kind)
          if kinds[key] == nil { kinds[key] = name }
        }
      }
    }
    definitions = table
    definitionNamesByKind = kinds
  }

  /// The schema of definition `name`, or nil when the document has no such definition.
  public func schema(forDefinition name: String) -> PatchSchema? {
    guard case .object(let node)? = definitions[name] else { return nil }
    return PatchSchema(node: node, definitions: definitions)
  }

  /// The schema of the definition whose `x-kubernetes-group-version-kind` names this kind (`""` is the
  /// core group), or nil for kinds the document does not serve, such as custom resources.
  public func schema(group: String, version: String, kind: String) -> PatchSchema? {
    definitionNamesByKind[PatchSchemaRegistry.kindKey(group: group, version: version, kind: kind)].flatMap(schema(forDefinition:))
  }

  private static func kindKey(group: String, version: String, kind: String) -> String { "\(group)/\(version)/\(kind)" }
}

/// How a field is patched, from `x-kubernetes-patch-strategy` (`merge`, `replace`, `retainKeys`,
/// `merge,retainKeys`).
public struct PatchStrategy: Sendable, Hashable {
  /// `merge`: a list merges by its merge key (maps) or as a set (primitives).
  public var merges: Bool
  /// `replace`: a map is replaced by the patch instead of merged.
  public var replaces: Bool
  /// `retainKeys`: the field is a union whose patch may carry `$retainKeys`. Applying a patch needs
  /// nothing more: the directive in the patch does the clearing.
  public var retainsKeys: Bool

  /// No strategy: maps merge, lists are replaced.
  public static let none = PatchStrategy(merges: false, replaces: false, retainsKeys: false)

  /// A strategy from its flags.
  public init(merges: Bool, replaces: Bool, retainsKeys: Bool) {
    self.merges = merges
    self.replaces = replaces
    self.retainsKeys = retainsKeys
  }

  /// Parses the comma-separated extension value; unknown words are ignored.
  public init(parsing value: String) {
    let words = value.split(separator: ",").map { String($0.filter { !$0.isWhitespace }) }
    self.init(merges: words.contains("merge"), replaces: words.contains("replace"), retainsKeys: words.contains("retainKeys"))
  }
}

/// One node of an OpenAPI v2 schema, seen for strategic merge patch: a field's schema with its patch
/// metadata, and the way down to its fields and list items.
///
/// A node is the schema *as it appears where it is used* — for `PodSpec.containers` that is
/// `{"type": "array", "items": {"$ref": …Container}, "x-kubernetes-patch-merge-key": "name", …}` — so
/// the patch extensions, which sit beside the `$ref`, are kept; `field(_:)` and `items` follow `$ref`s.
public struct PatchSchema: Sendable {
  private let node: JSONObject
  private let definitions: [String: JSONValue]

  init(node: JSONObject, definitions: [String: JSONValue]) {
    self.node = node
    self.definitions = definitions
  }

  /// The field's `x-kubernetes-patch-strategy`; `.none` when absent.
  public var patchStrategy: PatchStrategy {
    node["x-kubernetes-patch-strategy"]?.stringValue.map(PatchStrategy.init(parsing:)) ?? .none
  }

  /// The field's `x-kubernetes-patch-merge-key`: the member that identifies an element of a merged list.
  public var mergeKey: String? { node["x-kubernetes-patch-merge-key"]?.stringValue }

  /// The field's `x-kubernetes-list-type` (`atomic`, `set`, `map`), for server-side apply; strategic
  /// merge patch ignores it, as kube-apiserver does.
  public var listType: String? { node["x-kubernetes-list-type"]?.stringValue }

  /// The field's `x-kubernetes-list-map-keys`; empty when absent.
  public var listMapKeys: [String] { node["x-kubernetes-list-map-keys"]?.arrayValue?.compactMap(\.stringValue) ?? [] }

  /// The definition a `$ref` node names (`io.k8s.api.core.v1.ContainerPort`); nil for inline schemas.
  public var definitionName: String? {
    guard let reference = node["$ref"]?.stringValue, reference.hasPrefix("#/definitions/") else { return nil }
    return String(reference.dropFirst("#/definitions/".count))
  }

  /// The field's `x-kubernetes-map-type` (`atomic`, `granular`), read beside a `$ref` or on the
  /// definition it names (`LabelSelector` is atomic); nil when absent. Used by server-side apply.
  public var mapType: String? {
    node["x-kubernetes-map-type"]?.stringValue ?? resolved()?["x-kubernetes-map-type"]?.stringValue
  }

  /// Whether `name` is a declared property (a struct field), not a key of an `additionalProperties` map.
  public func declares(_ name: String) -> Bool {
    guard let resolved = resolved(), case .object(let properties)? = resolved["properties"] else { return false }
    return properties[name] != nil
  }

  /// The schema of member `name` of an object: a declared property, else the `additionalProperties`
  /// schema of a map type (`labels`, `resources.limits`); nil when the schema says nothing about it.
  public func field(_ name: String) -> PatchSchema? {
    guard let resolved = resolved() else { return nil }
    if case .object(let properties)? = resolved["properties"], case .object(let property)? = properties[name] {
      return PatchSchema(node: property, definitions: definitions)
    }
    if case .object(let additional)? = resolved["additionalProperties"] {
      return PatchSchema(node: additional, definitions: definitions)
    }
    return nil
  }

  /// The schema of an array's elements, or nil when this is not an array schema.
  public var items: PatchSchema? {
    guard let resolved = resolved(), case .object(let items)? = resolved["items"] else { return nil }
    return PatchSchema(node: items, definitions: definitions)
  }

  /// The node with `$ref`s followed (at most 64 hops, so a reference cycle ends in nil).
  private func resolved() -> JSONObject? {
    var current = node
    for _ in 0..<64 {
      guard let reference = current["$ref"]?.stringValue else { return current }
      let prefix = "#/definitions/"
      guard reference.hasPrefix(prefix), case .object(let target)? = definitions[String(reference.dropFirst(prefix.count))] else {
        return nil
      }
      current = target
    }
    return nil
  }
}
