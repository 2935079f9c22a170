import KubeClient
import KubeCore

extension CustomResource {
  /// The resource path of this kind.
  public static var resource: GroupVersionResource {
    GroupVersionResource(group: EdgeMLAPI.group, version: EdgeMLAPI.version, resource: plural, namespaced: true)
  }
}

extension KubeClient {
  /// Reads one of our custom resources as its Swift type.
  public func get<T: CustomResource>(_ type: T.Type, namespace: String, name: String) async throws -> T {
    try T(json: try await get(T.resource, namespace: namespace, name: name))
  }

  /// Lists one of our custom resources as Swift values (every page).
  public func list<T: CustomResource>(_ type: T.Type, namespace: String? = nil) async throws -> [T] {
    try await listAll(T.resource, namespace: namespace).items.map { (json: JSONValue) throws -> T in try T(json: json) }
  }

  /// Creates one of our custom resources from its Swift value.
  @discardableResult
  public func create<T: CustomResource>(_ object: T) async throws -> T {
    try T(json: try await create(T.resource, namespace: object.metadata.namespace, object.json))
  }

  /// Writes the status of one of our custom resources (status subresource, optimistic concurrency).
  @discardableResult
  public func updateStatus<T: CustomResource>(_ object: T) async throws -> T {
    try T(json: try await updateStatus(T.resource, namespace: object.metadata.namespace, object.json))
  }
}
