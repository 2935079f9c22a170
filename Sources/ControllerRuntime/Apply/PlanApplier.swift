import Crypto
import KubeClient
import KubeCore
import Logging

/// Carries out a `ReconcilePlan` for one owner: the one place a controller writes.
///
/// - Each desired object gets an applied-hash annotation (a digest of the object as planned) and
///   is written with server-side apply, as the controller's field manager with `force`, only when
///   the cached object's hash differs. A steady cluster therefore sees no writes.
/// - Owned objects of the plan's `prune` resources that the owner controls but the plan no longer
///   wants are deleted (found by owner uid in the cache).
/// - The status is patched only when it differs from the cached owner's, with a merge patch that
///   also removes what the new status no longer has.
/// - Events are recorded once the status is written.
/// - The owner's version before and after the status write goes to `expectations`, so that no
///   reconcile plans again from the copy this write replaced, and the owner as written goes to
///   `ownerInformer` (`Informer.publish`), so that the cache and every controller watching the
///   owner have it without waiting for the watch.
///
/// *Guarantees*: an owner that is gone or terminating gets nothing created for it. The cache may
/// not know yet, so before the first create of a plan the owner is read from the server: a
/// different uid, a 404 or a deletionTimestamp stops the plan (kube-apiserver's garbage collector
/// would delete a dependent whose owner uid does not exist, but only after it was created, and a
/// Deployment lives long enough to start pods).
///
/// *Errors*: a plan naming a resource the controller does not own, or an object whose metadata does
/// not fit its owner, is a bug in the planner and throws `TerminalError(PlanError)`; API errors are
/// thrown as they come (the reconcile is retried with backoff).
public struct PlanApplier: Sendable {
  public let client: KubeClient
  /// The field manager of every server-side apply (kubectl shows it in `managedFields`).
  public let fieldManager: String
  /// The annotation carrying the applied hash.
  public let hashAnnotation: String
  /// The resource of the owners (the controller's primary resource).
  public let ownerResource: GroupVersionResource
  /// The owned resources and their caches.
  public let owned: [GroupVersionResource: Store]
  public let recorder: EventRecorder?
  /// Where the owner's writes are remembered until the cache has them (nil: nowhere). The Manager
  /// gives each controller one, and holds back a reconcile that would plan from a copy one of its
  /// writes replaced (`TypedReconciler`).
  public let expectations: WriteExpectations?
  /// The informer caching the owners, told of each status write as it is answered (nil: the cache
  /// learns of it from the watch only).
  public let ownerInformer: Informer?

  public init(client: KubeClient, fieldManager: String, hashAnnotation: String, ownerResource: GroupVersionResource,
              owned: [GroupVersionResource: Store], recorder: EventRecorder?, expectations: WriteExpectations? = nil,
              ownerInformer: Informer? = nil) {
    self.client = client
    self.fieldManager = fieldManager
    self.hashAnnotation = hashAnnotation
    self.ownerResource = ownerResource
    self.owned = owned
    self.recorder = recorder
    self.expectations = expectations
    self.ownerInformer = ownerInformer
  }

  /// What one `apply` did.
  public struct Report: Sendable, Equatable {
    /// `resource/name` of each object written.
    public var applied: [String] = []
    /// Objects left alone because their hash was unchanged.
    public var unchanged = 0
    /// `resource/name` of each object deleted.
    public var pruned: [String] = []
    public var statusWritten = false
    public var eventsRecorded = 0
    /// The owner was found gone or terminating: nothing was created, and the plan stopped there.
    public var ownerGone = false
  }

  /// Writes what `plan` wants for `owner` (the cached object that was reconciled).
  @discardableResult
  public func apply(_ plan: ReconcilePlan, owner: JSONValue, logger: Logger? = nil) async throws -> Report {
    var report = Report()
    let namespace = owner[path: ["metadata", "namespace"]]?.stringValue ?? ""
    let ownerName = owner[path: ["metadata", "name"]]?.stringValue ?? ""
    let ownerUID = owner[path: ["metadata", "uid"]]?.stringValue ?? ""
    let objects = try plan.objects.map { try stamped($0, namespace: namespace) }
    for r in plan.prune where owned[r] == nil {
      throw TerminalError(PlanError.unknownResource(r, object: "prune"))
    }
    var ownerChecked = false
    var wanted = Set<String>()
    for desired in objects {
      let name = desired.name
      wanted.insert("\(desired.resource.resource)/\(name)")
      let key = desired.resource.namespaced ? "\(namespace)/\(name)" : name
      let observed = await owned[desired.resource]?.get(key)
      let hash = desired.object[path: ["metadata", "annotations", hashAnnotation]]
      if let observed, observed[path: ["metadata", "annotations", hashAnnotation]] == hash {
        report.unchanged += 1
        continue
      }
      if observed == nil, !ownerChecked {
        guard try await ownerIsLive(namespace: namespace, name: ownerName, uid: ownerUID) else {
          logger?.info("Owner gone or terminating; nothing created")
          report.ownerGone = true
          return report
        }
        ownerChecked = true
      }
      // The answer is not read (the watch brings the object to the cache): checked, not built.
      _ = try await client.patch(desired.resource, namespace: desired.resource.namespaced ? namespace : nil, name: name,
                                 desired.object, type: .apply(fieldManager: fieldManager, force: true), projection: .nothing)
      report.applied.append("\(desired.resource.resource)/\(name)")
    }
    for resource in plan.prune {
      guard let store = owned[resource] else { continue }
      for o in await store.byIndex("owner", ownerUID) where Self.isControlled(o, byUID: ownerUID) {
        let name = o[path: ["metadata", "name"]]?.stringValue ?? ""
        guard !wanted.contains("\(resource.resource)/\(name)"), o[path: ["metadata", "deletionTimestamp"]] == nil else { continue }
        do {
          _ = try await client.delete(resource, namespace: resource.namespaced ? namespace : nil, name: name,
                                      propagationPolicy: "Background")
          report.pruned.append("\(resource.resource)/\(name)")
        } catch let e as KubeAPIError where e.isNotFound {}
      }
    }
    // An answer nothing will be published from is read for its version alone.
    let publishing = ownerInformer.flatMap { $0.takesPublishedWrites ? $0 : nil }
    if let status = plan.status {
      let current = owner["status"]
      if current != status {
        do {
          let written = try await client.patch(ownerResource, namespace: ownerResource.namespaced ? namespace : nil, name: ownerName,
                                               ["status": MergePatch.diff(from: current, to: status)], type: .merge,
                                               subresource: "status", projection: publishing?.projection ?? Self.resourceVersionOnly)
          report.statusWritten = true
          let replaced = owner[path: ["metadata", "resourceVersion"]]?.stringValue ?? ""
          expectations?.wrote(Store.key(of: owner), replaced: replaced, written: written[path: ["metadata", "resourceVersion"]]?.stringValue ?? "")
          await publishing?.publish(written, replacing: replaced)
        } catch let e as KubeAPIError where e.isNotFound {
          report.ownerGone = true
          return report
        }
      }
    }
    if report.statusWritten || plan.status == nil {
      for e in plan.events {
        await recorder?.record(regarding: owner, type: e.type, reason: e.reason, action: e.action, note: e.note)
        report.eventsRecorded += 1
      }
    }
    return report
  }

  /// The object checked against what the controller owns, with its applied hash set.
  func stamped(_ desired: DesiredObject, namespace: String) throws -> DesiredObject {
    let r = desired.resource
    let label = "\(r.resource)/\(desired.name)"
    guard owned[r] != nil else { throw TerminalError(PlanError.unknownResource(r, object: label)) }
    let expected = r.group.isEmpty ? r.version : "\(r.group)/\(r.version)"
    let found = desired.object["apiVersion"]?.stringValue ?? ""
    guard found == expected else { throw TerminalError(PlanError.apiVersionMismatch(expected: expected, found: found, object: label)) }
    guard !desired.name.isEmpty else { throw TerminalError(PlanError.badMetadata("\(r.resource): an object without a name")) }
    if r.namespaced, let ns = desired.object[path: ["metadata", "namespace"]]?.stringValue, ns != namespace {
      throw TerminalError(PlanError.badMetadata("\(label): namespace \(ns) is not its owner's (\(namespace))"))
    }
    return DesiredObject(r, Self.stamp(desired.object, hashAnnotation: hashAnnotation))
  }

  /// `object` as the applier writes it: with the applied-hash annotation `hashAnnotation` set to
  /// the hash of the object without it (what `edgeml diff` compares with the cluster).
  public static func stamp(_ object: JSONValue, hashAnnotation: String) -> JSONValue {
    var object = object
    object[path: ["metadata", "annotations", hashAnnotation]] = nil
    if object[path: ["metadata", "annotations"]]?.objectValue?.isEmpty == true { object[path: ["metadata", "annotations"]] = nil }
    object[path: ["metadata", "annotations", hashAnnotation]] = .string(appliedHash(of: object))
    return object
  }

  /// The first 16 hex digits of the SHA-256 of the object's JSON (without the hash annotation).
  public static func appliedHash(of object: JSONValue) -> String {
    String(lowerHex: SHA256.hash(data: object.serialized()).prefix(8))
  }

  /// An answer read for its resourceVersion alone.
  public static let resourceVersionOnly = JSONProjection.keeping(["metadata"], members: ["metadata": .keeping(["resourceVersion"])])

  static func isControlled(_ object: JSONValue, byUID uid: String) -> Bool {
    (object[path: ["metadata", "ownerReferences"]]?.arrayValue ?? []).contains {
      $0["uid"]?.stringValue == uid && $0["controller"]?.boolValue == true
    }
  }

  /// Reads the owner from the server: true when it exists with `uid` and is not being deleted.
  func ownerIsLive(namespace: String, name: String, uid: String) async throws -> Bool {
    do {
      let live = try await client.get(ownerResource, namespace: ownerResource.namespaced ? namespace : nil, name: name)
      return live[path: ["metadata", "uid"]]?.stringValue == uid && live[path: ["metadata", "deletionTimestamp"]] == nil
    } catch let e as KubeAPIError where e.isNotFound {
      return false
    }
  }
}
