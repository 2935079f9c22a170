import Foundation
import KubeCore

/// What is special about one resource, kept in one place as kube-apiserver keeps it in one strategy per
/// resource (k8s.io/kubernetes pkg/registry/<group>/<resource>/strategy.go, the `rest.RESTCreateStrategy`,
/// `RESTUpdateStrategy` and `RESTDeleteStrategy` interfaces of k8s.io/apiserver pkg/registry/rest).
///
/// The write path (`APIServer+Write.swift`) and the garbage collector call these hooks and never ask
/// which resource they are handling; `ResourceStrategies.strategy(for:)` finds the strategy of a
/// resource, and resources without special rules get `GenericStrategy`, whose defaults are the
/// generic registry's. Admission plugins, which act across resources, are the `AdmissionChain`
/// beside this.
///
/// Every hook has the generic behaviour as its default, so a strategy states only what differs.
protocol ResourceStrategy: Sendable {
  /// How `metadata.name` is checked (the `nameFn` each resource passes to `ValidateObjectMeta`).
  var nameRule: NameRule { get }
  /// The propagation policy of a DELETE that names none (`rest.GarbageCollectionDeleteStrategy`).
  var defaultGarbageCollectionPolicy: String { get }
  /// Whether a completed DELETE answers with the object rather than a `Status` (the generic
  /// store's `ReturnDeletedObject`, set by pods, services, PVCs and PVs).
  var returnsDeletedObject: Bool { get }

  /// Defaults and server-set fields of a new object (SetDefaults_* and `PrepareForCreate`).
  func prepareForCreate(_ object: inout JSONValue, server: APIServer) throws
  /// Defaults and server-set fields of an updated object (SetDefaults_* and `PrepareForUpdate`).
  func prepareForUpdate(_ object: inout JSONValue, old: JSONValue, server: APIServer) throws
  /// The resource's own rules for a create (`Validate`), besides the object-meta checks all share.
  func validate(_ object: JSONValue) -> [FieldError]
  /// The resource's own rules for an update (`ValidateUpdate`): usually `validate`'s and immutable fields.
  func validateUpdate(_ object: JSONValue, old: JSONValue) -> [FieldError]
  /// What the writer of a create is recorded as owning in managedFields: the object without what
  /// `PrepareForCreate` adds after the field manager ran upstream.
  func setByClient(_ object: JSONValue) -> JSONValue
  /// The server-side printer's columns (pkg/printers/internalversion/printers.go); nil for the
  /// generic NAME / CREATED AT (k8s.io/apiserver pkg/registry/rest/table.go).
  var tableColumns: [TableConverter.Column]? { get }

  /// Runs under the store lock after a create or update is stored (a CRD is established here).
  func afterWrite(_ stored: JSONValue, state: inout ObjectStore.State, server: APIServer)
  /// Finalizers every DELETE adds before the object may go (a CRD's instance cleanup).
  var deletionFinalizers: [String] { get }
  /// Whether the object is deleted gracefully first (a pod on a node: `rest.BeforeDelete`).
  func gracefulDeletion(of object: JSONValue, requestedGracePeriod: Int?, server: APIServer) -> GracefulDeletion
  /// Marks an object that has finalizers as being deleted (the generic store's `markAsDeleting`);
  /// called on every DELETE of it, the first one sets the deletion timestamp.
  func markDeleting(_ object: inout JSONValue, now: JSONValue)
  /// Whether the object stays, once its `metadata.finalizers` are gone, until its own finalization is
  /// done (a namespace's `spec.finalizers`).
  func awaitsFinalization(_ object: JSONValue) -> Bool
  /// The resource's own finalizing controller, run by the garbage collector on an object being
  /// deleted (namespace lifecycle, CRD finalizer); returns whether it changed anything.
  func finalize(_ object: inout JSONValue, finalizers: inout [String], state: inout ObjectStore.State,
                server: APIServer) -> Bool
}

/// The name formats of `metadata.name` (k8s.io/apimachinery pkg/api/validation, path.ValidatePathSegmentName).
enum NameRule: Sendable {
  /// A DNS-1123 subdomain (`NameIsDNSSubdomain`), the default.
  case dns1123Subdomain
  /// A DNS-1123 label (`NameIsDNSLabel`): namespaces, most workloads.
  case dns1123Label
  /// A DNS-1035 label (`NameIsDNS1035Label`): services.
  case dns1035Label
  /// Any valid path segment (`ValidatePathSegmentName`): RBAC roles and bindings.
  case pathSegment
}

/// What a DELETE does first for a resource with graceful deletion.
enum GracefulDeletion {
  /// Not graceful (or a grace period of 0): deleted, or marked if it has finalizers.
  case none
  /// Already deleting with a grace period no longer than the new one: nothing changes.
  case unchanged
  /// Marked for deletion after this many seconds.
  case after(seconds: Int)
}

extension ResourceStrategy {
  var nameRule: NameRule { .dns1123Subdomain }
  var defaultGarbageCollectionPolicy: String { "Background" }
  var returnsDeletedObject: Bool { false }
  func prepareForCreate(_ object: inout JSONValue, server: APIServer) throws {}
  func prepareForUpdate(_ object: inout JSONValue, old: JSONValue, server: APIServer) throws {}
  func validate(_ object: JSONValue) -> [FieldError] { [] }
  func validateUpdate(_ object: JSONValue, old: JSONValue) -> [FieldError] { [] }
  func setByClient(_ object: JSONValue) -> JSONValue { object }
  var tableColumns: [TableConverter.Column]? { nil }
  func afterWrite(_ stored: JSONValue, state: inout ObjectStore.State, server: APIServer) {}
  var deletionFinalizers: [String] { [] }
  func gracefulDeletion(of object: JSONValue, requestedGracePeriod: Int?, server: APIServer) -> GracefulDeletion { .none }
  /// Generic `markAsDeleting` (k8s.io/apiserver pkg/registry/generic/registry/store.go): a grace
  /// period of 0 and a generation bump.
  func markDeleting(_ object: inout JSONValue, now: JSONValue) { GenericStrategy.markDeleting(&object, now: now) }
  func awaitsFinalization(_ object: JSONValue) -> Bool { false }
  func finalize(_ object: inout JSONValue, finalizers: inout [String], state: inout ObjectStore.State,
                server: APIServer) -> Bool { false }
}

/// Resources without rules of their own, custom resources among them (whose schema-driven defaults
/// and validation the write path applies from their CRD).
struct GenericStrategy: ResourceStrategy {
  static func markDeleting(_ object: inout JSONValue, now: JSONValue) {
    guard object[path: ["metadata", "deletionTimestamp"]] == nil else { return }
    object[path: ["metadata", "deletionTimestamp"]] = now
    object[path: ["metadata", "deletionGracePeriodSeconds"]] = 0
    if let g = object[path: ["metadata", "generation"]]?.intValue, g > 0 {
      object[path: ["metadata", "generation"]] = JSONValue(g + 1)
    }
  }
}
