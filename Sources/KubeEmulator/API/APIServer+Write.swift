import Foundation
import KubeCore
import YAML

extension APIServer {
  // MARK: decoding

  /// Media types a body may have, per verb (k8s.io/apiserver/pkg/endpoints/handlers/rest.go).
  static let objectMediaTypes = ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"]

  func decodeBody(_ ctx: RequestContext) throws -> (JSONValue, [String]) {
    let type = ctx.request.contentType ?? ""
    var value: JSONValue
    var duplicates: [String] = []
    switch type {
    case "application/json", "":
      guard ctx.request.hasBody else { throw APIError.badRequest("the body of the request was empty") }
      do {
        if let decoded = ctx.request.decodedBody { value = decoded } else { (value, duplicates) = try JSONParser.parseReportingDuplicates(ctx.request.body) }
      } catch {
        throw APIError.badRequest("couldn't get version/kind; json parse error: \(error.message) at line \(error.line), column \(error.column)")
      }
    case "application/yaml":
      do { value = try YAML.parse(String(decoding: ctx.request.body, as: UTF8.self)) } catch {
        throw APIError.badRequest("couldn't get version/kind; yaml parse error: \(error)")
      }
      // Aliases can make the object far larger than its body: it could not be stored.
      if StorageLimit.exceeds(value) { throw StorageLimit.requestTooLarge }
    case "application/vnd.kubernetes.protobuf":
      do { value = try KubeProtobuf.decodeObject(ctx.request.body) } catch {
        throw APIError.badRequest("couldn't decode protobuf body: \(error)")
      }
    default:
      throw APIError.unsupportedMediaType(type, accepted: ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"])
    }
    guard case .object = value else {
      throw APIError.badRequest("couldn't get version/kind; json parse error: json: cannot unmarshal \(value.typeName == "array" ? "array" : value.typeName) into Go value of type struct { APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind string \"json:\\\"kind,omitempty\\\"\" }")
    }
    return (value, duplicates)
  }

  /// Checks apiVersion/kind against the URL, filling them when absent.
  func checkTypeMeta(_ object: inout JSONValue, _ resource: APIResource) throws {
    var kind = object["kind"]?.stringValue ?? ""
    let apiVersion = object["apiVersion"]?.stringValue ?? ""
    // Typed decoding of built-ins defaults the kind from the URL; unstructured (custom) decoding cannot.
    if kind.isEmpty && !resource.isCustom {
      kind = resource.kind
      object["kind"] = .string(kind)
    }
    if kind.isEmpty {
      throw APIError.badRequest("Object 'Kind' is missing in '\(String(object.serializedString().prefix(300)))'")
    }
    if !apiVersion.isEmpty && apiVersion != resource.groupVersion {
      throw APIError.badRequest("the API version in the data (\(apiVersion)) does not match the expected API version (\(resource.groupVersion))")
    }
    if kind != resource.kind {
      throw APIError.badRequest("\(resource.kind) in version \"\(resource.version)\" cannot be handled as a \(resource.kind): the kind in the data (\(kind)) does not match the expected kind (\(resource.kind))")
    }
    object["apiVersion"] = .string(resource.groupVersion)
  }

  /// Prunes unknown fields and applies `fieldValidation` (Ignore, Warn — the default — or Strict).
  /// Returns warnings to send back.
  /// - Parameter stored: the object this write replaces, when it is at hand: parts equal to it are not
  ///   pruned again (built-in kinds; see `DefinitionSchemas.prune`).
  func applyFieldValidation(_ object: inout JSONValue, _ ctx: RequestContext, duplicates: [String], stored: JSONValue? = nil) throws -> [String] {
    let mode = ctx.request.queryValue("fieldValidation") ?? "Warn"
    guard ["Ignore", "Warn", "Strict", ""].contains(mode) else {
      throw APIError.badRequest("fieldValidation: Unsupported value: \"\(mode)\": supported values: \"Ignore\", \"Strict\", \"Warn\"")
    }
    var unknown: [String] = []
    var typeErrors: [String] = []
    if ctx.resource.isCustom {
      if let schema = customSchema(for: ctx.resource) {
        object = schema.prune(object, unknown: &unknown)
      }
    } else if let def = ctx.resource.definitionName {
      object = schemas.prune(object, definition: def, stored: stored, unknown: &unknown, typeErrors: &typeErrors)
    }
    if let first = typeErrors.first {
      throw APIError.badRequest("\(ctx.resource.kind) in version \"\(ctx.resource.version)\" cannot be handled as a \(ctx.resource.kind): \(first)")
    }
    let problems = unknown.map { "unknown field \"\($0)\"" } + duplicates.map { "duplicate field \"\($0)\"" }
    if problems.isEmpty || mode == "Ignore" { return [] }
    if mode == "Strict" {
      throw APIError.badRequest("\(ctx.resource.kind) in version \"\(ctx.resource.version)\" cannot be handled as a \(ctx.resource.kind): strict decoding error: " + problems.joined(separator: ", "))
    }
    return problems
  }

  // MARK: create

  func create(_ ctx: RequestContext) throws -> APIResponse {
    guard ctx.resource.verbs.contains("create") else { throw APIError.methodNotAllowed }
    var (object, duplicates) = try decodeBody(ctx)
    try checkTypeMeta(&object, ctx.resource)
    if APIServer.reviewResources.contains(ctx.resource.storageKey) { return try review(ctx, object: object) }
    let warnings = try applyFieldValidation(&object, ctx, duplicates: duplicates)
    if ctx.resource.namespaced {
      let bodyNS = object[path: ["metadata", "namespace"]]?.stringValue ?? ""
      if !bodyNS.isEmpty && bodyNS != ctx.namespace {
        throw APIError.badRequest("the namespace of the provided object does not match the namespace sent on the request")
      }
    }
    // Only the checks against stored objects and the write hold the store lock; defaults,
    // managedFields and validation read nothing stored and run before it is taken, as
    // kube-apiserver's do before its storage transaction. The namespace is looked at first, so a
    // create in a missing namespace fails as before whatever is wrong with the object, and again
    // under the lock, where it counts.
    let namespace = ctx.path.namespace
    if ctx.resource.namespaced { try store.transaction { try checkNamespace($0, resource: ctx.resource, namespace: namespace, object: object) } }
    let prepared = try prepareCreate(resource: ctx.resource, namespace: namespace, object: object,
                                     userAgent: ctx.request.header("user-agent"), fieldManager: managerName(ctx))
    let created = try store.transaction { state in
      try commitCreate(&state, resource: ctx.resource, namespace: namespace, prepared: prepared, dryRun: ctx.isDryRun)
    }
    return written(created, ctx, status: 201, warnings: warnings)
  }

  /// Creates without a request (bootstrap, controllers inside the emulator).
  @discardableResult
  func createInternal(group: String, resource: String, namespace: String?, object: JSONValue) throws -> JSONValue {
    let version = splitAPIVersion(object["apiVersion"]?.stringValue ?? "v1").version
    guard let r = catalog.resource(group: group, version: version, resource: resource) else { throw APIError.notFoundPath() }
    return try store.transaction { try createLocked(&$0, resource: r, namespace: namespace, object: object, dryRun: false, userAgent: nil) }
  }

  func createLocked(_ state: inout ObjectStore.State, resource: APIResource, namespace: String?, object input: JSONValue,
                    dryRun: Bool, userAgent: String?, fieldManager: String? = nil) throws -> JSONValue {
    try checkNamespace(state, resource: resource, namespace: namespace, object: input)
    let prepared = try prepareCreate(resource: resource, namespace: namespace, object: input, userAgent: userAgent, fieldManager: fieldManager)
    return try commitCreate(&state, resource: resource, namespace: namespace, prepared: prepared, dryRun: dryRun)
  }

  /// The validating admission of a create, against what is stored (a missing or terminating
  /// namespace: `NamespaceLifecycleAdmission`).
  func checkNamespace(_ state: ObjectStore.State, resource: APIResource, namespace: String?, object: JSONValue) throws {
    try admission.validate(object, AdmissionAttributes(resource: resource, operation: .create, namespace: namespace), state: state)
  }

  /// The object a create stores, from everything that does not read the store: server-set
  /// metadata, defaults, managedFields and validation (errors are thrown here).
  func prepareCreate(resource: APIResource, namespace: String?, object input: JSONValue, userAgent: String?,
                     fieldManager: String? = nil) throws -> JSONValue {
    var object = input
    var meta = object["metadata"]?.objectValue ?? JSONObject()
    if resource.namespaced { meta["namespace"] = .string(namespace ?? "") } else { meta.removeValue(forKey: "namespace") }
    var name = meta["name"]?.stringValue ?? ""
    if name.isEmpty, let prefix = meta["generateName"]?.stringValue, !prefix.isEmpty {
      let base = prefix.count > 58 ? String(prefix.prefix(58)) : prefix
      name = base + GeneratedNames.suffix()
      meta["name"] = .string(name)
    }
    let uid = UUID().uuidString.lowercased()
    meta["uid"] = .string(uid)
    meta.removeValue(forKey: "resourceVersion")
    meta["creationTimestamp"] = timestamp()
    meta.removeValue(forKey: "deletionTimestamp")
    meta.removeValue(forKey: "deletionGracePeriodSeconds")
    if resource.tracksGeneration || resource.isCustom { meta["generation"] = 1 } else { meta.removeValue(forKey: "generation") }
    object["metadata"] = .object(meta)
    // Status is the controllers' to write: dropped on create where a status subresource exists.
    if resource.hasStatus { object["status"] = nil }
    let strategy = resource.strategy
    try strategy.prepareForCreate(&object, server: self)
    if resource.isCustom, let schema = customSchema(for: resource) { schema.applyDefaults(&object) }
    try admission.admit(&object, AdmissionAttributes(resource: resource, operation: .create, namespace: namespace, serviceAccounts: serviceAccountCache,
                                                     runtimeClasses: runtimeClassCache))
    if let fieldManager { object = recordingUpdate(old: nil, new: object, resource: resource, subresource: nil, manager: fieldManager) }
    var errors = Validation.validateObjectMeta(object, nameRule: strategy.nameRule) + strategy.validate(object)
    if resource.isCustom, let schema = customSchema(for: resource) { errors += schema.validate(object, old: nil) }
    if !errors.isEmpty {
      throw APIError.invalid(kind: resource.kind, group: resource.group, name: name, errors: errors)
    }
    return object
  }

  /// Stores a prepared create: the namespace still there, the name still free.
  func commitCreate(_ state: inout ObjectStore.State, resource: APIResource, namespace: String?, prepared: JSONValue,
                    dryRun: Bool) throws -> JSONValue {
    try checkNamespace(state, resource: resource, namespace: namespace, object: prepared)
    let ns = resource.namespaced ? (namespace ?? "") : ""
    let name = prepared[path: ["metadata", "name"]]?.stringValue ?? ""
    if state.get(resource.storageKey, namespace: ns, name: name) != nil {
      throw APIError.alreadyExists(resource.groupResource, name: name)
    }
    if dryRun { return prepared }
    var object = prepared
    if resource.isConvertedEvents { object = EventConversion.toCore(object) }
    let stored = state.put(resource.storageKey, object, type: .added)
    resource.strategy.afterWrite(stored, state: &state, server: self)
    // Created naming only owners that do not exist (a controller acting on a stale cache): the
    // garbage collector deletes it, as upstream's does within seconds of seeing the dangling uid
    // (pkg/controller/garbagecollector, attemptToDeleteItem: every owner absent → delete).
    if state.hasOrphanCandidates { collectGarbage(&state) }
    return stored
  }

  // MARK: update

  func update(_ ctx: RequestContext, name: String, subresource: String?) throws -> APIResponse {
    guard ctx.resource.verbs.contains("update") || subresource != nil else { throw APIError.methodNotAllowed }
    if let subresource, subresource != "status" && subresource != "scale" { throw APIError.methodNotAllowed }
    var (object, duplicates) = try decodeBody(ctx)
    if subresource == "scale" {
      return try updateScale(ctx, name: name, scale: object)
    }
    try checkTypeMeta(&object, ctx.resource)
    let warnings = try applyFieldValidation(&object, ctx, duplicates: duplicates)
    let bodyName = object[path: ["metadata", "name"]]?.stringValue ?? ""
    if bodyName != name {
      throw APIError.badRequest("the name of the object (\(bodyName)) does not match the name on the URL (\(name))")
    }
    if ctx.resource.namespaced {
      let bodyNS = object[path: ["metadata", "namespace"]]?.stringValue ?? ""
      if !bodyNS.isEmpty && bodyNS != ctx.namespace {
        throw APIError.badRequest("the namespace of the provided object does not match the namespace sent on the request")
      }
    }
    let result = try optimisticUpdate(ctx, name: name) { existing in
      try prepareUpdate(ctx: ctx, name: name, subresource: subresource, stored: existing, newObject: object, preconditionRV: nil)
    }
    return written(result, ctx, warnings: warnings)
  }

  /// A write worked out by `prepare` on the object as read (nil: absent), outside the store lock,
  /// and committed only if the object is still that version (or still absent); else worked out
  /// again on the newer object (kube-apiserver's GuaranteedUpdate). Only `read` and `commit` hold
  /// the lock; after `optimisticWriteAttempts` tries the lock is held throughout.
  /// - Parameter read: the object, read under the lock; it may also check what else the write
  ///   depends on (a create's namespace), so that the check comes before `prepare`'s errors.
  func optimisticWrite<Prepared, Written>(
    _ ctx: RequestContext, name: String, read: (ObjectStore.State) throws -> JSONValue?,
    prepare: (JSONValue?) throws -> Prepared, commit: (inout ObjectStore.State, Prepared) throws -> Written
  ) throws -> Written {
    let key = ctx.resource.storageKey
    func resourceVersion(_ o: JSONValue?) -> JSONValue? { o?[path: ["metadata", "resourceVersion"]] }
    for _ in 0..<APIServer.optimisticWriteAttempts {
      let existing = try store.transaction { try read($0) }
      let prepared = try prepare(existing)
      let written = try store.transaction { state -> Written? in
        guard resourceVersion(state.get(key, namespace: ctx.namespace, name: name)) == resourceVersion(existing) else { return nil }
        return try commit(&state, prepared)
      }
      if let written { return written }
    }
    return try store.transaction { state in try commit(&state, try prepare(try read(state))) }
  }

  /// `optimisticWrite` for an update of an existing object (404 when there is none).
  func optimisticUpdate(_ ctx: RequestContext, name: String, _ prepare: (JSONValue) throws -> PreparedUpdate) throws -> JSONValue {
    try optimisticWrite(ctx, name: name, read: { $0.get(ctx.resource.storageKey, namespace: ctx.namespace, name: name) }, prepare: { existing in
      guard let existing else { throw APIError.notFound(ctx.resource.groupResource, name: name) }
      return try prepare(existing)
    }, commit: { state, prepared in commitUpdate(&state, ctx: ctx, name: name, prepared) })
  }

  /// How many times a write is worked out on a newer object before it takes the lock for good.
  static let optimisticWriteAttempts = 8

  /// The shared tail of PUT and PATCH: optimistic concurrency, what each endpoint may change,
  /// defaulting, validation, generation, and finishing a pending deletion.
  func updateLocked(_ state: inout ObjectStore.State, ctx: RequestContext, name: String, subresource: String?,
                    newObject: JSONValue, preconditionRV: String?) throws -> JSONValue {
    guard let storedForm = state.get(ctx.resource.storageKey, namespace: ctx.namespace, name: name) else {
      throw APIError.notFound(ctx.resource.groupResource, name: name)
    }
    let prepared = try prepareUpdate(ctx: ctx, name: name, subresource: subresource, stored: storedForm, newObject: newObject,
                                     preconditionRV: preconditionRV)
    return commitUpdate(&state, ctx: ctx, name: name, prepared)
  }

  /// What an update of `stored` (the object as the store holds it) to `newObject` writes, worked
  /// out without the store: preconditions, the strategy's resets, defaults, validation, generation
  /// and managedFields. Errors are thrown here.
  enum PreparedUpdate {
    /// Nothing changes: the stored object is the answer and nothing is written.
    case unchanged(JSONValue)
    /// A dry run's answer.
    case dryRun(JSONValue)
    /// The object to store (in its stored form).
    case write(JSONValue)
  }

  func prepareUpdate(ctx: RequestContext, name: String, subresource: String?, stored storedForm: JSONValue, newObject: JSONValue,
                     preconditionRV: String?) throws -> PreparedUpdate {
    let resource = ctx.resource
    let existing = resource.isConvertedEvents ? EventConversion.toEventsV1(storedForm) : storedForm
    let currentRV = existing[path: ["metadata", "resourceVersion"]]?.stringValue ?? ""
    let givenRV = preconditionRV ?? newObject[path: ["metadata", "resourceVersion"]]?.stringValue ?? ""
    if !givenRV.isEmpty && givenRV != currentRV {
      throw APIError.conflict(resource.groupResource, name: name)
    }
    if givenRV.isEmpty && resource.isCustom && preconditionRV == nil {
      throw APIError.invalid(kind: resource.kind, group: resource.group, name: name,
                             errors: [FieldError(.invalid, field: "metadata.resourceVersion", value: "0x0", detail: "must be specified for an update")])
    }
    var updated: JSONValue
    if subresource == "status" {
      // The status endpoint changes status only (…/registry/*/strategy.go statusStrategy.PrepareForUpdate).
      updated = existing
      updated["status"] = newObject["status"]
    } else {
      updated = newObject
      var meta = updated["metadata"]?.objectValue ?? JSONObject()
      let old = existing["metadata"]?.objectValue ?? JSONObject()
      for key in ["uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "namespace"] {
        meta[key] = old[key]
      }
      if meta["generateName"] == nil { meta["generateName"] = old["generateName"] }
      updated["metadata"] = .object(meta)
      if resource.hasStatus { updated["status"] = existing["status"] }
    }
    updated[path: ["metadata", "resourceVersion"]] = nil
    updated["apiVersion"] = existing["apiVersion"] ?? .string(resource.groupVersion)
    updated["kind"] = .string(resource.kind)
    let strategy = resource.strategy
    try strategy.prepareForUpdate(&updated, old: existing, server: self)
    if resource.isCustom, let schema = customSchema(for: resource) { schema.applyDefaults(&updated) }
    try admission.admit(&updated, AdmissionAttributes(resource: resource, operation: .update, namespace: ctx.path.namespace, serviceAccounts: serviceAccountCache))
    var errors = Validation.validateObjectMeta(updated, nameRule: strategy.nameRule)
    errors += strategy.validateUpdate(updated, old: existing)
    if resource.isCustom, let schema = customSchema(for: resource) { errors += schema.validate(updated, old: existing) }
    if !errors.isEmpty { throw APIError.invalid(kind: resource.kind, group: resource.group, name: name, errors: errors) }
    // generation: bumped when anything but metadata and status changes.
    if resource.tracksGeneration || resource.isCustom {
      var a = updated, b = existing
      for k in ["metadata", "status", "apiVersion", "kind"] { a[k] = nil; b[k] = nil }
      let gen = existing[path: ["metadata", "generation"]]?.intValue ?? 1
      updated[path: ["metadata", "generation"]] = JSONValue(a == b ? gen : gen + 1)
    }
    updated = managedFieldsAfterUpdate(ctx: ctx, subresource: subresource, old: existing, updated: updated, sent: newObject)
    var unchanged = existing
    unchanged[path: ["metadata", "resourceVersion"]] = nil
    if updated == unchanged {
      return .unchanged(existing)   // a no-op update writes nothing and keeps the resourceVersion
    }
    if ctx.isDryRun { updated[path: ["metadata", "resourceVersion"]] = .string(currentRV); return .dryRun(updated) }
    if resource.isConvertedEvents { updated = EventConversion.toCore(updated) }
    return .write(updated)
  }

  /// Stores a prepared update of the object at its current version (checked by the caller).
  func commitUpdate(_ state: inout ObjectStore.State, ctx: RequestContext, name: String, _ prepared: PreparedUpdate) -> JSONValue {
    let resource = ctx.resource
    let updated: JSONValue
    switch prepared {
    case .unchanged(let existing): return existing
    case .dryRun(let answer): return answer
    case .write(let object): updated = object
    }
    let isDeleting = updated[path: ["metadata", "deletionTimestamp"]] != nil
    let finalizers = updated[path: ["metadata", "finalizers"]]?.arrayValue ?? []
    if isDeleting && finalizers.isEmpty && !resource.strategy.awaitsFinalization(updated) {
      state.put(resource.storageKey, updated, type: .modified)
      let removed = state.remove(resource.storageKey, namespace: ctx.namespace, name: name) ?? updated
      collectGarbage(&state)
      return removed
    }
    let stored = state.put(resource.storageKey, updated, type: .modified)
    resource.strategy.afterWrite(stored, state: &state, server: self)
    if isDeleting || state.hasOrphanCandidates { collectGarbage(&state) }
    return state.get(resource.storageKey, namespace: ctx.namespace, name: name) ?? stored
  }

  func updateScale(_ ctx: RequestContext, name: String, scale: JSONValue) throws -> APIResponse {
    guard let replicas = scale[path: ["spec", "replicas"]]?.intValue, replicas >= 0 else {
      throw APIError.invalid(kind: "Scale", group: "autoscaling", name: name,
                             errors: [FieldError(.invalid, field: "spec.replicas", value: FieldError.printed(scale[path: ["spec", "replicas"]] ?? .null), detail: "must be greater than or equal to 0")])
    }
    let result = try store.transaction { state -> JSONValue in
      guard var existing = state.get(ctx.resource.storageKey, namespace: ctx.namespace, name: name) else {
        throw APIError.notFound(ctx.resource.groupResource, name: name)
      }
      if let rv = scale[path: ["metadata", "resourceVersion"]]?.stringValue, !rv.isEmpty,
         rv != existing[path: ["metadata", "resourceVersion"]]?.stringValue {
        throw APIError.conflict(ctx.resource.groupResource, name: name)
      }
      existing[path: ["spec", "replicas"]] = JSONValue(replicas)
      return try updateLocked(&state, ctx: RequestContext(resource: ctx.resource, path: ctx.path, request: ctx.request),
                              name: name, subresource: nil, newObject: existing, preconditionRV: existing[path: ["metadata", "resourceVersion"]]?.stringValue)
    }
    return .json(self.scale(of: result, resource: ctx.resource))
  }

  // MARK: patch

  func patch(_ ctx: RequestContext, name: String, subresource: String?) throws -> APIResponse {
    guard ctx.resource.verbs.contains("patch") || subresource != nil else { throw APIError.methodNotAllowed }
    let type = ctx.request.contentType ?? ""
    var accepted = ["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"]
    if !ctx.resource.isCustom { accepted.insert("application/strategic-merge-patch+json", at: 2) }
    if accepted.contains(type) { try validatePatchOptions(ctx, type: type) }
    if type == APIServer.applyPatchType { return try serverSideApply(ctx, name: name, subresource: subresource) }
    guard accepted.contains(type) else {
      throw APIError.unsupportedMediaType(type, accepted: accepted)
    }
    let patchDocument: JSONValue
    do { patchDocument = try ctx.request.jsonBody() } catch {
      throw APIError.badRequest("error decoding patch: \(error.message)")
    }
    let fieldValidation = ctx.request.queryValue("fieldValidation") ?? "Warn"
    if subresource == "scale" {
      let result = try store.transaction { state -> JSONValue in
        guard let existing = state.get(ctx.resource.storageKey, namespace: ctx.namespace, name: name) else {
          throw APIError.notFound(ctx.resource.groupResource, name: name)
        }
        var current = scale(of: existing, resource: ctx.resource)
        current[path: ["metadata", "resourceVersion"]] = existing[path: ["metadata", "resourceVersion"]]
        let patched = try applyPatch(type: type, patch: patchDocument, to: current, resource: ctx.resource)
        guard let replicas = patched[path: ["spec", "replicas"]]?.intValue, replicas >= 0 else {
          throw APIError.invalid(kind: "Scale", group: "autoscaling", name: name, errors: [FieldError(.invalid, field: "spec.replicas", value: FieldError.printed(patched[path: ["spec", "replicas"]] ?? .null), detail: "must be greater than or equal to 0")])
        }
        var object = existing
        object[path: ["spec", "replicas"]] = JSONValue(replicas)
        return try updateLocked(&state, ctx: ctx, name: name, subresource: nil, newObject: object,
                                preconditionRV: existing[path: ["metadata", "resourceVersion"]]?.stringValue)
      }
      return .json(scale(of: result, resource: ctx.resource))
    }
    // The warnings are those of the attempt that was stored.
    var warnings: [String] = []
    let result = try optimisticUpdate(ctx, name: name) { existing in
      let prepared: PreparedUpdate
      (prepared, warnings) = try preparePatch(ctx, name: name, subresource: subresource, type: type, patch: patchDocument,
                                              fieldValidation: fieldValidation, existing: existing)
      return prepared
    }
    return written(result, ctx, warnings: warnings)
  }

  /// A patch of `existing` (stored form) as an update to store, with the field-validation warnings.
  private func preparePatch(_ ctx: RequestContext, name: String, subresource: String?, type: String, patch patchDocument: JSONValue,
                            fieldValidation: String, existing: JSONValue) throws -> (PreparedUpdate, [String]) {
    let current = present(existing, ctx.resource)
    var patched = try applyPatch(type: type, patch: patchDocument, to: current, resource: ctx.resource)
    if patched["kind"]?.stringValue != ctx.resource.kind || patched["apiVersion"]?.stringValue != ctx.resource.groupVersion {
      try checkTypeMeta(&patched, ctx.resource)
    }
    var patchCtx = ctx
    patchCtx.request.query.removeAll { $0.0 == "fieldValidation" }
    patchCtx.request.query.append(("fieldValidation", fieldValidation))
    let warnings = try applyFieldValidation(&patched, patchCtx, duplicates: [], stored: current)
    if patched[path: ["metadata", "name"]]?.stringValue != name {
      throw APIError.badRequest("the name of the object (\(patched[path: ["metadata", "name"]]?.stringValue ?? "")) does not match the name on the URL (\(name))")
    }
    // A patch that sets metadata.resourceVersion is a precondition; otherwise it applies to the latest.
    let patchRV = patchDocument[path: ["metadata", "resourceVersion"]]?.stringValue
    let precondition = (patchRV?.isEmpty == false ? patchRV : nil) ?? existing[path: ["metadata", "resourceVersion"]]?.stringValue
    if let patchRV, !patchRV.isEmpty, patchRV != existing[path: ["metadata", "resourceVersion"]]?.stringValue {
      throw APIError.conflict(ctx.resource.groupResource, name: name)
    }
    patched[path: ["metadata", "resourceVersion"]] = existing[path: ["metadata", "resourceVersion"]]
    let prepared = try prepareUpdate(ctx: ctx, name: name, subresource: subresource, stored: existing, newObject: patched,
                                     preconditionRV: precondition)
    return (prepared, warnings)
  }

  // MARK: delete

  struct DeleteOptions {
    var propagationPolicy: String?
    var preconditionUID: String?
    var preconditionRV: String?
    var gracePeriodSeconds: Int?
    var dryRun = false
  }

  func deleteOptions(_ ctx: RequestContext) throws -> DeleteOptions {
    var options = DeleteOptions()
    if ctx.request.hasBody {
      var body: JSONValue
      if ctx.request.contentType == "application/vnd.kubernetes.protobuf" {
        do { body = try KubeProtobuf.decodeObject(ctx.request.body) } catch {
          throw APIError.badRequest("couldn't decode protobuf DeleteOptions: \(error)")
        }
      } else {
        do { body = try ctx.request.jsonBody() } catch {
          throw APIError.badRequest("couldn't get version/kind; json parse error: \(error.message)")
        }
      }
      options = DeleteOptions(body)
    }
    if let p = ctx.request.queryValue("propagationPolicy") { options.propagationPolicy = p }
    if let g = ctx.request.queryValue("gracePeriodSeconds") { options.gracePeriodSeconds = Int(g) }
    if ctx.isDryRun { options.dryRun = true }
    try options.validate()
    return options
  }

  func delete(_ ctx: RequestContext, name: String) throws -> APIResponse {
    guard ctx.resource.verbs.contains("delete") else { throw APIError.methodNotAllowed }
    let options = try deleteOptions(ctx)
    let (object, deletedNow) = try store.transaction { state in
      try deleteLocked(&state, resource: ctx.resource, namespace: ctx.namespace, name: name, options: options)
    }
    if deletedNow && !ctx.resource.strategy.returnsDeletedObject {
      let details = APIError.details(name: name, group: ctx.resource.group, kind: ctx.resource.resource)
      var d = details
      d["uid"] = object[path: ["metadata", "uid"]]
      return .json(["kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Success", "details": d])
    }
    return written(object, ctx)
  }

  /// Deletes or marks for deletion; returns the object and whether it is gone already.
  func deleteLocked(_ state: inout ObjectStore.State, resource: APIResource, namespace: String, name: String,
                    options: DeleteOptions) throws -> (JSONValue, Bool) {
    guard var existing = state.get(resource.storageKey, namespace: namespace, name: name) else {
      throw APIError.notFound(resource.groupResource, name: name)
    }
    if let uid = options.preconditionUID, uid != existing[path: ["metadata", "uid"]]?.stringValue {
      throw APIError.conflict(resource.groupResource, name: name,
                              detail: "Precondition failed: UID in precondition: \(uid), UID in object meta: \(existing[path: ["metadata", "uid"]]?.stringValue ?? "")")
    }
    if let rv = options.preconditionRV, rv != existing[path: ["metadata", "resourceVersion"]]?.stringValue {
      throw APIError.conflict(resource.groupResource, name: name,
                              detail: "Precondition failed: ResourceVersion in precondition: \(rv), ResourceVersion in object meta: \(existing[path: ["metadata", "resourceVersion"]]?.stringValue ?? "")")
    }
    let strategy = resource.strategy
    let policy = options.propagationPolicy ?? strategy.defaultGarbageCollectionPolicy
    var finalizers = (existing[path: ["metadata", "finalizers"]]?.arrayValue ?? []).compactMap(\.stringValue)
    // Orphan and Foreground always go through a finalizer, which the garbage collector then
    // removes (k8s.io/apiserver/pkg/registry/generic/registry/store.go deletionFinalizersForGarbageCollection).
    if policy == "Orphan" && !finalizers.contains("orphan") { finalizers.append("orphan") }
    if policy == "Foreground" && !finalizers.contains("foregroundDeletion") { finalizers.append("foregroundDeletion") }
    for finalizer in strategy.deletionFinalizers where !finalizers.contains(finalizer) { finalizers.append(finalizer) }
    if options.dryRun { return (existing, false) }
    switch strategy.gracefulDeletion(of: existing, requestedGracePeriod: options.gracePeriodSeconds, server: self) {
    case .none: break
    case .unchanged: return (existing, false)
    case .after(let grace):
      existing[path: ["metadata", "deletionTimestamp"]] = .string(RFC3339.format(now().addingTimeInterval(Double(grace))))
      existing[path: ["metadata", "deletionGracePeriodSeconds"]] = JSONValue(grace)
      existing[path: ["metadata", "finalizers"]] = finalizers.isEmpty ? nil : .array(finalizers.map { .string($0) })
      return (state.put(resource.storageKey, existing, type: .modified), false)
    }
    if finalizers.isEmpty && !strategy.awaitsFinalization(existing) {
      let removed = state.remove(resource.storageKey, namespace: namespace, name: name) ?? existing
      collectGarbage(&state)
      return (removed, true)
    }
    strategy.markDeleting(&existing, now: timestamp())
    existing[path: ["metadata", "finalizers"]] = finalizers.isEmpty ? nil : .array(finalizers.map { .string($0) })
    let marked = state.put(resource.storageKey, existing, type: .modified)
    collectGarbage(&state)
    return (marked, false)
  }

  func deleteCollection(_ ctx: RequestContext) throws -> APIResponse {
    guard ctx.resource.verbs.contains("deletecollection") else { throw APIError.methodNotAllowed }
    let options = try deleteOptions(ctx)
    let sel = try selectors(ctx)
    let deleted = try store.transaction { state -> [JSONValue] in
      let targets = state.list(ctx.resource.storageKey, namespace: ctx.path.namespace).filter(sel.matches)
      var out: [JSONValue] = []
      for t in targets {
        let name = t[path: ["metadata", "name"]]?.stringValue ?? ""
        let ns = t[path: ["metadata", "namespace"]]?.stringValue ?? ""
        if let (o, _) = try? deleteLocked(&state, resource: ctx.resource, namespace: ns, name: name, options: options) {
          out.append(o)
        }
      }
      return out
    }
    let items: [JSONValue] = deleted.map { item in
      guard !ctx.resource.isCustom, case .object(var o) = item else { return present(item, ctx.resource) }
      o.removeValue(forKey: "kind"); o.removeValue(forKey: "apiVersion")
      return .object(o)
    }
    return .json(["kind": .string(ctx.resource.listKind), "apiVersion": .string(ctx.resource.groupVersion),
                  "metadata": ["resourceVersion": .string(String(store.currentResourceVersion))], "items": .array(items)])
  }

  // MARK: patch application

  func applyPatch(type: String, patch: JSONValue, to current: JSONValue, resource: APIResource) throws -> JSONValue {
    do {
      switch type {
      case "application/json-patch+json":
        return try JSONPatch.apply(patch, to: current)
      case "application/merge-patch+json":
        return try JSONMergePatch.applyLikeAPIServer(patch, to: current)
      default:
        guard case .object = patch else { throw APIError.badRequest("error decoding patch: the patch is not a JSON object") }
        let schema = resource.definitionName.flatMap { patchSchemas.schema(forDefinition: $0) }
        return try StrategicMergePatch.apply(patch, to: current, schema: schema)
      }
    } catch let error as PatchError {
      var e = APIError(code: error.statusCode, reason: error.reason, message: error.message)
      e.details = error.status["details"]
      throw e
    }
  }
}

extension APIServer.DeleteOptions {
  /// Reads a `metav1.DeleteOptions` object (a DELETE's body, an Eviction's `deleteOptions`).
  init(_ body: JSONValue) {
    propagationPolicy = body["propagationPolicy"]?.stringValue
    if let orphan = body["orphanDependents"]?.boolValue, propagationPolicy == nil {
      propagationPolicy = orphan ? "Orphan" : "Background"
    }
    preconditionUID = body[path: ["preconditions", "uid"]]?.stringValue
    preconditionRV = body[path: ["preconditions", "resourceVersion"]]?.stringValue
    gracePeriodSeconds = body["gracePeriodSeconds"]?.intValue
    if let dry = body["dryRun"]?.arrayValue, dry.contains(.string("All")) { dryRun = true }
  }

  func validate() throws {
    if let p = propagationPolicy, !["Orphan", "Background", "Foreground"].contains(p) {
      throw APIError.invalid(kind: "DeleteOptions", group: "meta.k8s.io", name: "", errors: [
        FieldError(.notSupported, field: "propagationPolicy", value: "\"\(p)\"", detail: "supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\"")])
    }
  }
}

/// Random name suffixes (k8s.io/apiserver pkg/storage/names/generate.go and utilrand.String):
/// 5 characters from an alphabet without vowels or lookalikes.
enum GeneratedNames {
  static func suffix() -> String {
    let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
    return String((0..<5).map { _ in alphabet.randomElement() ?? "x" })
  }
}
