import Foundation
import KubeCore
import KubeEmulator
import Synchronization

/// EdgeSim's metrics-server: every `resolution` it reads what each simulated node's kubelet would
/// report at `/metrics/resource` and keeps the last two points (`MetricsStorage`); the emulator's
/// `metrics.k8s.io` API reads from it, so `kubectl top` works.
///
/// Where the figures come from (docs/edgesim.md, "`kubectl top`"):
/// * a container that runs as a process: its process group's CPU time (`utime` + `stime` of
///   `/proc/PID/stat`, as a cumulative counter that keeps what exited members used) and resident
///   memory (`VmRSS` of `/proc/PID/status`, the working set);
/// * a simulated container (no process): nothing, so a pod with no process is left out, as
///   metrics-server leaves out what the kubelet does not report;
/// * a node: the sum over its containers, plus the memory its operating system uses as the node's
///   `/proc/meminfo` (its module's fixture, on its disk under the sim root) says: `MemTotal` −
///   `MemAvailable`. CPU is only the containers': the node's own daemons are not simulated. A
///   failed node's kubelet cannot be scraped, so it is left out.
///
/// *Caveats*: a process that starts and ends between two scrapes is not counted; a process that
/// leaves its container's process group is not either. Times are wall-clock, not scaled by `--speed`:
/// the processes run in real time.
final class ResourceMetricsCollector: ResourceMetricsProvider, Sendable {
  /// One container, by pod uid and container name.
  struct ContainerKey: Hashable, Sendable {
    var podUID: String
    var container: String
  }

  /// A container running as a process.
  struct RunningContainer: Sendable {
    var pod: PodName
    var node: String
    /// Its first process, the leader of its process group.
    var pid: Int32
    var startTime: Date
  }

  private struct State {
    var running: [ContainerKey: RunningContainer] = [:]
    /// CPU ticks of each container: last seen per live process (pid and start time), and the sum of
    /// what its ended processes used, so the counter only grows, as a cgroup's does.
    var ticks: [ContainerKey: ContainerTicks] = [:]
    /// Each container's cumulative CPU at the last scrape, to add its rise to its node's counter.
    var lastCumulative: [ContainerKey: UInt64] = [:]
    var nodeCumulative: [String: UInt64] = [:]
    /// Nodes whose kubelet does not answer (failed nodes).
    var unreachable: Set<String> = []
    /// When a node last came back after a failure; a node never failed has been up since before
    /// any scrape. A later start is a restart: its points start over.
    var upSince: [String: Date] = [:]
    var storage: MetricsStorage
  }

  private struct ProcessIdentity: Hashable {
    var pid: Int32
    var startTicks: UInt64
  }

  private struct ContainerTicks {
    var live: [ProcessIdentity: UInt64] = [:]
    var ended: UInt64 = 0

    /// Takes the group's processes now: those gone since the last scrape move to `ended`.
    mutating func update(_ members: [ProcessSample]) {
      var now: [ProcessIdentity: UInt64] = [:]
      for member in members { now[ProcessIdentity(pid: member.pid, startTicks: member.startTicks)] = member.cpuTicks }
      for (process, used) in live where now[process] == nil { ended += used }
      live = now
    }

    var total: UInt64 { live.values.reduce(ended, +) }
  }

  /// metrics-server's `--metric-resolution` as its published manifests set it (15 s,
  /// kubernetes-sigs/metrics-server `manifests/base/deployment.yaml`).
  static let defaultResolution = Duration.seconds(15)

  let resolution: Duration
  /// Memory each node's operating system uses, in bytes, by node name (every simulated node is here).
  let nodeBaselines: [String: UInt64]
  private let clock: @Sendable () -> Date
  private let sampler: @Sendable (Set<Int32>) -> [ProcessSample]
  private let state: Mutex<State>

  /// - Parameters:
  ///   - nodeBaselines: every node's operating-system memory in bytes (`baseline(meminfo:)`).
  ///   - clock: the time of a scrape; tests pass their own.
  ///   - sampler: reads the processes of the given process groups (`ProcFS.samples` by default).
  init(resolution: Duration = ResourceMetricsCollector.defaultResolution, nodeBaselines: [String: UInt64],
       clock: @escaping @Sendable () -> Date = { Date() },
       sampler: @escaping @Sendable (Set<Int32>) -> [ProcessSample] = { ProcFS.samples(inGroups: $0) }) {
    self.resolution = resolution; self.nodeBaselines = nodeBaselines; self.clock = clock; self.sampler = sampler
    self.state = Mutex(State(storage: MetricsStorage(resolution: resolution)))
  }

  /// Memory in use by the operating system of a node whose `/proc/meminfo` reads `text`:
  /// `MemTotal` − `MemAvailable` (both in kB; proc(5)), or 0 when either is missing.
  static func baseline(meminfo text: String?) -> UInt64 {
    guard let text else { return 0 }
    var values: [String: UInt64] = [:]
    for line in text.split(separator: "\n") {
      let parts = line.split(separator: ":", maxSplits: 1)
      guard parts.count == 2, let kB = parts[1].split(separator: " ").first.flatMap({ UInt64($0) }) else { continue }
      values[String(parts[0])] = kB
    }
    guard let total = values["MemTotal"], let available = values["MemAvailable"], available <= total else { return 0 }
    return (total - available) * 1024
  }

  /// Whether a node's kubelet answers scrapes: a failed node's does not, and its points go.
  func setReachable(_ node: String, _ reachable: Bool) {
    state.withLock { s in
      if reachable {
        if s.unreachable.remove(node) != nil { s.upSince[node] = clock() }
      } else {
        s.unreachable.insert(node)
      }
    }
  }

  // MARK: containers

  /// A container's process started (its pid leads the container's process group).
  func started(_ key: ContainerKey, _ container: RunningContainer) {
    state.withLock { s in
      s.running[key] = container
      s.ticks[key] = ContainerTicks()
      s.lastCumulative[key] = nil
    }
  }

  /// A container's process ended: it is no longer scraped.
  func stopped(_ key: ContainerKey) {
    state.withLock { s in
      s.running[key] = nil
      s.ticks[key] = nil
      s.lastCumulative[key] = nil
    }
  }

  // MARK: scraping

  /// Scrapes every `resolution` until cancelled.
  func run() async {
    while !Task.isCancelled {
      scrape()
      do { try await Task.sleep(for: resolution) } catch { return }
    }
  }

  /// One scrape: every live node's and running container's point, stored.
  func scrape() {
    // Milliseconds, the precision of the kubelet's /metrics/resource timestamps.
    let now = Date(timeIntervalSince1970: (clock().timeIntervalSince1970 * 1000).rounded(.down) / 1000)
    let running = state.withLock { $0.running }
    let samples = sampler(Set(running.values.map(\.pid)))
    let byGroup = Dictionary(grouping: samples, by: \.processGroup)
    state.withLock { s in
      var batch = MetricsBatch()
      var nodeMemory: [String: UInt64] = [:]
      for (node, baseline) in nodeBaselines where !s.unreachable.contains(node) { nodeMemory[node] = baseline }
      for (key, container) in running where s.running[key] != nil && nodeMemory[container.node] != nil {
        guard let members = byGroup[container.pid], !members.isEmpty else { continue }
        s.ticks[key, default: ContainerTicks()].update(members)
        let cumulative = (s.ticks[key]?.total ?? 0) * (1_000_000_000 / ProcFS.ticksPerSecond)
        let memory = members.reduce(0) { $0 + $1.residentBytes }
        let rise = cumulative - min(cumulative, s.lastCumulative[key] ?? 0)
        s.lastCumulative[key] = cumulative
        s.nodeCumulative[container.node, default: 0] += rise
        nodeMemory[container.node, default: 0] += memory
        batch.pods[container.pod, default: [:]][key.container] = MetricsPoint(
          startTime: container.startTime, timestamp: now, cumulativeCPUNanoseconds: cumulative, memoryBytes: memory)
      }
      for (node, memory) in nodeMemory {
        batch.nodes[node] = MetricsPoint(startTime: s.upSince[node] ?? .distantPast, timestamp: now, cumulativeCPUNanoseconds: s.nodeCumulative[node] ?? 0,
                                         memoryBytes: memory)
      }
      s.storage.store(batch)
    }
  }

  // MARK: ResourceMetricsProvider

  func nodeMetrics(node: JSONValue) -> ResourceUsage? {
    guard let name = node[path: ["metadata", "name"]]?.stringValue else { return nil }
    return state.withLock { $0.storage.node(name) }
  }

  func podMetrics(pod: JSONValue) -> PodUsage? {
    let name = PodName(namespace: pod[path: ["metadata", "namespace"]]?.stringValue ?? "",
                       name: pod[path: ["metadata", "name"]]?.stringValue ?? "")
    return state.withLock { $0.storage.pod(name) }
  }
}
