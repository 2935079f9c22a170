import KubeClient
import KubeCore

extension GroupVersionResource {
  /// batch/v1 Jobs.
  static let jobs = GroupVersionResource(group: "batch", version: "v1", resource: "jobs", namespaced: true)
}

extension KubeClient: AnalysisJobClient {
  public func job(namespace: String, name: String) async throws -> JSONValue? {
    do {
      return try await get(.jobs, namespace: namespace, name: name)
    } catch let error as KubeAPIError where error.reason == "NotFound" {
      return nil
    }
  }

  public func create(job: JSONValue) async throws {
    do {
      _ = try await create(.jobs, namespace: job[path: ["metadata", "namespace"]]?.stringValue, job)
    } catch let error as KubeAPIError where error.reason == "AlreadyExists" {
      return   // created by an earlier attempt: the next measure reads it
    }
  }
}
