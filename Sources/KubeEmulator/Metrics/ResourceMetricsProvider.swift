import Foundation
import KubeCore

/// Where the `metrics.k8s.io` API's figures come from: what metrics-server scraped from the kubelets.
///
/// On a K3s cluster the `metrics.k8s.io/v1beta1` group is served by metrics-server behind the
/// `v1beta1.metrics.k8s.io` APIService; metrics-server scrapes each kubelet's `/metrics/resource`
/// and keeps the last two points per node and container (kubernetes-sigs/metrics-server
/// `pkg/storage/node.go`, `pod.go`). The emulator has no kubelets, so whoever runs the pods (EdgeSim)
/// registers a provider with `APIServer.setResourceMetricsProvider`; the emulator serves the group,
/// its discovery, selectors, RBAC and the object shapes, and asks the provider for the numbers.
///
/// *Assumptions*: calls come from the server's request threads and must not block for long; a
/// provider answers from what it already collected.
public protocol ResourceMetricsProvider: Sendable {
  /// The usage of `node` (its stored Node object), or nil when there is none to report (not scraped
  /// twice yet, or its kubelet unreachable): the node is then left out, as metrics-server leaves it.
  func nodeMetrics(node: JSONValue) -> ResourceUsage?

  /// The usage of each running container of `pod` (its stored Pod object), or nil when the pod has
  /// no container with figures (nothing runs, or it has not been scraped twice): left out.
  func podMetrics(pod: JSONValue) -> PodUsage?
}

/// CPU and memory use over one window, as metrics-server computes it from two scrapes
/// (`pkg/storage/types.go` `resourceUsage`): the CPU rate is the rise of the cumulative CPU time
/// divided by the time between the two points; memory is the working set at the later one.
public struct ResourceUsage: Sendable, Equatable {
  /// CPU in nanocores (1e9 is one core).
  public var cpuNanoCores: UInt64
  /// Working set in bytes.
  public var memoryBytes: UInt64
  /// When the later of the two points was measured (the object's `timestamp`).
  public var timestamp: Date
  /// The time between the two points (the object's `window`).
  public var window: Duration

  public init(cpuNanoCores: UInt64, memoryBytes: UInt64, timestamp: Date, window: Duration) {
    self.cpuNanoCores = cpuNanoCores; self.memoryBytes = memoryBytes; self.timestamp = timestamp; self.window = window
  }
}

/// A pod's usage: one entry per container with figures.
public struct PodUsage: Sendable, Equatable {
  /// One container's CPU (nanocores) and working set (bytes).
  public struct Container: Sendable, Equatable {
    public var name: String
    public var cpuNanoCores: UInt64
    public var memoryBytes: UInt64
    public init(name: String, cpuNanoCores: UInt64, memoryBytes: UInt64) {
      self.name = name; self.cpuNanoCores = cpuNanoCores; self.memoryBytes = memoryBytes
    }
  }

  public var containers: [Container]
  /// The earliest container point's time (metrics-server reports the pod at its oldest container's).
  public var timestamp: Date
  public var window: Duration

  public init(containers: [Container], timestamp: Date, window: Duration) {
    self.containers = containers; self.timestamp = timestamp; self.window = window
  }
}
