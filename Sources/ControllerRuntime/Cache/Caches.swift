import KubeClient
import KubeCore

/// Identifies a shared informer: one per resource and label selector.
public struct InformerKey: Hashable, Sendable, CustomStringConvertible {
  public var resource: GroupVersionResource
  public var labelSelector: String?
  public init(resource: GroupVersionResource, labelSelector: String? = nil) {
    self.resource = resource
    self.labelSelector = labelSelector
  }
  public var description: String {
    let r = resource.group.isEmpty ? resource.resource : "\(resource.resource).\(resource.group)"
    return labelSelector.map { "\(r)[\($0)]" } ?? r
  }
}

/// Collects what controllers want cached and makes one informer per resource and selector.
///
/// However many controllers watch pods with the same selector, one watch is opened; the informer
/// keeps the union of the fields they need (`CachedFields.union`) and every index any of them
/// declares (client-go's SharedInformerFactory; controller-runtime's cache with `ByObject`).
public struct InformerRegistry: Sendable {
  private struct Request: Sendable {
    var fields: CachedFields
    var indexers: [String: Store.IndexFunction]
  }
  private var requests: [InformerKey: Request] = [:]
  private var order: [InformerKey] = []

  public init() {}

  /// Asks for `resource` (with `labelSelector`) to be cached with at least `fields` and `indexers`.
  public mutating func request(_ key: InformerKey, fields: CachedFields, indexers: [String: Store.IndexFunction] = [:]) {
    if var r = requests[key] {
      r.fields = r.fields.union(fields)
      r.indexers.merge(indexers) { first, _ in first }
      requests[key] = r
    } else {
      requests[key] = Request(fields: fields, indexers: Store.standardIndexers.merging(indexers) { first, _ in first })
      order.append(key)
    }
  }

  /// What will be cached of `key`, once every request is in.
  public func fields(for key: InformerKey) -> CachedFields? { requests[key]?.fields }

  /// Makes the informers.
  /// - Parameter namespace: nil for all namespaces; cluster-scoped resources ignore it.
  public func makeCaches(client: KubeClient, namespace: String?, clock: any ControllerClock) -> Caches {
    var informers: [InformerKey: Informer] = [:]
    for key in order {
      guard let r = requests[key] else { continue }
      informers[key] = Informer(client: client, resource: key.resource, namespace: key.resource.namespaced ? namespace : nil,
                                labelSelector: key.labelSelector, indexers: r.indexers, transform: r.fields.transform,
                                projection: r.fields.projection, clock: clock)
    }
    return Caches(informers: informers, order: order)
  }
}

/// The shared informers of a manager, and their stores by resource.
public struct Caches: Sendable {
  public let informers: [InformerKey: Informer]
  /// Informers in the order they were first asked for.
  public let order: [InformerKey]

  public init(informers: [InformerKey: Informer], order: [InformerKey]) {
    self.informers = informers
    self.order = order
  }

  /// Every informer, in the order they were first asked for.
  public var all: [Informer] { order.compactMap { informers[$0] } }

  /// The store of `resource` cached with `labelSelector`; with no selector given, the resource's
  /// only informer, whatever its selector.
  public func store(_ resource: GroupVersionResource, labelSelector: String? = nil) -> Store? {
    informer(resource, labelSelector: labelSelector)?.store
  }

  public func informer(_ resource: GroupVersionResource, labelSelector: String? = nil) -> Informer? {
    if let exact = informers[InformerKey(resource: resource, labelSelector: labelSelector)] { return exact }
    guard labelSelector == nil else { return nil }
    let matching = order.filter { $0.resource == resource }
    return matching.count == 1 ? informers[matching[0]] : nil
  }
}
