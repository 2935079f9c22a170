import KubeCore

/// Keeps `metadata.managedFields` for one resource endpoint: who owns which field after an update,
/// and what an apply does.
///
/// The rules are structured-merge-diff's (`merge/update.go`, `Updater.Update` and `Updater.Apply`)
/// behind kube-apiserver's wrappers (k8s.io/apimachinery `pkg/util/managedfields/internal/`:
/// `stripmeta.go`, `managedfieldsupdater.go`, `structuredmerge.go`), rewritten for `JSONValue`.
///
/// Caveats: no version conversion (every manager's set is read as the request's version), no cap of
/// ten update managers, and no `last-applied-configuration` upgrade from client-side apply.
public struct FieldManager: Sendable {
  /// The type of the objects.
  public var schema: ApplySchema
  /// The apiVersion written into new entries.
  public var apiVersion: String
  /// `status` when writing through the status subresource.
  public var subresource: String?
  /// Whether the endpoint ignores `status` (the main endpoint of a kind with a status subresource).
  public var ignoresStatus: Bool

  /// A manager for one endpoint.
  public init(schema: ApplySchema, apiVersion: String, subresource: String?, ignoresStatus: Bool) {
    self.schema = schema
    self.apiVersion = apiVersion
    self.subresource = subresource
    self.ignoresStatus = ignoresStatus
  }

  /// Paths nobody owns (`stripmeta.go`): identity and server-set metadata.
  static let strippedPaths: Set<FieldPath> = Set(
    [["apiVersion"], ["kind"], ["metadata"]].map { $0.map(PathElement.field) }
      + ["name", "namespace", "creationTimestamp", "selfLink", "uid", "clusterName", "generation", "managedFields", "resourceVersion"]
      .map { [.field("metadata"), .field($0)] })

  /// The part of a set this endpoint tracks: without stripped metadata, and without the fields its
  /// strategy resets (`status` on the main endpoint; everything but `status` on the status endpoint).
  func tracked(_ set: FieldSet) -> FieldSet {
    FieldSet(set.paths.filter { path in
      if FieldManager.strippedPaths.contains(path) { return false }
      let inStatus = path.first == .field("status")
      if subresource == "status" { return inStatus }
      return !(ignoresStatus && inStatus)
    })
  }

  private var updateIdentity: ManagedFieldsEntry {
    ManagedFieldsEntry(manager: "", operation: .update, apiVersion: apiVersion, time: nil, fields: FieldSet(), subresource: subresource)
  }

  // MARK: update

  /// The entries after a non-apply write (create, update, patch) by `manager`.
  ///
  /// The writer takes every field it added or changed — from whoever owned it: updates never
  /// conflict — and nobody keeps a field that is gone. Its entry's time moves only when it took
  /// something (`managedfieldsupdater.go`); entries left owning nothing are dropped.
  ///
  /// - Parameters:
  ///   - old: the live object, nil for a create.
  ///   - new: the object as it will be stored.
  ///   - managed: the entries before the write.
  ///   - now: RFC 3339 time for a changed entry.
  public func update(old: JSONValue?, new: JSONValue, managed: [ManagedFieldsEntry], manager: String, now: String) -> [ManagedFieldsEntry] {
    let comparison = FieldComparison(old: old, new: new, schema: schema)
    let taken = tracked(comparison.added.union(comparison.modified))
    let gone = tracked(comparison.removed)
    let lost = taken.union(gone)
    var me = updateIdentity
    me.manager = manager
    let mine = managed.firstIndex { $0.isSameManager(me) }
    // A writer that changed only values of fields it already owns (a status step) keeps its set:
    // its entry is neither decoded nor encoded again, only its time moves.
    let keepsSet = mine.map { i in
      !taken.isEmpty && managed[i].owned(among: taken).paths.count == taken.paths.count && managed[i].owned(among: gone).isEmpty
    } ?? false
    var entries = managed.indices.map { i in
      var e = managed[i]
      if !(keepsSet && i == mine) { e.disown(lost) }
      return e
    }
    if !taken.isEmpty {
      if let i = mine {
        if !keepsSet { entries[i].fields = entries[i].fields.union(taken) }
        entries[i].time = now
      } else {
        me.fields = taken
        me.time = now
        entries.append(me)
      }
    }
    return entries.filter { !$0.ownsNothing }
  }

  // MARK: apply

  /// Applies `config` for `manager` to `live` (nil: the object does not exist yet).
  ///
  /// The configuration is merged into the live object; the applier then owns exactly the fields its
  /// configuration sets; fields it owned before and no longer sets are removed from the object unless
  /// another applier owns them (`merge/update.go` `prune`).
  ///
  /// - Returns: the object to store (without `managedFields`) and the new entries.
  /// - Throws: `ApplyConflictError` when the configuration changes a field another manager owns
  ///   and `force` is false.
  public func apply(live: JSONValue?, config: JSONValue, managed: [ManagedFieldsEntry], manager: String, force: Bool,
                    now: String) throws(ApplyConflictError) -> (object: JSONValue, managed: [ManagedFieldsEntry]) {
    let base = live ?? .object([:])
    var merged = ObjectMerge.merge(base, config, schema: schema)
    let applied = tracked(FieldSet(fieldsOf: config, schema: schema))
    let me = ManagedFieldsEntry(manager: manager, operation: .apply, apiVersion: apiVersion, time: nil, fields: applied,
                                subresource: subresource)
    let comparison = FieldComparison(old: live, new: merged, schema: schema)
    let changed = tracked(comparison.added.union(comparison.modified))
    var entries = managed
    var conflicts: [ApplyConflict] = []
    for entry in entries where !entry.isSameManager(me) {
      for path in entry.owned(among: changed).sortedPaths {
        conflicts.append(ApplyConflict(manager: entry, path: path))
      }
    }
    if !conflicts.isEmpty && !force { throw ApplyConflictError(conflicts: conflicts) }
    for i in entries.indices where !entries[i].isSameManager(me) {
      entries[i].disown(changed)
    }

    // Prune what this manager applied last time and gave up, unless another *applier* holds it:
    // fields held only by update managers do not keep it (`merge/update.go` `addBackOwnedItems`
    // counts `Applied()` sets only).
    let previous = entries.first(where: { $0.isSameManager(me) })?.fields ?? FieldSet()
    let others = entries.filter { !$0.isSameManager(me) && $0.operation == .apply }.reduce(FieldSet()) { $0.union($1.fields) }
    // Only the given-up members go: `addBackDanglingItems` restores whatever was not in the last
    // applied set, so parents and unowned (defaulted) siblings stay.
    let candidates = previous.subtracting(applied)
    for path in candidates.sortedPaths where !applied.containsPrefix(path) && !others.containsPrefix(path)
      && !FieldManager.strippedPaths.contains(path) {
      merged = ObjectMerge.remove(path, from: merged, schema: schema)
    }

    let final = FieldComparison(old: live, new: merged, schema: schema)
    let gone = tracked(final.removed)
    entries = entries.filter { !$0.isSameManager(me) }.map { entry in
      var e = entry
      e.disown(gone)
      return e
    }
    var mine = me
    let previousEntry = managed.first(where: { $0.isSameManager(me) })
    mine.time = (previousEntry == nil || merged != base) ? now : previousEntry?.time
    entries.append(mine)
    return (merged, entries.filter { !$0.ownsNothing })
  }
}

/// One field an applier wanted to change that another manager owns.
public struct ApplyConflict: Sendable, Equatable {
  /// The entry owning the field.
  public var manager: ManagedFieldsEntry
  /// The field.
  public var path: FieldPath
}

/// A server-side apply that would take fields from other managers: 409 `Conflict`.
///
/// Message and causes are kube-apiserver's (k8s.io/apimachinery
/// `pkg/util/managedfields/internal/conflict.go` `NewConflictError`, `getConflictMessage`).
public struct ApplyConflictError: Error, Sendable {
  /// The conflicts, grouped by manager in name order.
  public var conflicts: [ApplyConflict]

  init(conflicts: [ApplyConflict]) {
    self.conflicts = conflicts.enumerated().sorted { a, b in
      a.element.manager.printed == b.element.manager.printed ? a.offset < b.offset : a.element.manager.printed < b.element.manager.printed
    }.map(\.element)
  }

  /// `Apply failed with 1 conflict: conflict with "a": .spec.replicas`, or for several a line per
  /// manager (`conflicts with "a":`) followed by `- <path>` lines.
  public var message: String {
    if conflicts.count == 1, let c = conflicts.first {
      return "Apply failed with 1 conflict: conflict with \(c.manager.printed): \(describe(c.path))"
    }
    var lines: [String] = []
    var current: String?
    for c in conflicts {
      if c.manager.printed != current {
        current = c.manager.printed
        lines.append("conflicts with \(c.manager.printed):")
      }
      lines.append("- \(describe(c.path))")
    }
    return "Apply failed with \(conflicts.count) conflicts: " + lines.joined(separator: "\n")
  }

  /// `details.causes`: one `FieldManagerConflict` per field.
  public var causes: [JSONValue] {
    conflicts.map { c in
      ["reason": "FieldManagerConflict", "message": .string("conflict with \(c.manager.printed)"), "field": .string(describe(c.path))]
    }
  }
}
