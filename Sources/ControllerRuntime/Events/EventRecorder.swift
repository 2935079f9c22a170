#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import KubeClient
import KubeCore

/// Records `events.k8s.io/v1` Events about objects, aggregating repeats so a failing object does not
/// flood the API server.
///
/// As upstream's events recorder (k8s.io/client-go/tools/events/event_broadcaster.go), an event
/// identical to one seen in the last `seriesWindow` (same object, type, reason, action, note) joins
/// its series instead of creating a new Event; the series count is written at most once per
/// `seriesUpdateInterval`, so a hot failure costs one write per interval, not one per occurrence.
///
/// *In the background.* While `deliver()` runs (the `Manager` runs it beside its controllers),
/// `record` only queues the Event and returns, and one task writes the queue in order, as
/// client-go's broadcaster hands Events to its sink goroutine: a reconcile never waits for an
/// Event's round trip, so its worker is free for the next key. The queue holds
/// `maximumQueued` Events (client-go tools/events `maxQueuedEvents` = 1000); what arrives when it is
/// full is dropped and counted (`dropped`), as the broadcaster's `DropIfChannelFull`. Without
/// `deliver()` running, `record` writes before it returns.
public actor EventRecorder {
  public let client: KubeClient
  public let reportingController: String
  public let reportingInstance: String
  public var seriesWindow: Duration = .seconds(6 * 60)
  public var seriesUpdateInterval: Duration = .seconds(30)
  /// Series remembered at most (client-go tools/record/events_cache.go keeps an LRU cache of 4096).
  public let maximumSeries: Int

  private struct Series {
    var eventName: String
    var namespace: String
    var count: Int
    var writtenCount: Int
    var firstSeen: ContinuousClock.Instant
    var lastSeen: ContinuousClock.Instant
    var lastWritten: ContinuousClock.Instant
  }
  private var series: [String: Series] = [:]
  /// The nanosecond stamp of the last Event name made: names take the next one when the clock has
  /// not moved, so two Events about one object in one reconcile both get written.
  private var lastStamp: UInt64 = 0
  public private(set) var writes = 0
  /// Series remembered now (at most `maximumSeries`).
  public var rememberedSeries: Int { series.count }

  /// What series windows and Event times are read from.
  public let clock: any ControllerClock

  /// Events waiting for the background writer at most (client-go tools/events/event_broadcaster.go:
  /// `maxQueuedEvents = 1000`).
  public static let maximumQueued = 1000
  /// An occurrence, with the times it happened at (taken when recorded, not when written).
  private struct Pending: Sendable {
    var object: JSONValue, type: String, reason: String, action: String, note: String
    var now: ContinuousClock.Instant, microTime: String, nameStamp: UInt64
  }
  /// Events written at once by the background writer: one would cap Events at one per round trip
  /// (about 200 a second while a simulated cluster of 1,000 models starts, which then overflowed
  /// the queue); the order of Events stays the order recorded, by their times and names.
  public static let concurrentWrites = 4
  private var queue: AsyncStream<Pending>.Continuation?
  /// Events dropped because the background queue was full.
  public private(set) var dropped = 0
  /// Whether `deliver()` runs (and `record` only queues).
  public var isDelivering: Bool { queue != nil }

  public init(client: KubeClient, reportingController: String, reportingInstance: String, maximumSeries: Int = 4096,
              clock: any ControllerClock = SystemClock()) {
    self.client = client
    self.clock = clock
    self.maximumSeries = max(4, maximumSeries)
    self.reportingController = reportingController
    self.reportingInstance = reportingInstance
  }

  public func setIntervals(window: Duration, update: Duration) {
    seriesWindow = window
    seriesUpdateInterval = update
  }

  /// Records an event about `object` (which needs apiVersion, kind and metadata name/namespace/uid):
  /// queued for the background writer while `deliver()` runs, written before returning otherwise.
  /// Failures are swallowed: events are best effort, as upstream's.
  public func record(regarding object: JSONValue, type: String, reason: String, action: String, note: String) async {
    // `<name>.<unix nanoseconds in hex>`, as client-go names them (tools/events/event_recorder.go);
    // a clock that did not move since the last name (a coarse or a test clock) would repeat a name,
    // and the create of the second Event would fail with AlreadyExists. Taken now, so names follow
    // the order Events were recorded in, however the writers finish.
    lastStamp = max(UInt64(clock.wallTime.timeIntervalSince1970 * 1e9), lastStamp &+ 1)
    let p = Pending(object: object, type: type, reason: reason, action: action, note: note,
                    now: clock.now, microTime: clock.microTime, nameStamp: lastStamp)
    if let queue {
      if case .dropped = queue.yield(p) { dropped += 1 }
      return
    }
    await write(p)
  }

  /// Writes queued Events (`concurrentWrites` at a time) until the task is cancelled; `record`
  /// queues while this runs. What is still queued at cancellation is not written (the process is
  /// stopping or has lost its lease).
  public func deliver() async {
    let (stream, continuation) = AsyncStream.makeStream(of: Pending.self, bufferingPolicy: .bufferingOldest(Self.maximumQueued))
    queue = continuation
    await withTaskGroup(of: Void.self) { writers in
      var writing = 0
      for await p in stream {
        // A cancelled stream still hands out what it buffered: stop here instead.
        if Task.isCancelled { break }
        if writing == Self.concurrentWrites {
          await writers.next()
          writing -= 1
        }
        writers.addTask { await self.write(p) }
        writing += 1
      }
    }
    queue = nil
    continuation.finish()
  }

  private func write(_ p: Pending) async {
    let (object, type, reason, action, note, now) = (p.object, p.type, p.reason, p.action, p.note, p.now)
    let meta = object["metadata"] ?? [:]
    let namespace = meta["namespace"]?.stringValue ?? "default"
    let uid = meta["uid"]?.stringValue ?? ""
    let key = [uid, type, reason, action, note].joined(separator: "\u{1}")
    if var s = series[key], now - s.firstSeen < seriesWindow || now - s.lastSeen < seriesWindow {
      s.count += 1
      s.lastSeen = now
      if now - s.lastWritten >= seriesUpdateInterval {
        let patch: JSONValue = ["series": ["count": JSONValue(s.count), "lastObservedTime": .string(p.microTime)]]
        if (try? await client.patch(.events, namespace: s.namespace, name: s.eventName, patch, type: .merge, projection: .nothing)) != nil {
          s.writtenCount = s.count
          s.lastWritten = now
          writes += 1
        }
      }
      series[key] = s
      return
    }
    let name = "\(meta["name"]?.stringValue ?? "object").\(String(p.nameStamp, radix: 16))"
    let event: JSONValue = [
      "apiVersion": "events.k8s.io/v1", "kind": "Event",
      "metadata": ["name": .string(name), "namespace": .string(namespace)],
      "eventTime": .string(p.microTime),
      "reportingController": .string(reportingController), "reportingInstance": .string(reportingInstance),
      "action": .string(action), "reason": .string(reason), "type": .string(type), "note": .string(String(note.prefix(1024))),
      "regarding": ["apiVersion": object["apiVersion"] ?? "", "kind": object["kind"] ?? "", "name": meta["name"] ?? "",
                    "namespace": meta["namespace"] ?? "", "uid": meta["uid"] ?? "", "resourceVersion": meta["resourceVersion"] ?? ""],
    ]
    if (try? await client.create(.events, namespace: namespace, event, projection: .nothing)) != nil {
      writes += 1
      series[key] = Series(eventName: name, namespace: namespace, count: 1, writtenCount: 1, firstSeen: now, lastSeen: now, lastWritten: now)
    }
    if series.count > maximumSeries { forgetOldSeries(now: now) }
  }

  /// Forgets series that ended long ago, and if that is not enough, the least recently seen down to
  /// three quarters of the bound, so a busy operator (a thousand models starting) prunes once per
  /// thousand new Events instead of scanning the map for every one.
  private func forgetOldSeries(now: ContinuousClock.Instant) {
    series = series.filter { now - $0.value.lastSeen < seriesWindow }
    let keep = maximumSeries * 3 / 4
    guard series.count > keep else { return }
    let recent = series.sorted { $0.value.lastSeen > $1.value.lastSeen }.prefix(keep)
    series = Dictionary(uniqueKeysWithValues: recent.map { ($0.key, $0.value) })
  }
}
