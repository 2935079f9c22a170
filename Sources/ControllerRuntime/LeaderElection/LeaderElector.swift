#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import KubeClient
import KubeCore
import Logging
import Metrics

/// Leader election on a `coordination.k8s.io/v1` Lease, as client-go's leaderelection package does
/// it (k8s.io/client-go/tools/leaderelection/leaderelection.go): acquire when the lease is free or
/// expired, renew every `retryPeriod`, give up leadership when renewals fail for `renewDeadline`,
/// and release the lease on clean shutdown so a successor need not wait for it to expire.
public struct LeaderElector: Sendable {
  public var leaseDuration: Duration = .seconds(15)
  public var renewDeadline: Duration = .seconds(10)
  public var retryPeriod: Duration = .seconds(2)
  public let client: KubeClient
  public let namespace: String
  public let name: String
  public let identity: String
  public let logger: Logger
  /// What renewals wait on and lease times are read from.
  public var clock: any ControllerClock = SystemClock()

  public init(client: KubeClient, namespace: String, name: String, identity: String, logger: Logger) {
    self.client = client
    self.namespace = namespace
    self.name = name
    self.identity = identity
    self.logger = logger
  }

  /// Waits to become leader, runs `whileLeading` until `stop` returns, the work ends or leadership
  /// is lost, then releases the lease. `stop` (graceful shutdown) ends the wait for leadership too.
  ///
  /// Call it from a task that is not cancelled on shutdown (signal with `stop` instead), so the
  /// release request can still be sent.
  public func run(whileLeading: @escaping @Sendable () async throws -> Void,
                  until stop: @escaping @Sendable () async -> Void) async throws {
    let acquired: Bool = try await withThrowingTaskGroup(of: Bool.self) { group in
      group.addTask {
        while !(try await tryAcquireOrRenew()) { try await clock.sleep(for: retryPeriod) }
        return true
      }
      group.addTask { await stop(); return false }
      let first = try await group.next() ?? false
      group.cancelAll()
      return first
    }
    guard acquired else { return }
    logger.info("Became leader", metadata: ["lease": "\(namespace)/\(name)", "identity": "\(identity)"])
    let isLeader = Gauge(label: "edgeml_leader_is_leader", dimensions: [("lease", name)])
    isLeader.record(1)
    defer { isLeader.record(0) }
    do {
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await whileLeading() }
        group.addTask { try await renewLoop() }
        group.addTask { await stop() }
        // Whichever ends first ends leadership: shutdown, the work stopping, or a missed renewal.
        _ = try await group.next()
        group.cancelAll()
      }
    } catch is CancellationError {
    } catch {
      logger.warning("Leadership ended", metadata: ["error": "\(error)"])
    }
    await release()
  }

  private func renewLoop() async throws {
    var lastRenew = clock.now
    while true {
      try await clock.sleep(for: retryPeriod)
      if (try? await tryAcquireOrRenew()) == true {
        lastRenew = clock.now
      } else if clock.now - lastRenew > renewDeadline {
        throw LeaderElectionError.lost(identity: identity)
      }
    }
  }

  func now() -> String { clock.microTime }

  /// One attempt; true when this identity holds the lease afterwards.
  func tryAcquireOrRenew() async throws -> Bool {
    let seconds = Int(leaseDuration.components.seconds)
    let existing: JSONValue
    do {
      existing = try await client.get(.leases, namespace: namespace, name: name)
    } catch let e as KubeAPIError where e.isNotFound {
      let lease: JSONValue = ["apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                              "metadata": ["name": .string(name), "namespace": .string(namespace)],
                              "spec": ["holderIdentity": .string(identity), "leaseDurationSeconds": JSONValue(seconds),
                                       "acquireTime": .string(now()), "renewTime": .string(now()),
                                       "leaseTransitions": 0]]
      do { _ = try await client.create(.leases, namespace: namespace, lease); return true }
      catch let e as KubeAPIError where e.isAlreadyExists { return false }
    }
    let holder = existing[path: ["spec", "holderIdentity"]]?.stringValue ?? ""
    if !holder.isEmpty && holder != identity {
      let renew = existing[path: ["spec", "renewTime"]]?.stringValue.flatMap { try? Timestamp(rfc3339: $0) }
      let duration = existing[path: ["spec", "leaseDurationSeconds"]]?.intValue ?? seconds
      if let renew, Double(renew.secondsSinceEpoch) + Double(renew.nanoseconds) / 1e9 + Double(duration) > clock.wallTime.timeIntervalSince1970 {
        return false   // someone else holds a live lease
      }
    }
    var updated = existing
    let transitions = existing[path: ["spec", "leaseTransitions"]]?.intValue ?? 0
    if holder != identity {
      updated[path: ["spec", "acquireTime"]] = .string(now())
      // client-go leaderelection.go `tryAcquireOrRenew`: every acquisition by a candidate that did
      // not hold the lease counts one transition, a released lease (empty holder) included.
      updated[path: ["spec", "leaseTransitions"]] = JSONValue(transitions + 1)
    }
    updated[path: ["spec", "holderIdentity"]] = .string(identity)
    updated[path: ["spec", "leaseDurationSeconds"]] = JSONValue(seconds)
    updated[path: ["spec", "renewTime"]] = .string(now())
    do { _ = try await client.update(.leases, namespace: namespace, updated); return true }
    catch let e as KubeAPIError where e.isConflict { return false }   // another candidate won the race
  }

  /// Gives the lease up: empty holder, so the next candidate acquires at once.
  func release() async {
    guard var lease = try? await client.get(.leases, namespace: namespace, name: name),
          lease[path: ["spec", "holderIdentity"]]?.stringValue == identity else { return }
    lease[path: ["spec", "holderIdentity"]] = nil
    lease[path: ["spec", "leaseDurationSeconds"]] = 1
    lease[path: ["spec", "renewTime"]] = .string(now())
    _ = try? await client.update(.leases, namespace: namespace, lease)
    logger.info("Released leadership", metadata: ["lease": "\(namespace)/\(name)"])
  }
}

public enum LeaderElectionError: Error, CustomStringConvertible {
  case lost(identity: String)
  public var description: String {
    switch self { case .lost(let id): return "\(id) could not renew its lease before the renew deadline" }
  }
}
