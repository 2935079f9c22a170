import KubeCore
import YAML

/// Server-side apply and `metadata.managedFields` on every write.
///
/// Upstream: k8s.io/apiserver `pkg/endpoints/handlers/patch.go` (`applyPatcher`), `create.go` and
/// `update.go` (`managerOrUserAgent`, `UpdateNoErrors`), and k8s.io/apimachinery
/// `pkg/util/managedfields/internal/fieldmanager.go`; the field rules are in `Apply/`.
/// Built once per process and group-version from the bundled documents (the same for every server):
/// each v3 document holds every schema its kinds reference, so one small document is enough.
private let zeroObjectsCache = Locked<[String: ZeroObjects]>([:])

extension APIServer {
  static let applyPatchType = "application/apply-patch+yaml"

  /// The manager a non-apply write is recorded under: `?fieldManager=`, else the User-Agent up to its
  /// first `/` (`kubectl/v1.36.0 (linux/amd64) …` → `kubectl`), else `unknown`
  /// (handlers/rest.go `managerOrUserAgent`, `prefixFromUserAgent`).
  static func managerName(fieldManager: String?, userAgent: String?) -> String {
    if let fieldManager, !fieldManager.isEmpty { return fieldManager }
    let prefix = (userAgent ?? "").split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
    return prefix.isEmpty ? "unknown" : prefix
  }

  func managerName(_ ctx: RequestContext) -> String {
    APIServer.managerName(fieldManager: ctx.request.queryValue("fieldManager"), userAgent: ctx.request.header("user-agent"))
  }

  /// The field manager of one endpoint of `resource`.
  func fieldManager(for resource: APIResource, subresource: String?) -> FieldManager {
    let schema: ApplySchema
    if resource.isCustom {
      let metadata = patchSchemas.schema(forDefinition: "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
      schema = customSchema(for: resource).map { ApplySchema(custom: $0.root, metadata: metadata) } ?? .deduced
    } else {
      schema = resource.definitionName.flatMap { patchSchemas.schema(forDefinition: $0) }.map(ApplySchema.init(builtin:)) ?? .deduced
    }
    return FieldManager(schema: schema, apiVersion: resource.groupVersion, subresource: subresource,
                        ignoresStatus: resource.hasStatus && subresource == nil)
  }

  /// The zero value of a built-in kind, which a create is compared against; nil for custom resources
  /// (their zero value is an empty object, as for an unstructured object upstream).
  func zeroObject(for resource: APIResource) -> JSONValue? {
    guard !resource.isCustom, let definition = resource.definitionName else { return nil }
    let key = resource.group.isEmpty ? "api/\(resource.version)" : "apis/\(resource.group)/\(resource.version)"
    if let cached = zeroObjectsCache.value[key] { return cached.zero(definition: definition) }
    let document = documents.openAPIV3[key].flatMap { try? JSONValue(parsing: $0) }
    let built = ZeroObjects(openAPIV3Documents: document.map { [$0] } ?? [])
    var all = zeroObjectsCache.value
    all[key] = built
    zeroObjectsCache.value = all
    return built.zero(definition: definition)
  }

  /// Records a non-apply write in `new`'s `metadata.managedFields`.
  ///
  /// The entries to start from are the ones the client sent when they are valid and non-empty on the
  /// main resource (so a client may edit them, or clear them with `[]` or `[{}]`), else
  /// the live object's — a client that drops or garbles the list cannot erase ownership
  /// (fieldmanager.go `decodeLiveOrNew`).
  func recordingUpdate(old: JSONValue?, new: JSONValue, resource: APIResource, subresource: String?, manager: String) -> JSONValue {
    let sent = new[path: ["metadata", "managedFields"]]
    var base: [ManagedFieldsEntry] = []
    if subresource == nil, sent == .array([]) || sent == .array([.object([:])]) {
      base = []   // fieldmanager.go isResetManagedFields: `[]` or one empty entry clears the list
    } else if subresource == nil, let sent,
              let entries = try? ManagedFieldsEntry.decodeList(sent, stored: sent == old?[path: ["metadata", "managedFields"]]),
              !entries.isEmpty {
      base = entries
    } else if let live = old?[path: ["metadata", "managedFields"]] {
      base = (try? ManagedFieldsEntry.decodeList(live, stored: true)) ?? []
    }
    let before = old.map(withoutManagedFields) ?? zeroObject(for: resource)
    let after = old == nil ? resource.strategy.setByClient(withoutManagedFields(new)) : withoutManagedFields(new)
    let entries = fieldManager(for: resource, subresource: subresource)
      .update(old: before, new: after, managed: base, manager: manager, now: RFC3339.format(now()))
    return withManagedFields(new, entries, resource: resource)
  }

  /// Records a write the emulator makes on its own behalf — a built-in controller's status update —
  /// as that controller's `Update` entry (`kube-apiserver` for a CRD's conditions and accepted names).
  /// Without a catalog entry for the resource the object is returned unchanged.
  func recordingInternalWrite(old: JSONValue, new: JSONValue, group: String, version: String, resource: String,
                              subresource: String?, manager: String) -> JSONValue {
    guard let r = catalog.resource(group: group, version: version, resource: resource) else { return new }
    return recordingUpdate(old: old, new: new, resource: r, subresource: subresource, manager: manager)
  }

  func withoutManagedFields(_ object: JSONValue) -> JSONValue {
    var o = object
    if o[path: ["metadata", "managedFields"]] != nil { o[path: ["metadata", "managedFields"]] = nil }
    return o
  }

  func withManagedFields(_ object: JSONValue, _ entries: [ManagedFieldsEntry], resource: APIResource) -> JSONValue {
    var o = object
    o[path: ["metadata", "managedFields"]] = entries.isEmpty ? nil : ManagedFieldsEntry.encodeList(entries, sortedMembers: resource.isCustom)
    return o
  }

  /// The hook at the end of `updateLocked`: apply has computed the entries already; every other write
  /// is recorded for its manager.
  func managedFieldsAfterUpdate(ctx: RequestContext, subresource: String?, old: JSONValue, updated: JSONValue, sent: JSONValue) -> JSONValue {
    if ctx.request.method == "PATCH" && ctx.request.contentType == APIServer.applyPatchType {
      var o = updated
      o[path: ["metadata", "managedFields"]] = sent[path: ["metadata", "managedFields"]]
      return o
    }
    // Writes through /scale reach here as main-resource updates; upstream records them as `scale`.
    let recorded = subresource ?? (ctx.path.subresource == "scale" ? "scale" : nil)
    return recordingUpdate(old: old, new: updated, resource: ctx.resource, subresource: recorded, manager: managerName(ctx))
  }

  // MARK: apply

  static let lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

  /// Keeps `kubectl apply`'s (client-side) annotation in step when kubectl applies server-side, so
  /// going back to client-side apply computes the right deletions (managedfields/internal/
  /// `lastappliedupdater.go`): only for the manager `kubectl`, only when the object has the
  /// annotation; the new value is the applied configuration without that annotation, as Go encodes
  /// an unstructured object (keys sorted).
  func syncingLastApplied(_ object: JSONValue, config: JSONValue, manager: String) -> JSONValue {
    let path = ["metadata", "annotations", APIServer.lastAppliedAnnotation]
    guard manager == "kubectl", let current = object[path: path]?.stringValue, !current.isEmpty else { return object }
    var applied = config
    if case .object(var annotations)? = applied[path: ["metadata", "annotations"]] {
      annotations.removeValue(forKey: APIServer.lastAppliedAnnotation)
      applied[path: ["metadata", "annotations"]] = .object(annotations)
    }
    var out = object
    out[path: path] = .string(APIServer.sortingKeys(applied).serializedString())
    return out
  }

  /// Applies, letting `kubectl` take over from its own client-side apply without conflicts
  /// (managedfields/internal/`lastappliedmanager.go`): conflicts on fields the live object's
  /// last-applied annotation still sets to their live values are forced; any other conflict stands.
  func applyUpgradingClientSideApply(_ fieldManager: FieldManager, live: JSONValue, config: JSONValue,
                                     managed: [ManagedFieldsEntry], manager: String, force: Bool,
                                     now: String) throws(ApplyConflictError) -> (object: JSONValue, managed: [ManagedFieldsEntry]) {
    do {
      return try fieldManager.apply(live: live, config: config, managed: managed, manager: manager, force: force, now: now)
    } catch {
      guard manager == "kubectl",
        let text = live[path: ["metadata", "annotations", APIServer.lastAppliedAnnotation]]?.stringValue,
        let lastApplied = try? JSONValue(parsing: Array(text.utf8)),
        lastApplied["apiVersion"]?.stringValue == fieldManager.apiVersion
      else { throw error }
      let comparison = FieldComparison(old: lastApplied, new: live, schema: fieldManager.schema)
      let allowed = FieldSet(fieldsOf: lastApplied, schema: fieldManager.schema)
        .subtracting(comparison.modified).subtracting(comparison.added).subtracting(comparison.removed)
      let remaining = error.conflicts.filter { !allowed.contains($0.path) }
      guard remaining.isEmpty else { throw ApplyConflictError(conflicts: remaining) }
      return try fieldManager.apply(live: live, config: config, managed: managed, manager: manager, force: true, now: now)
    }
  }

  static func sortingKeys(_ value: JSONValue) -> JSONValue {
    switch value {
    case .object(let object):
      return .object(JSONObject(object.keys.sorted().compactMap { k in object[k].map { (k, sortingKeys($0)) } }))
    case .array(let items):
      return .array(items.map(sortingKeys))
    default:
      return value
    }
  }

  /// Checks a PATCH's options as kube-apiserver does before patching (k8s.io/apimachinery
  /// `pkg/apis/meta/v1/validation/validation.go` `ValidatePatchOptions`, `ValidateFieldManager`):
  /// `force` only for apply, `fieldManager` required for apply, at most 128 bytes, printable.
  ///
  /// - Throws: 422 `Invalid` on `PatchOptions.meta.k8s.io` listing every problem.
  func validatePatchOptions(_ ctx: RequestContext, type: String) throws {
    var errors: [FieldError] = []
    let manager = ctx.request.queryValue("fieldManager") ?? ""
    if type != APIServer.applyPatchType {
      if ctx.request.queryValue("force") != nil {
        errors.append(FieldError(.forbidden, field: "force", detail: "may not be specified for non-apply patch"))
      }
    } else if manager.isEmpty {
      errors.append(FieldError(.required, field: "fieldManager", detail: "is required for apply patch"))
    }
    if manager.utf8.count > 128 {
      errors.append(FieldError(.tooLong, field: "fieldManager", detail: "may not be more than 128 bytes"))
    }
    var offset = 0
    for scalar in manager.unicodeScalars {
      if scalar.properties.generalCategory.isControlOrUnassigned {
        let code = String(scalar.value, radix: 16, uppercase: true)
        errors.append(FieldError(.invalid, field: "fieldManager", value: "\"\(manager)\"",
                                 detail: "invalid character U+\(String(repeating: "0", count: max(0, 4 - code.count)) + code) (at position \(offset))"))
      }
      offset += String(scalar).utf8.count
    }
    if !errors.isEmpty { throw APIError.invalid(kind: "PatchOptions", group: "meta.k8s.io", name: "", errors: errors) }
  }

  /// `PATCH` with `application/apply-patch+yaml`: creates the object or merges the configuration,
  /// with ownership and conflicts.
  func serverSideApply(_ ctx: RequestContext, name: String, subresource: String?) throws -> APIResponse {
    let resource = ctx.resource
    if let subresource, subresource != "status" {
      throw APIError.unsupportedMediaType(APIServer.applyPatchType, accepted: ["application/json-patch+json", "application/merge-patch+json"])
    }
    try validatePatchOptions(ctx, type: APIServer.applyPatchType)
    let manager = ctx.request.queryValue("fieldManager") ?? ""
    let force = ctx.request.queryBool("force")
    var config: JSONValue
    do { config = try YAML.parse(String(decoding: ctx.request.body, as: UTF8.self)) } catch {
      throw APIError.badRequest("error decoding YAML: \(error)")
    }
    if StorageLimit.exceeds(config) { throw StorageLimit.requestTooLarge }
    guard case .object = config else {
      throw APIError.badRequest("error decoding YAML: the applied configuration is not an object")
    }
    // managedfields/internal/structuredmerge.go Apply.
    let version = config["apiVersion"]?.stringValue ?? ""
    if version != resource.groupVersion {
      throw APIError.badRequest("Incorrect version specified in apply patch. Specified patch version: \(version), expected: \(resource.groupVersion)")
    }
    if config[path: ["metadata", "managedFields"]] != nil {
      throw APIError.badRequest("metadata.managedFields must be nil")
    }
    try checkTypeMeta(&config, resource)
    let warnings = try applyFieldValidation(&config, ctx, duplicates: [])
    let bodyName = config[path: ["metadata", "name"]]?.stringValue ?? ""
    if bodyName.isEmpty { config[path: ["metadata", "name"]] = .string(name) } else if bodyName != name {
      throw APIError.badRequest("the name of the object (\(bodyName)) does not match the name on the URL (\(name))")
    }
    if resource.namespaced {
      let bodyNS = config[path: ["metadata", "namespace"]]?.stringValue ?? ""
      if !bodyNS.isEmpty && bodyNS != ctx.namespace {
        throw APIError.badRequest("the namespace of the provided object does not match the namespace sent on the request")
      }
    }
    let manager_ = fieldManager(for: resource, subresource: subresource)
    let stamp = RFC3339.format(now())
    let key = resource.storageKey
    /// The apply worked out on `existing` (stored form; nil: the object does not exist).
    func prepare(_ existing: JSONValue?) throws -> PreparedApply {
      guard let existing else {
        if subresource != nil { throw APIError.notFound(resource.groupResource, name: name) }
        var (merged, entries) = try manager_.apply(live: nil, config: config, managed: [], manager: manager, force: force, now: stamp)
        merged = syncingLastApplied(merged, config: config, manager: manager)
        return .create(try prepareCreate(resource: resource, namespace: ctx.path.namespace,
                                         object: withManagedFields(merged, entries, resource: resource),
                                         userAgent: ctx.request.header("user-agent")))
      }
      let live = present(existing, resource)
      let managed = live[path: ["metadata", "managedFields"]].flatMap { try? ManagedFieldsEntry.decodeList($0, stored: true) } ?? []
      var (merged, entries) = try applyUpgradingClientSideApply(manager_, live: withoutManagedFields(live), config: config,
                                                                managed: managed, manager: manager, force: force, now: stamp)
      merged = withManagedFields(syncingLastApplied(merged, config: config, manager: manager), entries, resource: resource)
      let currentRV = existing[path: ["metadata", "resourceVersion"]]?.stringValue
      let sentRV = config[path: ["metadata", "resourceVersion"]]?.stringValue
      merged[path: ["metadata", "resourceVersion"]] = currentRV.map(JSONValue.string)
      return .update(try prepareUpdate(ctx: ctx, name: name, subresource: subresource, stored: existing, newObject: merged,
                                       preconditionRV: (sentRV?.isEmpty == false ? sentRV : nil) ?? currentRV))
    }
    do {
      // Optimistic, as patches are (see `optimisticWrite`). A create through apply checks the
      // namespace as a create does, before the object is looked at.
      let (object, status) = try optimisticWrite(ctx, name: name, read: { state in
        let existing = state.get(key, namespace: ctx.namespace, name: name)
        if existing == nil { try checkNamespace(state, resource: resource, namespace: ctx.path.namespace, object: config) }
        return existing
      }, prepare: prepare, commit: { state, prepared -> (JSONValue, Int) in
        switch prepared {
        case .create(let object):
          return (try commitCreate(&state, resource: resource, namespace: ctx.path.namespace, prepared: object, dryRun: ctx.isDryRun), 201)
        case .update(let update):
          return (commitUpdate(&state, ctx: ctx, name: name, update), 200)
        }
      })
      return written(object, ctx, status: status, warnings: warnings)
    } catch let conflict as ApplyConflictError {
      throw APIError(code: 409, reason: "Conflict", message: conflict.message, details: .object(["causes": .array(conflict.causes)]))
    }
  }

  /// A server-side apply worked out, to be stored.
  enum PreparedApply {
    case create(JSONValue)
    case update(PreparedUpdate)
  }
}

extension Unicode.GeneralCategory {
  /// Not printable in Go's `unicode.IsPrint` sense, for the categories that matter in a header-borne
  /// name: controls, format characters, unassigned and private-use code points, separators other than space.
  var isControlOrUnassigned: Bool {
    switch self {
    case .control, .format, .unassigned, .privateUse, .surrogate, .lineSeparator, .paragraphSeparator: true
    default: false
    }
  }
}
