import Foundation
import KubeCore
import Logging

/// The objects K3s's packaged metrics-server puts in the API besides its pods
/// (k3s-io/k3s `manifests/metrics-server/`): the `v1beta1.metrics.k8s.io` APIService that routes the
/// group, and the `system:aggregated-metrics-reader` ClusterRole, aggregated into `view`, `edit`
/// and `admin` by its labels, so that whoever may view a namespace may run `kubectl top` there.
///
/// EdgeSim serves the group in-process (`ResourceMetricsCollector`), so there is no metrics-server
/// pod or Service behind the APIService; its status says Available, as kube-aggregator's
/// availability controller writes it for a reachable service (reason `Passed`, "all checks passed").
enum MetricsServerObjects {
  static let apiServiceName = "v1beta1.metrics.k8s.io"
  static let readerRoleName = "system:aggregated-metrics-reader"

  /// Creates both objects unless they exist (a restart on the same API server keeps them).
  static func install(api: ClusterAPI, logger: Logger) {
    do {
      if api.get("rbac.authorization.k8s.io/clusterroles", name: readerRoleName) == nil {
        _ = try api.create("/apis/rbac.authorization.k8s.io/v1/clusterroles", readerRole)
      }
      if api.get("apiregistration.k8s.io/apiservices", name: apiServiceName) == nil {
        _ = try api.create("/apis/apiregistration.k8s.io/v1/apiservices", apiService)
        _ = try api.mergePatch("/apis/apiregistration.k8s.io/v1/apiservices/\(apiServiceName)/status", [
          "status": ["conditions": [["type": "Available", "status": "True", "lastTransitionTime": .string(rfc3339(Date())),
                                     "reason": "Passed", "message": "all checks passed"]]],
        ])
      }
    } catch {
      logger.warning("Cannot create the metrics-server objects", metadata: ["error": "\(error)"])
    }
  }

  /// k3s-io/k3s `manifests/metrics-server/aggregated-metrics-reader.yaml`.
  static let readerRole: JSONValue = [
    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
    "metadata": ["name": .string(readerRoleName),
                 "labels": ["rbac.authorization.k8s.io/aggregate-to-view": "true", "rbac.authorization.k8s.io/aggregate-to-edit": "true",
                            "rbac.authorization.k8s.io/aggregate-to-admin": "true"]],
    "rules": [["apiGroups": ["metrics.k8s.io"], "resources": ["pods", "nodes"], "verbs": ["get", "list", "watch"]]],
  ]

  /// k3s-io/k3s `manifests/metrics-server/metrics-apiservice.yaml`.
  static let apiService: JSONValue = [
    "apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
    "metadata": ["name": .string(apiServiceName)],
    "spec": ["service": ["name": "metrics-server", "namespace": "kube-system", "port": 443],
             "group": "metrics.k8s.io", "version": "v1beta1", "insecureSkipTLSVerify": true,
             "groupPriorityMinimum": 100, "versionPriority": 100],
  ]
}
