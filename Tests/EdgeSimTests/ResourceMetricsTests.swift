import Foundation
import KubeCore
import KubeEmulator
import Synchronization
import Testing
@testable import EdgeSim

/// A scrape's inputs under the test's control: the time, and what /proc says per process group.
private final class FakeHost: Sendable {
  let now = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
  let processes = Mutex<[ProcessSample]>([])
  func advance(_ seconds: Double) { now.withLock { $0 = $0.addingTimeInterval(seconds) } }
  func set(_ samples: [ProcessSample]) { processes.withLock { $0 = samples } }
  func collector(resolution: Duration = .seconds(15), baselines: [String: UInt64] = ["orin-0": 1 << 30, "nano-0": 1 << 29]) -> ResourceMetricsCollector {
    ResourceMetricsCollector(resolution: resolution, nodeBaselines: baselines, clock: { self.now.withLock { $0 } },
                             sampler: { groups in self.processes.withLock { $0.filter { groups.contains($0.processGroup) } } })
  }
}

/// CPU ticks for `seconds` of CPU time.
private func ticks(_ seconds: Double) -> UInt64 { UInt64(seconds * Double(ProcFS.ticksPerSecond)) }
private func process(_ pid: Int32, group: Int32, cpu: Double, rssMiB: UInt64, start: UInt64 = 1) -> ProcessSample {
  ProcessSample(pid: pid, processGroup: group, cpuTicks: ticks(cpu), startTicks: start, residentBytes: rssMiB << 20)
}
private func pod(_ namespace: String, _ name: String) -> JSONValue { ["metadata": ["namespace": .string(namespace), "name": .string(name)]] }
private func node(_ name: String) -> JSONValue { ["metadata": ["name": .string(name)]] }
private let mib: UInt64 = 1 << 20

@Suite("kubectl top figures (EdgeSim's metrics-server)")
struct ResourceMetricsTests {
  @Test("a /proc stat line is read from after the command name, which may hold spaces and parentheses")
  func statLine() throws {
    let line = "4242 (python3 -c (x) ) S 1 4242 4242 0 -1 4194560 2000 0 0 0 150 30 7 3 20 0 1 0 987654 200000000 51200 184467 1 1 0 0 0"
    let stat = try #require(ProcFS.parseStat(line))
    #expect(stat.pid == 4242 && stat.processGroup == 4242 && stat.cpuTicks == 180 && stat.startTicks == 987654)
    #expect(ProcFS.parseStat("garbage") == nil)
    #expect(ProcFS.parseStat("12 (short) S 1 2") == nil)
    #expect(ProcFS.residentBytes(status: "Name:\tpython3\nVmPeak:\t  300000 kB\nVmRSS:\t  204800 kB\nThreads:\t1\n") == 200 * mib)
    #expect(ProcFS.residentBytes(status: "Name:\tkworker/0:1\nThreads:\t1\n") == nil)
  }

  @Test("this test process is found in its own process group with a resident set")
  func readsTheRealProc() throws {
    let samples = ProcFS.samples(inGroups: [getpgrp()])
    let me = try #require(samples.first { $0.pid == getpid() })
    #expect(me.residentBytes > mib && me.processGroup == getpgrp())
  }

  @Test("a node's OS memory is MemTotal minus MemAvailable of its /proc/meminfo, 0 without one")
  func baseline() {
    #expect(ResourceMetricsCollector.baseline(meminfo: "MemTotal:       7950940 kB\nMemFree:        5830112 kB\nMemAvailable:   6710400 kB\n")
            == (7_950_940 - 6_710_400) * 1024)
    #expect(ResourceMetricsCollector.baseline(meminfo: "MemTotal: 100 kB\n") == 0)
    #expect(ResourceMetricsCollector.baseline(meminfo: nil) == 0)
  }

  @Test("a container shows after two scrapes: its process group's CPU rate over the window and its resident memory")
  func containerUsage() throws {
    let host = FakeHost()
    let collector = host.collector()
    let started = host.now.withLock { $0 }.addingTimeInterval(-60)
    collector.started(.init(podUID: "u1", container: "grow"), .init(pod: PodName(namespace: "default", name: "hog"), node: "orin-0", pid: 100,
                                                                     startTime: started))
    host.set([process(100, group: 100, cpu: 2, rssMiB: 50), process(101, group: 100, cpu: 1, rssMiB: 150), process(7, group: 7, cpu: 99, rssMiB: 999)])
    collector.scrape()
    #expect(collector.podMetrics(pod: pod("default", "hog")) == nil)
    #expect(collector.nodeMetrics(node: node("orin-0")) == nil)
    host.advance(15)
    host.set([process(100, group: 100, cpu: 5, rssMiB: 50), process(101, group: 100, cpu: 1.5, rssMiB: 250), process(7, group: 7, cpu: 200, rssMiB: 999)])
    collector.scrape()
    let usage = try #require(collector.podMetrics(pod: pod("default", "hog")))
    // (5 + 1.5) − (2 + 1) = 3.5 s of CPU in 15 s; 50 + 250 MiB resident. The other group is not counted.
    #expect(usage.containers == [PodUsage.Container(name: "grow", cpuNanoCores: 233_333_333, memoryBytes: 300 * mib)])
    let scraped = host.now.withLock { $0 }
    #expect(usage.window == .seconds(15) && usage.timestamp == scraped)
    let orin = try #require(collector.nodeMetrics(node: node("orin-0")))
    #expect(orin.cpuNanoCores == 233_333_333 && orin.memoryBytes == (1 << 30) + 300 * mib)
    // A node with nothing running still reports its operating system's memory.
    #expect(collector.nodeMetrics(node: node("nano-0")) == ResourceUsage(cpuNanoCores: 0, memoryBytes: 1 << 29,
                                                                          timestamp: usage.timestamp, window: .seconds(15)))
  }

  @Test("CPU used by a process of the container that has ended still counts: the counter never goes down")
  func endedProcessesKeepTheirCPU() throws {
    let host = FakeHost()
    let collector = host.collector()
    collector.started(.init(podUID: "u1", container: "main"), .init(pod: PodName(namespace: "default", name: "job"), node: "orin-0", pid: 100,
                                                                     startTime: Date(timeIntervalSince1970: 0)))
    host.set([process(100, group: 100, cpu: 1, rssMiB: 10), process(101, group: 100, cpu: 4, rssMiB: 10)])
    collector.scrape()
    host.advance(10)
    host.set([process(100, group: 100, cpu: 2, rssMiB: 10)])
    collector.scrape()
    let usage = try #require(collector.podMetrics(pod: pod("default", "job")))
    #expect(usage.containers.first?.cpuNanoCores == 100_000_000)
    #expect(usage.containers.first?.memoryBytes == 10 * mib)
  }

  @Test("a pod with no process (a simulated container) and a stopped container are left out")
  func omitted() {
    let host = FakeHost()
    let collector = host.collector()
    let key = ResourceMetricsCollector.ContainerKey(podUID: "u1", container: "main")
    collector.started(key, .init(pod: PodName(namespace: "default", name: "short"), node: "orin-0", pid: 100, startTime: Date(timeIntervalSince1970: 0)))
    host.set([process(100, group: 100, cpu: 1, rssMiB: 10)])
    for _ in 0..<2 { collector.scrape(); host.advance(15) }
    #expect(collector.podMetrics(pod: pod("default", "short")) != nil)
    #expect(collector.podMetrics(pod: pod("vision", "triton")) == nil)
    collector.stopped(key)
    collector.scrape()
    #expect(collector.podMetrics(pod: pod("default", "short")) == nil)
  }

  @Test("a failed node's kubelet cannot be scraped: its node and pods are left out until it recovers")
  func unreachableNode() {
    let host = FakeHost()
    let collector = host.collector()
    collector.started(.init(podUID: "u1", container: "main"), .init(pod: PodName(namespace: "default", name: "p"), node: "orin-0", pid: 100,
                                                                     startTime: Date(timeIntervalSince1970: 0)))
    host.set([process(100, group: 100, cpu: 1, rssMiB: 10)])
    for _ in 0..<2 { collector.scrape(); host.advance(15) }
    collector.setReachable("orin-0", false)
    collector.scrape()
    #expect(collector.nodeMetrics(node: node("orin-0")) == nil)
    #expect(collector.podMetrics(pod: pod("default", "p")) == nil)
    #expect(collector.nodeMetrics(node: node("nano-0")) != nil)
    collector.setReachable("orin-0", true)
    for _ in 0..<2 { host.advance(15); collector.scrape() }
    #expect(collector.nodeMetrics(node: node("orin-0")) != nil)
  }

  @Test("a restarted container starts over; a container younger than the resolution but 10 s old shows after one scrape")
  func restartsAndFreshContainers() throws {
    var storage = MetricsStorage(resolution: .seconds(60))
    let t0 = Date(timeIntervalSince1970: 1_000)
    let pod = PodName(namespace: "default", name: "p")
    func point(start: Date, at t: Date, cpu: UInt64) -> MetricsPoint {
      MetricsPoint(startTime: start, timestamp: t, cumulativeCPUNanoseconds: cpu, memoryBytes: 1)
    }
    // 30 s old at its first scrape, under the 60 s resolution: paired with its start.
    storage.store(MetricsBatch(pods: [pod: ["c": point(start: t0, at: t0 + 30, cpu: 3_000_000_000)]]))
    let fresh = try #require(storage.pod(pod))
    #expect(fresh.containers.first?.cpuNanoCores == 100_000_000 && fresh.window == .seconds(30))
    // 5 s old: too close to its start to be precise, so nothing until a second scrape.
    storage.store(MetricsBatch(pods: [pod: ["c": point(start: t0 + 100, at: t0 + 105, cpu: 1)]]))
    #expect(storage.pod(pod) == nil)
    storage.store(MetricsBatch(pods: [pod: ["c": point(start: t0 + 100, at: t0 + 165, cpu: 6_000_000_001)]]))
    #expect(storage.pod(pod)?.containers.first?.cpuNanoCores == 100_000_000)
    // Restarted (a later start time than the stored point): starts over.
    storage.store(MetricsBatch(pods: [pod: ["c": point(start: t0 + 200, at: t0 + 300, cpu: 1)]]))
    #expect(storage.pod(pod) == nil)
  }

  @Test("a pod is reported only once every running container has two points")
  func wholePods() {
    var storage = MetricsStorage(resolution: .seconds(15))
    let pod = PodName(namespace: "default", name: "p")
    let start = Date(timeIntervalSince1970: 0), t1 = Date(timeIntervalSince1970: 1_000), t2 = t1.addingTimeInterval(15)
    let a = { (t: Date) in MetricsPoint(startTime: start, timestamp: t, cumulativeCPUNanoseconds: UInt64(t.timeIntervalSince1970), memoryBytes: 1) }
    storage.store(MetricsBatch(pods: [pod: ["a": a(t1)]]))
    storage.store(MetricsBatch(pods: [pod: ["a": a(t2), "b": MetricsPoint(startTime: t1.addingTimeInterval(-100), timestamp: t2,
                                                                          cumulativeCPUNanoseconds: 5, memoryBytes: 1)]]))
    #expect(storage.pod(pod) == nil)
    storage.store(MetricsBatch(pods: [pod: ["a": a(t2 + 15), "b": MetricsPoint(startTime: t1.addingTimeInterval(-100), timestamp: t2 + 15,
                                                                               cumulativeCPUNanoseconds: 6, memoryBytes: 1)]]))
    #expect(storage.pod(pod)?.containers.map(\.name) == ["a", "b"])
  }
}
