import KubeCore

extension APIServer {
  /// Runs the cluster's deletion machinery inside the current transaction until nothing changes:
  /// the garbage collector (orphan, foreground and background propagation through
  /// `ownerReferences`), the namespace controller (empties a terminating namespace, then removes it)
  /// and the CRD finalizer (drops a deleted CRD's objects and stops serving it).
  ///
  /// Upstream runs these as asynchronous controllers (k8s.io/kubernetes/pkg/controller/garbagecollector,
  /// pkg/controller/namespace, apiextensions-apiserver pkg/controller/finalizer); running them to a
  /// fixpoint right after the write gives the same end state, deterministically, which tests want.
  /// - Complexity: proportional to the objects being deleted and their dependents (the store keeps
  ///   uid and owner indexes), not to the size of the store.
  func collectGarbage(_ state: inout ObjectStore.State) {
    guard !state.isCollectingGarbage else { return }
    state.isCollectingGarbage = true
    defer { state.isCollectingGarbage = false }
    for _ in 0..<10_000 {   // bounded: each round removes or changes at least one object
      var changed = false
      for ref in state.deleting.sorted(by: { $0.description < $1.description }) {
        guard let current = state.get(ref) else { continue }
        if processDeleting(&state, ref: ref, object: current) { changed = true }
      }
      // Dependents whose owners are all gone are deleted (background propagation).
      for ref in state.takeOrphanCandidates() {
        guard let object = state.get(ref), object[path: ["metadata", "deletionTimestamp"]] == nil else { continue }
        let owners = (object[path: ["metadata", "ownerReferences"]]?.arrayValue ?? []).compactMap { $0["uid"]?.stringValue }
        guard !owners.isEmpty, owners.allSatisfy({ !state.exists(uid: $0) }), let resource = resourceFor(storageKey: ref.storageKey) else { continue }
        _ = try? deleteLocked(&state, resource: resource, namespace: ref.namespace, name: ref.name,
                              options: DeleteOptions(propagationPolicy: "Background"))
        changed = true
      }
      if !changed { break }
    }
    CRDSupport.reconsiderRefusedNames(state: &state, server: self)
    syncCRDs(&state)
  }

  func resourceFor(storageKey: String) -> APIResource? {
    let parts = storageKey.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
    guard parts.count == 2 else { return nil }
    let group = String(parts[0]), res = String(parts[1])
    let candidates = catalog.allResources().filter { $0.group == group && $0.resource == res }
    return candidates.sorted { ResourceCatalog.versionPriority($0.version, $1.version) }.first
  }

  /// Advances one object that is being deleted; returns whether anything changed.
  private func processDeleting(_ state: inout ObjectStore.State, ref: ObjectRef, object: JSONValue) -> Bool {
    var object = object
    let uid = object[path: ["metadata", "uid"]]?.stringValue ?? ""
    var finalizers = (object[path: ["metadata", "finalizers"]]?.arrayValue ?? []).compactMap(\.stringValue)
    let dependents = state.dependents(of: uid)
    var changed = false
    if finalizers.contains("orphan") {
      for d in dependents {
        guard var current = state.get(d) else { continue }
        let refs = (current[path: ["metadata", "ownerReferences"]]?.arrayValue ?? []).filter { $0["uid"]?.stringValue != uid }
        current[path: ["metadata", "ownerReferences"]] = refs.isEmpty ? nil : .array(refs)
        state.put(d.storageKey, current, type: .modified)
      }
      finalizers.removeAll { $0 == "orphan" }
      changed = true
    }
    if finalizers.contains("foregroundDeletion") {
      for d in dependents {
        guard let current = state.get(d) else { continue }
        if current[path: ["metadata", "deletionTimestamp"]] == nil, let r = resourceFor(storageKey: d.storageKey) {
          _ = try? deleteLocked(&state, resource: r, namespace: d.namespace, name: d.name,
                                options: DeleteOptions(propagationPolicy: "Foreground"))
          changed = true
        }
      }
      if state.dependents(of: uid).isEmpty {
        finalizers.removeAll { $0 == "foregroundDeletion" }
        changed = true
      }
    }
    // The resource's own finalizing controller: the namespace controller, the CRD finalizer.
    let strategy = resourceFor(storageKey: ref.storageKey)?.strategy ?? ResourceStrategies.generic
    if strategy.finalize(&object, finalizers: &finalizers, state: &state, server: self) { changed = true }
    guard changed else { return false }
    object[path: ["metadata", "finalizers"]] = finalizers.isEmpty ? nil : .array(finalizers.map { .string($0) })
    state.put(ref.storageKey, object, type: .modified)
    if finalizers.isEmpty && !strategy.awaitsFinalization(object) {
      state.remove(ref.storageKey, namespace: ref.namespace, name: ref.name)
    }
    return true
  }
}
