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
  func collectGarbage(_ state: inout ObjectStore.State) {
    guard !state.isCollectingGarbage else { return }
    state.isCollectingGarbage = true
    defer { state.isCollectingGarbage = false }
    for _ in 0..<64 {   // bounded: each round removes or changes at least one object
      var changed = false
      var liveUIDs = Set<String>()
      var all: [(key: String, object: JSONValue)] = []
      for key in state.storageKeys {
        for o in state.list(key, namespace: nil) {
          if let uid = o[path: ["metadata", "uid"]]?.stringValue { liveUIDs.insert(uid) }
          all.append((key, o))
        }
      }
      for (key, object) in all where object[path: ["metadata", "deletionTimestamp"]] != nil {
        guard let current = state.get(key, namespace: ns(object), name: name(object)) else { continue }
        if processDeleting(&state, key: key, object: current, all: all) { changed = true }
      }
      // Dependents whose owners are all gone are deleted (background propagation).
      for (key, object) in all {
        let owners = object[path: ["metadata", "ownerReferences"]]?.arrayValue ?? []
        guard !owners.isEmpty, object[path: ["metadata", "deletionTimestamp"]] == nil else { continue }
        let ownerUIDs = owners.compactMap { $0["uid"]?.stringValue }
        if ownerUIDs.allSatisfy({ !liveUIDs.contains($0) }) {
          guard let resource = resourceFor(storageKey: key) else { continue }
          _ = try? deleteLocked(&state, resource: resource, namespace: ns(object), name: name(object),
                                options: DeleteOptions(propagationPolicy: "Background"))
          changed = true
        }
      }
      if !changed { break }
    }
    syncCRDs(&state)
  }

  private func ns(_ o: JSONValue) -> String { o[path: ["metadata", "namespace"]]?.stringValue ?? "" }
  private func name(_ o: JSONValue) -> String { o[path: ["metadata", "name"]]?.stringValue ?? "" }

  func resourceFor(storageKey: String) -> APIResource? {
    let parts = storageKey.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
    guard parts.count == 2 else { return nil }
    let group = String(parts[0]), res = String(parts[1])
    let candidates = catalog.allResources().filter { $0.group == group && $0.resource == res }
    return candidates.sorted { ResourceCatalog.versionPriority($0.version, $1.version) }.first
  }

  func hasDependentObjects(_ state: inout ObjectStore.State, uid: String) -> Bool {
    for key in state.storageKeys {
      for o in state.list(key, namespace: nil) {
        if (o[path: ["metadata", "ownerReferences"]]?.arrayValue ?? []).contains(where: { $0["uid"]?.stringValue == uid }) { return true }
      }
    }
    return false
  }

  /// Advances one object that is being deleted; returns whether anything changed.
  private func processDeleting(_ state: inout ObjectStore.State, key: String, object: JSONValue,
                               all: [(key: String, object: JSONValue)]) -> Bool {
    var object = object
    let uid = object[path: ["metadata", "uid"]]?.stringValue ?? ""
    var finalizers = (object[path: ["metadata", "finalizers"]]?.arrayValue ?? []).compactMap(\.stringValue)
    let dependents = all.filter { entry in
      (entry.object[path: ["metadata", "ownerReferences"]]?.arrayValue ?? []).contains { $0["uid"]?.stringValue == uid }
    }
    var changed = false
    if finalizers.contains("orphan") {
      for d in dependents {
        guard var current = state.get(d.key, namespace: ns(d.object), name: name(d.object)) else { continue }
        let refs = (current[path: ["metadata", "ownerReferences"]]?.arrayValue ?? []).filter { $0["uid"]?.stringValue != uid }
        current[path: ["metadata", "ownerReferences"]] = refs.isEmpty ? nil : .array(refs)
        state.put(d.key, current, type: .modified)
      }
      finalizers.removeAll { $0 == "orphan" }
      changed = true
    }
    if finalizers.contains("foregroundDeletion") {
      var remaining = 0
      for d in dependents {
        guard let current = state.get(d.key, namespace: ns(d.object), name: name(d.object)) else { continue }
        remaining += 1
        if current[path: ["metadata", "deletionTimestamp"]] == nil, let r = resourceFor(storageKey: d.key) {
          _ = try? deleteLocked(&state, resource: r, namespace: ns(current), name: name(current),
                                options: DeleteOptions(propagationPolicy: "Foreground"))
          changed = true
        }
      }
      let stillThere = dependents.contains { state.get($0.key, namespace: ns($0.object), name: name($0.object)) != nil }
      if remaining == 0 || !stillThere {
        finalizers.removeAll { $0 == "foregroundDeletion" }
        changed = true
      }
    }
    if key == "/namespaces" {
      let namespace = name(object)
      var left = 0
      for k in state.storageKeys where k != "/namespaces" {
        for o in state.list(k, namespace: namespace) where ns(o) == namespace {
          left += 1
          if o[path: ["metadata", "deletionTimestamp"]] == nil, let r = resourceFor(storageKey: k) {
            _ = try? deleteLocked(&state, resource: r, namespace: namespace, name: name(o), options: DeleteOptions())
            changed = true
          }
        }
      }
      let stillLeft = state.storageKeys.filter { $0 != "/namespaces" }.contains { !state.list($0, namespace: namespace).isEmpty }
      if !stillLeft, object[path: ["spec", "finalizers"]] != nil {
        object[path: ["spec", "finalizers"]] = nil
        changed = true
      }
      _ = left
    }
    if key == "apiextensions.k8s.io/customresourcedefinitions", finalizers.contains(CRDSupport.cleanupFinalizer) {
      CRDSupport.removeServedResources(object, state: &state, catalog: catalog)
      finalizers.removeAll { $0 == CRDSupport.cleanupFinalizer }
      changed = true
    }
    guard changed else { return false }
    object[path: ["metadata", "finalizers"]] = finalizers.isEmpty ? nil : .array(finalizers.map { .string($0) })
    let nsFinalizers = key == "/namespaces" ? (object[path: ["spec", "finalizers"]]?.arrayValue ?? []) : []
    if finalizers.isEmpty && nsFinalizers.isEmpty {
      state.put(key, object, type: .modified)
      state.remove(key, namespace: ns(object), name: name(object))
    } else {
      state.put(key, object, type: .modified)
    }
    return true
  }
}
