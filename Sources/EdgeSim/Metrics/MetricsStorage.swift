import Foundation
import KubeEmulator

/// One measurement of a node or a container: cumulative CPU since it started, and memory now.
struct MetricsPoint: Sendable, Equatable {
  /// When the node or container started: cumulative CPU was zero then.
  var startTime: Date
  /// When the point was measured.
  var timestamp: Date
  var cumulativeCPUNanoseconds: UInt64
  var memoryBytes: UInt64
}

/// A pod by namespace and name, how metrics-server keys its points.
struct PodName: Hashable, Sendable {
  var namespace: String
  var name: String
}

/// What one scrape of every kubelet returned.
struct MetricsBatch: Sendable, Equatable {
  var nodes: [String: MetricsPoint] = [:]
  /// Pod → container name → point; pods without a running container are absent.
  var pods: [PodName: [String: MetricsPoint]] = [:]
}

/// The last two points of every node and container, and the usage between them: metrics-server's
/// storage (kubernetes-sigs/metrics-server `pkg/storage/node.go`, `pod.go`, `types.go`), rewritten.
///
/// *Guarantees*: a node or container is reported only once it has two points from the same run (a
/// restart, seen as a later start time, starts over), and a pod only when every container of its
/// last scrape has two; the CPU rate is the cumulative CPU's rise over the time between the points.
/// *Caveats*: a container younger than `resolution` but at least 10 s old gets its start as the
/// earlier point (cumulative CPU zero), so it shows after one scrape, as upstream's
/// `freshContainerMinMetricsResolution` rule has it. Pure: times come from the points.
struct MetricsStorage: Sendable {
  /// The scrape interval (metrics-server's `--metric-resolution`).
  var resolution: Duration
  /// Upstream's `freshContainerMinMetricsResolution`: a start closer than this is too imprecise.
  static let freshContainerMinimum: TimeInterval = 10

  private var lastNodes: [String: MetricsPoint] = [:], previousNodes: [String: MetricsPoint] = [:]
  private var lastPods: [PodName: [String: MetricsPoint]] = [:], previousPods: [PodName: [String: MetricsPoint]] = [:]

  init(resolution: Duration) { self.resolution = resolution }

  /// Keeps `batch` as the last points; what was last becomes the previous point of whatever is
  /// still the same run, measured later. Nodes and containers not in `batch` are forgotten.
  mutating func store(_ batch: MetricsBatch) {
    var nodes: [String: MetricsPoint] = [:]
    for (name, point) in batch.nodes {
      if let earlier = MetricsStorage.earlierPoint(for: point, last: lastNodes[name], previous: previousNodes[name]) { nodes[name] = earlier }
    }
    var pods: [PodName: [String: MetricsPoint]] = [:]
    let resolutionSeconds = Double(resolution.components.seconds) + Double(resolution.components.attoseconds) / 1e18
    for (pod, containers) in batch.pods {
      var earlierPoints: [String: MetricsPoint] = [:]
      for (container, point) in containers {
        let age = point.timestamp.timeIntervalSince(point.startTime)
        if age > 0, age < resolutionSeconds, age >= MetricsStorage.freshContainerMinimum {
          earlierPoints[container] = MetricsPoint(startTime: point.startTime, timestamp: point.startTime,
                                                  cumulativeCPUNanoseconds: 0, memoryBytes: point.memoryBytes)
        } else if let earlier = MetricsStorage.earlierPoint(for: point, last: lastPods[pod]?[container], previous: previousPods[pod]?[container]) {
          earlierPoints[container] = earlier
        }
      }
      if !earlierPoints.isEmpty { pods[pod] = earlierPoints }
    }
    lastNodes = batch.nodes
    previousNodes = nodes
    lastPods = batch.pods
    previousPods = pods
  }

  /// The point to pair with `point`: the stored last one if `point` is the same run and newer; the
  /// stored previous one if `point` repeats the last scrape; none after a restart.
  private static func earlierPoint(for point: MetricsPoint, last: MetricsPoint?, previous: MetricsPoint?) -> MetricsPoint? {
    guard let last, point.startTime < last.timestamp else { return nil }
    if point.timestamp > last.timestamp { return last }
    if let previous, previous.timestamp < point.timestamp { return previous }
    return nil
  }

  /// The node's usage between its two points, or nil.
  func node(_ name: String) -> ResourceUsage? {
    guard let last = lastNodes[name], let previous = previousNodes[name] else { return nil }
    return MetricsStorage.usage(last: last, previous: previous)
  }

  /// The pod's containers' usage, or nil unless every container of the last scrape has an earlier
  /// point. The pod's time and window are its earliest container point's.
  func pod(_ name: PodName) -> PodUsage? {
    guard let last = lastPods[name], let previous = previousPods[name], !last.isEmpty else { return nil }
    var containers: [PodUsage.Container] = []
    var earliest: ResourceUsage?
    for (container, point) in last.sorted(by: { $0.key < $1.key }) {
      guard let earlier = previous[container] else { return nil }
      // A decrease is a bad pair: upstream logs it and skips the container.
      guard let usage = MetricsStorage.usage(last: point, previous: earlier) else { continue }
      containers.append(PodUsage.Container(name: container, cpuNanoCores: usage.cpuNanoCores, memoryBytes: usage.memoryBytes))
      if earliest.map({ usage.timestamp < $0.timestamp }) ?? true { earliest = usage }
    }
    guard let earliest else { return nil }
    return PodUsage(containers: containers, timestamp: earliest.timestamp, window: earliest.window)
  }

  /// Usage between two points (`types.go` `resourceUsage`): nil when cumulative CPU went down or
  /// no time passed.
  static func usage(last: MetricsPoint, previous: MetricsPoint) -> ResourceUsage? {
    let seconds = last.timestamp.timeIntervalSince(previous.timestamp)
    guard last.cumulativeCPUNanoseconds >= previous.cumulativeCPUNanoseconds, seconds > 0 else { return nil }
    let rate = Double(last.cumulativeCPUNanoseconds - previous.cumulativeCPUNanoseconds) / seconds
    return ResourceUsage(cpuNanoCores: UInt64(rate), memoryBytes: last.memoryBytes, timestamp: last.timestamp,
                         window: .milliseconds(Int64((seconds * 1000).rounded())))
  }
}
