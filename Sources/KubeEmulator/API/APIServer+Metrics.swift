import Foundation
import KubeCore

/// The `metrics.k8s.io/v1beta1` API that metrics-server adds to a cluster (K3s ships it): NodeMetrics
/// and PodMetrics, read-only, computed from a `ResourceMetricsProvider`.
///
/// Behaviour follows kubernetes-sigs/metrics-server `pkg/api/node.go` and `pkg/api/pod.go`: a list
/// takes the stored nodes or pods that match the label and field selectors and reports those the
/// provider has figures for, sorted by (namespace,) name; a get of an object without figures is a 404
/// on `nodemetrics.metrics.k8s.io` / `podmetrics.metrics.k8s.io` (its `Install` names the resources
/// so), a get of a node or pod that does not exist the lister's 404. Objects carry the node's or
/// pod's name, namespace and labels and a `creationTimestamp` of now, as metrics-server builds them
/// (`pkg/storage/node.go`, `pod.go` `GetMetrics`). Only `get` and `list` are served (its discovery
/// lists no other verb), so a watch is 405.
extension APIServer {
  /// The group and version metrics-server serves.
  public static let metricsGroup = "metrics.k8s.io", metricsVersion = "v1beta1"

  /// Serves `metrics.k8s.io` from `provider`, or stops serving it (nil): without a provider the group
  /// is not in discovery and `kubectl top` says "Metrics API not available", as on a cluster
  /// without metrics-server.
  public func setResourceMetricsProvider(_ provider: (any ResourceMetricsProvider)?) {
    metricsProvider.value = provider
    catalog.setAggregatedResources(provider == nil ? [] : APIServer.metricsResources, group: APIServer.metricsGroup)
  }

  /// Discovery of `metrics.k8s.io/v1beta1` as metrics-server answers it (`kubectl get --raw
  /// /apis/metrics.k8s.io/v1beta1`: singularName empty, verbs get and list).
  static let metricsResources: [APIResource] = [
    APIResource(group: metricsGroup, version: metricsVersion, resource: "nodes", kind: "NodeMetrics", listKind: "NodeMetricsList",
                singularName: "", namespaced: false, verbs: ["get", "list"]),
    APIResource(group: metricsGroup, version: metricsVersion, resource: "pods", kind: "PodMetrics", listKind: "PodMetricsList",
                singularName: "", namespaced: true, verbs: ["get", "list"]),
  ]

  func metrics(_ ctx: RequestContext) throws -> APIResponse {
    guard let provider = metricsProvider.value else { throw APIError.notFoundPath() }
    guard ctx.path.subresource == nil else { throw APIError.notFoundPath() }
    guard ctx.request.method == "GET" || ctx.request.method == "HEAD", !ctx.path.isWatchPath, !ctx.request.queryBool("watch") else {
      throw APIError.methodNotAllowed
    }
    let isPods = ctx.path.resource == "pods"
    let (labels, fields) = try metricsSelectors(ctx.request)
    let objects = store.transaction { state -> [JSONValue] in
      if let name = ctx.path.name {
        return state.get(isPods ? "/pods" : "/nodes", namespace: ctx.namespace, name: name).map { [$0] } ?? []
      }
      return state.list(isPods ? "/pods" : "/nodes", namespace: ctx.path.namespace)
    }
    if let name = ctx.path.name, objects.isEmpty {
      // The informer lister's NotFound: client-go listers name the resource in the singular for nodes
      // (listers/core/v1 `v1.Resource("node")`); metrics-server's pod lister is a generic one over "pods".
      throw APIError.notFound(GroupResource(group: "", resource: isPods ? "pods" : "node"), name: name)
    }
    let now = now()
    var rows: [MetricsRow] = []
    for object in objects {
      if ctx.path.name == nil {
        if let labels, !labels.matches(labelMap(object)) { continue }
        if let fields, !fields.matches({ APIServer.objectMetaField(object, $0) }) { continue }
      }
      if isPods, let usage = provider.podMetrics(pod: object) {
        rows.append(MetricsRow(object: APIServer.podMetrics(object, usage, now: now), window: usage.window,
                               cpuNanoCores: usage.containers.reduce(0) { $0 + $1.cpuNanoCores },
                               memoryBytes: usage.containers.reduce(0) { $0 + $1.memoryBytes }))
      } else if !isPods, let usage = provider.nodeMetrics(node: object) {
        rows.append(MetricsRow(object: APIServer.nodeMetrics(object, usage, now: now), window: usage.window,
                               cpuNanoCores: usage.cpuNanoCores, memoryBytes: usage.memoryBytes))
      }
    }
    if let name = ctx.path.name {
      guard let row = rows.first else {
        throw APIError.notFound(GroupResource(group: APIServer.metricsGroup, resource: isPods ? "podmetrics" : "nodemetrics"),
                                name: isPods ? "\(ctx.namespace)/\(name)" : name)
      }
      return .json(ctx.wantsTable ? APIServer.metricsTable([row]) : row.object)
    }
    rows.sort { a, b in a.namespace != b.namespace ? a.namespace < b.namespace : a.name < b.name }
    if ctx.wantsTable { return .json(APIServer.metricsTable(rows)) }
    return .json(["kind": .string(isPods ? "PodMetricsList" : "NodeMetricsList"),
                  "apiVersion": .string("\(APIServer.metricsGroup)/\(APIServer.metricsVersion)"),
                  "metadata": [:], "items": .array(rows.map(\.object))])
  }

  /// One NodeMetrics or PodMetrics with its totals, for sorting and the table.
  struct MetricsRow {
    var object: JSONValue
    var window: Duration
    var cpuNanoCores: UInt64
    var memoryBytes: UInt64
    var name: String { object[path: ["metadata", "name"]]?.stringValue ?? "" }
    var namespace: String { object[path: ["metadata", "namespace"]]?.stringValue ?? "" }
  }

  /// Label and field selectors as metrics-server applies them: labels by the lister, fields over the
  /// object-meta field set only (`generic.AddObjectMetaFieldsSet`: `metadata.name`, and
  /// `metadata.namespace` for pods), a field it does not have reading as empty (apimachinery
  /// `fields.Set.Get`), so no field is refused.
  private func metricsSelectors(_ request: APIRequest) throws -> (LabelSelector?, FieldSelector?) {
    var labels: LabelSelector?, fields: FieldSelector?
    if let text = request.queryValue("labelSelector"), !text.isEmpty {
      do { labels = try LabelSelector.parse(text) } catch { throw APIError.badRequest("unable to parse requirement: \(error)") }
    }
    if let text = request.queryValue("fieldSelector"), !text.isEmpty {
      do { fields = try FieldSelector.parse(text) } catch { throw APIError.badRequest("\(error)") }
    }
    return (labels, fields)
  }

  private static func objectMetaField(_ object: JSONValue, _ field: String) -> String {
    guard field == "metadata.name" || field == "metadata.namespace" else { return "" }
    return object[path: field.split(separator: ".").map(String.init)]?.stringValue ?? ""
  }

  private static func meta(_ object: JSONValue, now: Date) -> JSONValue {
    var meta: JSONObject = ["name": object[path: ["metadata", "name"]] ?? ""]
    if let namespace = object[path: ["metadata", "namespace"]] { meta["namespace"] = namespace }
    meta["creationTimestamp"] = .string(RFC3339.format(now))
    if let labels = object[path: ["metadata", "labels"]], labels.objectValue?.isEmpty == false { meta["labels"] = labels }
    return .object(meta)
  }

  /// metrics-server's quantities (`pkg/storage/types.go` `resourceUsage`): CPU in nanocores, decimal
  /// SI at scale -9 (`329087452n`); memory in bytes, binary SI (`2748180Ki`).
  static func usage(cpuNanoCores: UInt64, memoryBytes: UInt64) -> JSONValue {
    ["cpu": .string(Quantity(cpuNanoCores, scale: -9, format: .decimalSI).canonical),
     "memory": .string(Quantity(memoryBytes, format: .binarySI).canonical)]
  }

  /// The window as `metav1.Duration` writes it: Go's `time.Duration` text (`15.012s`).
  static func window(_ window: Duration) -> JSONValue {
    let (seconds, attoseconds) = window.components
    return .string(GoDuration(nanoseconds: seconds * 1_000_000_000 + attoseconds / 1_000_000_000).description)
  }

  static func nodeMetrics(_ node: JSONValue, _ usage: ResourceUsage, now: Date) -> JSONValue {
    ["kind": "NodeMetrics", "apiVersion": .string("\(metricsGroup)/\(metricsVersion)"), "metadata": meta(node, now: now),
     "timestamp": .string(RFC3339.format(usage.timestamp)), "window": window(usage.window),
     "usage": self.usage(cpuNanoCores: usage.cpuNanoCores, memoryBytes: usage.memoryBytes)]
  }

  static func podMetrics(_ pod: JSONValue, _ usage: PodUsage, now: Date) -> JSONValue {
    let containers: [JSONValue] = usage.containers.map { c in
      ["name": .string(c.name), "usage": self.usage(cpuNanoCores: c.cpuNanoCores, memoryBytes: c.memoryBytes)]
    }
    return ["kind": "PodMetrics", "apiVersion": .string("\(metricsGroup)/\(metricsVersion)"), "metadata": meta(pod, now: now),
            "timestamp": .string(RFC3339.format(usage.timestamp)), "window": window(usage.window), "containers": .array(containers)]
  }

  /// `kubectl get nodes.metrics.k8s.io`: metrics-server's table (`pkg/api/table.go`): Name, one
  /// quantity column per resource (cpu, memory; a pod's summed over its containers) and Window.
  static func metricsTable(_ rows: [MetricsRow]) -> JSONValue {
    let columns: [JSONValue] = [
      ["name": "Name", "type": "string", "format": "name", "description": "Name of the resource", "priority": 0],
      ["name": "cpu", "type": "string", "format": "quantity", "description": "", "priority": 0],
      ["name": "memory", "type": "string", "format": "quantity", "description": "", "priority": 0],
      ["name": "Window", "type": "string", "format": "duration", "description": "", "priority": 0],
    ]
    let cells: [JSONValue] = rows.map { row in
      let usage = self.usage(cpuNanoCores: row.cpuNanoCores, memoryBytes: row.memoryBytes)
      return ["cells": [.string(row.name), usage["cpu"] ?? "", usage["memory"] ?? "", window(row.window)],
              "object": ["kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": row.object["metadata"] ?? [:]]]
    }
    return ["kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": [:], "columnDefinitions": .array(columns), "rows": .array(cells)]
  }
}
