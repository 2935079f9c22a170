import KubeClient
import KubeCore

/// An object a reconciler wants to exist, with the resource it is written to.
///
/// The resource is said, never guessed from `kind`: the applier refuses a resource its controller
/// did not declare it owns.
public struct DesiredObject: Sendable, Equatable {
  public var resource: GroupVersionResource
  public var object: JSONValue
  public init(_ resource: GroupVersionResource, _ object: JSONValue) {
    self.resource = resource
    self.object = object
  }
  public var name: String { object[path: ["metadata", "name"]]?.stringValue ?? "" }
}

/// An Event a reconcile wants recorded about the object it reconciled.
public struct PlannedEvent: Sendable, Equatable {
  public var type: String
  public var reason: String
  public var note: String
  public var action: String
  public init(type: String, reason: String, note: String, action: String = "Reconcile") {
    self.type = type
    self.reason = reason
    self.note = note
    self.action = action
  }
}

/// What a reconcile decided: the objects that should exist, the status, the Events, and when to
/// look again. Planners return it; `PlanApplier` carries it out.
public struct ReconcilePlan: Sendable {
  /// Objects to exist, each written with server-side apply only when its applied hash changed.
  public var objects: [DesiredObject]
  /// Owned resources whose objects not in `objects` are deleted (by owner uid). A resource not
  /// listed is never pruned, even if owned.
  public var prune: [GroupVersionResource]
  /// The whole desired `status`; nil leaves the status alone.
  public var status: JSONValue?
  /// Recorded after the status is written (they describe its change); with no status, always.
  public var events: [PlannedEvent]
  /// When to reconcile again though nothing changed (a pause's end, an interval).
  public var requeueAfter: Duration?

  public init(objects: [DesiredObject] = [], prune: [GroupVersionResource] = [], status: JSONValue? = nil,
              events: [PlannedEvent] = [], requeueAfter: Duration? = nil) {
    self.objects = objects
    self.prune = prune
    self.status = status
    self.events = events
    self.requeueAfter = requeueAfter
  }

  /// The result the reconcile returns once the plan is applied.
  public var result: ReconcileResult { requeueAfter.map { .requeue(after: $0) } ?? .done }
}

/// A plan the applier cannot carry out: a bug in the planner, not a state of the cluster, so it is
/// thrown as a `TerminalError` (no retry loop).
public enum PlanError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The object's resource is not one the controller declared it owns.
  case unknownResource(GroupVersionResource, object: String)
  /// `apiVersion` of the object does not match its resource's group and version.
  case apiVersionMismatch(expected: String, found: String, object: String)
  /// The object has no name, or sits in another namespace than its owner.
  case badMetadata(String)

  public var description: String {
    switch self {
    case .unknownResource(let r, let o):
      return "\(o): resource \(r.resource) (group \"\(r.group)\", version \(r.version)) is not owned by this controller"
    case .apiVersionMismatch(let e, let f, let o): return "\(o): apiVersion \(f) does not match its resource's \(e)"
    case .badMetadata(let m): return m
    }
  }
}
