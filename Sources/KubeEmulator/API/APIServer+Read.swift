import Foundation
import KubeCore

extension APIServer {
  // MARK: get

  func get(_ ctx: RequestContext, name: String, subresource: String?) throws -> APIResponse {
    let stored = try store.transaction { state -> StoredObject in
      guard let o = state.stored(ctx.resource.storageKey, namespace: ctx.namespace, name: name) else {
        throw APIError.notFound(ctx.resource.groupResource, name: name)
      }
      return o
    }
    let object = stored.value
    if subresource == "scale" { return .json(scale(of: object, resource: ctx.resource)) }
    if let subresource, subresource != "status" {
      throw APIError.methodNotAllowed
    }
    if ctx.wantsTable {
      return .json(TableConverter.table(for: ctx.resource, objects: [present(object, ctx.resource)],
                                        includeObject: ctx.tableIncludeObject, listMetadata: nil, now: now()))
    }
    return served(stored, ctx.resource)
  }

  /// The object as served at the requested version: kind and apiVersion first, apiVersion of the URL.
  func present(_ object: JSONValue, _ resource: APIResource) -> JSONValue {
    if resource.isConvertedEvents { return EventConversion.toEventsV1(object) }
    return resource.servedForm.present(object)
  }

  /// A stored object as the answer to a request of `resource`, written from its shared encoding.
  func served(_ stored: StoredObject, _ resource: APIResource, status: Int = 200, warnings: [String] = []) -> APIResponse {
    if resource.isConvertedEvents { return .json(present(stored.value, resource), status: status, warnings: warnings) }
    return .encoded(EncodedBody(shape: .object(stored), form: resource.servedForm), status: status, warnings: warnings)
  }

  /// A write's answer: the object it stored, written from that version's shared encoding when the
  /// store still holds it (else, or for a dry run, whose answer is not what is stored, serialised).
  func written(_ object: JSONValue, _ ctx: RequestContext, status: Int = 200, warnings: [String] = []) -> APIResponse {
    let resource = ctx.resource
    if !ctx.isDryRun, !resource.isConvertedEvents,
       let rv = object[path: ["metadata", "resourceVersion"]]?.stringValue, let name = object[path: ["metadata", "name"]]?.stringValue,
       let stored = store.transaction({ $0.stored(resource.storageKey, namespace: resource.namespaced ? ctx.namespace : "", name: name) }),
       stored.value[path: ["metadata", "resourceVersion"]]?.stringValue == rv {
      return served(stored, resource, status: status, warnings: warnings)
    }
    return .json(present(object, resource), status: status, warnings: warnings)
  }

  /// autoscaling/v1 Scale for the `scale` subresource.
  func scale(of object: JSONValue, resource: APIResource) -> JSONValue {
    let meta = object["metadata"] ?? [:]
    var status: JSONObject = ["replicas": object[path: ["status", "replicas"]] ?? 0]
    if let sel = object[path: ["spec", "selector"]] {
      if let s = try? LabelSelector(json: sel), !s.isEmpty { status["selector"] = .string(s.description) }
      else if case .object(let m) = sel, resource.resource == "replicationcontrollers" {
        status["selector"] = .string(m.map { "\($0.0)=\($0.1.stringValue ?? "")" }.joined(separator: ","))
      }
    }
    return ["kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": ["name": meta["name"] ?? "", "namespace": meta["namespace"] ?? "", "uid": meta["uid"] ?? "",
                         "resourceVersion": meta["resourceVersion"] ?? "", "creationTimestamp": meta["creationTimestamp"] ?? .null],
            "spec": ["replicas": object[path: ["spec", "replicas"]] ?? 0], "status": .object(status)]
  }

  // MARK: selectors

  struct Selectors: Sendable {
    var labels: LabelSelector?
    var fields: FieldSelector?
    var resource: APIResource
    /// A watch of one object by URL name (`/watch/.../NAME`).
    var name: String?

    func matches(_ object: JSONValue) -> Bool {
      if let name, object[path: ["metadata", "name"]]?.stringValue != name { return false }
      if let labels, !labels.matches(labelMap(object)) { return false }
      if let fields, !fields.matches({ FieldLookup.value(of: object, field: $0, resource: resource) }) { return false }
      return true
    }
  }

  func selectors(_ ctx: RequestContext) throws -> Selectors {
    var s = Selectors(labels: nil, fields: nil, resource: ctx.resource)
    if let text = ctx.request.queryValue("labelSelector"), !text.isEmpty {
      do { s.labels = try LabelSelector.parse(text) } catch { throw APIError.badRequest("unable to parse requirement: \(error)") }
    }
    if let text = ctx.request.queryValue("fieldSelector"), !text.isEmpty {
      let parsed: FieldSelector
      do { parsed = try FieldSelector.parse(text) } catch { throw APIError.badRequest("\(error)") }
      for r in parsed.requirements where !FieldLookup.isSupported(r.field, resource: ctx.resource) {
        throw APIError.badRequest("field label not supported: \(r.field)")
      }
      // A namespace in the URL also scopes metadata.namespace (as the apiserver's field matcher does).
      s.fields = parsed
    }
    return s
  }

  // MARK: list

  func list(_ ctx: RequestContext) throws -> APIResponse {
    guard ctx.resource.verbs.contains("list") else { throw APIError.methodNotAllowed }
    let sel = try selectors(ctx)
    var limit = Int(ctx.request.queryValue("limit") ?? "") ?? 0
    if limit < 0 { limit = 0 }
    let continueToken = ctx.request.queryValue("continue").flatMap { $0.isEmpty ? nil : $0 }
    let rvParam = ctx.request.queryValue("resourceVersion") ?? ""
    if let match = ctx.request.queryValue("resourceVersionMatch"), !match.isEmpty {
      guard match == "NotOlderThan" || match == "Exact" else {
        throw APIError.badRequest("resourceVersionMatch: Unsupported value: \"\(match)\": supported values: \"Exact\", \"NotOlderThan\"")
      }
      if rvParam.isEmpty {
        throw APIError.invalid(kind: "ListOptions", group: "meta.k8s.io", name: "",
                               errors: [FieldError(.forbidden, field: "resourceVersionMatch", detail: "resourceVersionMatch is forbidden unless resourceVersion is provided")])
      }
    }
    if continueToken != nil && !rvParam.isEmpty && rvParam != "0" {
      throw APIError.badRequest("specifying resource version is not allowed when using continue")
    }
    var listRV: Int64 = 0
    var startAfter: String? = nil
    if let token = continueToken {
      guard let decoded = ContinueToken.decode(token) else {
        throw APIError.badRequest("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
      }
      listRV = decoded.resourceVersion
      startAfter = decoded.startKey
    }
    let (items, rv, next, remaining) = try store.transaction { state -> ([StoredObject], Int64, String?, Int) in
      if continueToken != nil, listRV < state.compactedRV {
        throw APIError.gone("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.")
      }
      if let requested = Int64(rvParam), requested > state.currentRV, ctx.request.queryValue("resourceVersionMatch") == "Exact" || requested > state.currentRV {
        if requested > state.currentRV {
          throw APIError(code: 504, reason: "Timeout", message: "Too large resource version: \(requested), current: \(state.currentRV)",
                         details: .object(["causes": [["reason": "ResourceVersionTooLarge", "message": "Too large resource version"]], "retryAfterSeconds": 1]))
        }
      }
      let snapshotRV = continueToken != nil ? listRV : state.currentRV
      var all = state.listStored(ctx.resource.storageKey, namespace: ctx.path.namespace)
      if sel.labels != nil || sel.fields != nil || sel.name != nil { all = all.filter { sel.matches($0.value) } }
      if let startAfter {
        all = all.filter { objectKey($0.value) > startAfter }
      }
      if limit > 0, all.count > limit {
        let page = Array(all.prefix(limit))
        let lastKey = objectKey(page[page.count - 1].value)
        return (page, snapshotRV, ContinueToken.encode(resourceVersion: snapshotRV, startKey: lastKey), all.count - limit)
      }
      return (all, snapshotRV, nil, 0)
    }
    var listMeta = JSONObject()
    listMeta["resourceVersion"] = .string(String(rv))
    if let next {
      listMeta["continue"] = .string(next)
      if sel.labels == nil && sel.fields == nil { listMeta["remainingItemCount"] = JSONValue(remaining) }
    }
    if ctx.wantsTable {
      return .json(TableConverter.table(for: ctx.resource, objects: items.map { present($0.value, ctx.resource) },
                                        includeObject: ctx.tableIncludeObject, listMetadata: .object(listMeta), now: now()))
    }
    let resource = ctx.resource
    let members: [(String, JSONValue)] = resource.isCustom
      ? [("apiVersion", .string(resource.groupVersion)), ("items", .null), ("kind", .string(resource.listKind)), ("metadata", .object(listMeta))]
      : [("kind", .string(resource.listKind)), ("apiVersion", .string(resource.groupVersion)), ("metadata", .object(listMeta)), ("items", .null)]
    if resource.isConvertedEvents {
      // events.k8s.io items are converted from the stored core Events on every read.
      var out = JSONObject()
      for (key, value) in members {
        out.appendUnchecked(key, key == "items" ? .array(items.map { resource.servedForm.item(present($0.value, resource)) }) : value)
      }
      return .json(.object(out))
    }
    // Each item is written from its stored version's encoding, made once and kept while the
    // object is unchanged: a LIST of 10,000 pods is 33 MB of JSON, and encoding it was most of
    // the LIST's time (issue 15 item 6).
    return .encoded(EncodedBody(shape: .list(members: members, items: items), form: resource.servedForm))
  }

  // MARK: watch

  func watch(_ ctx: RequestContext) throws -> APIResponse {
    guard ctx.resource.verbs.contains("watch") else { throw APIError.methodNotAllowed }
    var sel = try selectors(ctx)
    if let name = ctx.path.name {
      sel.name = name   // /watch/.../NAME is a watch with metadata.name=NAME
    }
    let rvParam = ctx.request.queryValue("resourceVersion") ?? ""
    let sendInitial = ctx.request.queryValue("sendInitialEvents").map { $0 == "true" }
    let allowBookmarks = ctx.request.queryBool("allowWatchBookmarks")
    if sendInitial != nil {
      guard ctx.request.queryValue("resourceVersionMatch") == "NotOlderThan" else {
        throw APIError.invalid(kind: "ListOptions", group: "meta.k8s.io", name: "", errors: [
          FieldError(.forbidden, field: "sendInitialEvents", detail: "sendInitialEvents is forbidden for watch unless resourceVersionMatch is set to NotOlderThan")])
      }
      if sendInitial == true && !allowBookmarks {
        throw APIError.invalid(kind: "ListOptions", group: "meta.k8s.io", name: "", errors: [
          FieldError(.forbidden, field: "allowWatchBookmarks", detail: "allowWatchBookmarks must be set to true when sendInitialEvents is true")])
      }
    }
    var timeout: Duration? = .seconds(1800)
    if let t = ctx.request.queryValue("timeoutSeconds"), let secs = Int(t), secs > 0 { timeout = .seconds(secs) }
    let asTable = ctx.wantsTable
    let resource = ctx.resource
    let includeObject = ctx.tableIncludeObject
    let clock = self.clock
    let namespace = ctx.path.namespace
    let selectorsCopy = sel
    let storageKey = resource.storageKey

    let encodeObject: @Sendable (JSONValue) -> JSONValue = { [unowned self] object in
      if asTable {
        return TableConverter.table(for: resource, objects: [self.present(object, resource)], includeObject: includeObject, listMetadata: nil, now: clock())
      }
      return self.present(object, resource)
    }
    let frame: @Sendable (String, JSONValue) -> [UInt8] = { type, object in
      var out: [UInt8] = []
      out.reserveCapacity(512)
      JSONSerializer.write(.object(["type": .string(type), "object": object]), into: &out)
      out.append(0x0A)
      return out
    }
    // A live event's object is written from the encoding every watcher of it shares (made by the
    // first), not serialised once per watcher. Tables and events.k8s.io are made per watcher.
    let form: ServedForm? = asTable || resource.isConvertedEvents ? nil : resource.servedForm
    let storedFrame: @Sendable (String, StoredObject) -> [UInt8]? = { type, stored in
      guard let form else { return nil }
      let members = stored.members
      var out: [UInt8] = []
      out.reserveCapacity(members.count + form.objectHead.count + 32)
      JSONSerializer.write(.object(["type": .string(type)]), into: &out)
      out.removeLast()   // the closing brace: the object follows
      out.append(contentsOf: Array(#","object":"#.utf8))
      form.writeObject(members, into: &out)
      out.append(contentsOf: [UInt8(ascii: "}"), 0x0A])
      return out
    }
    let encode: @Sendable (StoreEvent) -> [UInt8]? = { event in
      if let namespace, event.namespace != namespace { return nil }
      let nowMatches = selectorsCopy.matches(event.object)
      let wasMatching = event.previous.map(selectorsCopy.matches) ?? false
      var type = event.type
      switch event.type {
      case .added: if !nowMatches { return nil }
      case .modified:
        if nowMatches && !wasMatching { type = .added }
        else if !nowMatches && wasMatching { type = .deleted }
        else if !nowMatches { return nil }
      case .deleted: if !(event.previous.map(selectorsCopy.matches) ?? nowMatches) { return nil }
      default: break
      }
      if let stored = event.stored, let f = storedFrame(type.rawValue, stored) { return f }
      return frame(type.rawValue, encodeObject(event.object))
    }
    let kindForBookmark = resource.kind
    let gv = resource.groupVersion
    let store = self.store
    let bookmarkFrame: @Sendable (Int64, Bool) -> [UInt8] = { rv, initialEnd in
      var meta: JSONObject = ["resourceVersion": .string(String(rv))]
      if initialEnd { meta["annotations"] = ["k8s.io/initial-events-end": "true"] }
      return frame("BOOKMARK", ["kind": .string(kindForBookmark), "apiVersion": .string(gv), "metadata": .object(meta)])
    }

    let interval = self.bookmarkInterval
    func makeStream(_ state: inout ObjectStore.State) throws -> WatchStream {
      var initial: [[UInt8]] = []
      let current = state.listStored(storageKey, namespace: namespace).filter { selectorsCopy.matches($0.value) }
      let startFromState: Bool
      if sendInitial == true {
        startFromState = true
      } else if sendInitial == false {
        startFromState = false
      } else {
        startFromState = rvParam.isEmpty || rvParam == "0"
      }
      if startFromState {
        for o in current { initial.append(storedFrame("ADDED", o) ?? frame("ADDED", encodeObject(o.value))) }
        if sendInitial == true { initial.append(bookmarkFrame(state.currentRV, true)) }
      } else if let requested = Int64(rvParam) {
        guard let events = state.events(storageKey, after: requested) else {
          let gone = APIError.gone("too old resource version: \(requested) (\(state.compactedRV + 1))")
          initial.append(frame("ERROR", gone.status))
          let s = WatchStream(initialFrames: initial, encode: { _ in nil }, bookmark: nil,
                              currentResourceVersion: { store.currentResourceVersion }, timeout: .zero,
                              bookmarkInterval: .seconds(60), contentType: "application/json")
          return s
        }
        for e in events { if let f = encode(e) { initial.append(f) } }
      } else if !rvParam.isEmpty {
        throw APIError.badRequest("resourceVersion: Invalid value: \"\(rvParam)\": must be a valid resourceVersion")
      }
      var bookmark: (@Sendable (Int64) -> [UInt8])? = nil
      if allowBookmarks {
        let makeBookmark: @Sendable (Int64) -> [UInt8] = { rv in bookmarkFrame(rv, false) }
        bookmark = makeBookmark
      }
      let s = WatchStream(initialFrames: initial, encode: encode, bookmark: bookmark,
                          currentResourceVersion: { store.currentResourceVersion }, timeout: timeout,
                          bookmarkInterval: interval, contentType: "application/json")
      let id = state.subscribe(storageKey) { [weak s] event in s?.deliver(event) }
      s.setCancel { store.transaction { $0.unsubscribe(storageKey, id: id) } }
      return s
    }
    let stream = try store.transaction { try makeStream(&$0) }
    return APIResponse(status: 200, headers: [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")], body: .watch(stream))
  }
}

/// The key an object is listed under: `namespace/name` or `name`.
func objectKey(_ object: JSONValue) -> String {
  let ns = object[path: ["metadata", "namespace"]]?.stringValue ?? ""
  let name = object[path: ["metadata", "name"]]?.stringValue ?? ""
  return ns.isEmpty ? name : "\(ns)/\(name)"
}

func labelMap(_ object: JSONValue) -> [String: String] {
  var labels: [String: String] = [:]
  for (k, v) in object[path: ["metadata", "labels"]]?.objectValue ?? JSONObject() { labels[k] = v.stringValue ?? "" }
  return labels
}

/// Continue tokens in kube-apiserver's format: base64 of `{"v":"meta.k8s.io/v1","rv":N,"start":"KEY\u0000"}`
/// (k8s.io/apiserver/pkg/storage/continue.go).
enum ContinueToken {
  static func encode(resourceVersion: Int64, startKey: String) -> String {
    let json: JSONValue = ["v": "meta.k8s.io/v1", "rv": JSONValue(Int(resourceVersion)), "start": .string(startKey + "\u{0}")]
    return Data(json.serialized()).base64EncodedString()
  }

  static func decode(_ token: String) -> (resourceVersion: Int64, startKey: String)? {
    var padded = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while padded.count % 4 != 0 { padded += "=" }
    guard let data = Data(base64Encoded: padded), let json = try? JSONValue(parsing: [UInt8](data)),
          json["v"]?.stringValue == "meta.k8s.io/v1", let rv = json["rv"]?.int64Value, rv > 0,
          var start = json["start"]?.stringValue else { return nil }
    if start.hasSuffix("\u{0}") { start.removeLast() }
    return (rv, start)
  }
}
