import Foundation
import KubeCore
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The feature values of one advance's requests, gathered per pod with a drift agent and posted
/// after it as `POST /v1/observations` batches (docs/drift-agent.md).
struct FeatureSink {
  struct Batch {
    var pod: ObjectKey
    var host: String
    var port: Int
    var features: [DriftSidecar.Feature]
    var numbers: [[Double]]
    var strings: [[String]]
    var rows = 0
  }

  let distributions: [FeatureDistribution]
  /// Swift's, then the ConfigMap's: searched from the end, so the latest command wins.
  let drifts: [FeatureDrift]
  private(set) var batches: [ObjectKey: Batch] = [:]

  init(distributions: [FeatureDistribution], drifts: [FeatureDrift]) {
    self.distributions = distributions
    self.drifts = drifts
  }

  /// Adds one request's values for the pod's drift agent.
  mutating func record(pod: ObjectKey, host: String, sidecar: DriftSidecar, model: String, nodeLabels: [String: String], draws: RequestDraws) {
    var batch = batches[pod] ?? Batch(pod: pod, host: host, port: sidecar.port, features: sidecar.features,
                                      numbers: sidecar.features.map { _ in [] }, strings: sidecar.features.map { _ in [] })
    for (i, feature) in sidecar.features.enumerated() {
      let distribution = distributions.last { $0.model == model && $0.feature == feature.name && ($0.namespace ?? pod.namespace) == pod.namespace }
        ?? .default(model: model, feature: feature.name)
      let drift = drifts.last { $0.matches(namespace: pod.namespace, model: model, feature: feature.name, nodeLabels: nodeLabels) }
      let slot = FeatureSampler.slot(feature.name)
      if feature.numerical {
        batch.numbers[i].append(FeatureSampler.number(distribution, drift: drift, draws: draws, slot: slot))
      } else {
        batch.strings[i].append(FeatureSampler.category(distribution, drift: drift, draws: draws, slot: slot))
      }
    }
    batch.rows += 1
    batches[pod] = batch
  }

  /// The bodies to post, at most `rowsPerBody` rows each, in pod order.
  func bodies(rowsPerBody: Int = 1_000) -> [FeaturePoster.Post] {
    var out: [FeaturePoster.Post] = []
    for (_, batch) in batches.sorted(by: { $0.key.name < $1.key.name }) {
      var start = 0
      while start < batch.rows {
        let end = min(batch.rows, start + rowsPerBody)
        var text = "{\"features\":{"
        for (i, feature) in batch.features.enumerated() {
          if i > 0 { text += "," }
          text += Self.quoted(feature.name) + ":["
          if feature.numerical {
            text += batch.numbers[i][start..<end].map { "\($0)" }.joined(separator: ",")
          } else {
            text += batch.strings[i][start..<end].map(Self.quoted).joined(separator: ",")
          }
          text += "]"
        }
        text += "}}"
        out.append(FeaturePoster.Post(pod: batch.pod, host: batch.host, port: batch.port, body: Array(text.utf8), rows: end - start))
        start = end
      }
    }
    return out
  }

  static func quoted(_ s: String) -> String { JSONValue.string(s).serializedString() }
}

/// Posts feature batches to the drift agents, one at a time in the order given, off the traffic
/// engine's lock. A batch the agent does not accept (not listening yet, 4xx) is counted and dropped,
/// as a client that cannot reach its sidecar loses those observations.
final class FeaturePoster: Sendable {
  struct Post: Sendable {
    var pod: ObjectKey
    var host: String
    var port: Int
    var body: [UInt8]
    var rows: Int
  }

  struct Counts: Sendable, Equatable {
    var sentRows = 0
    var failedBatches = 0
    var queued = 0
  }

  private let stream: AsyncStream<Post>
  private let continuation: AsyncStream<Post>.Continuation
  private let counts = Mutex(Counts())
  private let group: EventLoopGroup

  init(group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
    self.group = group
    let (stream, continuation) = AsyncStream.makeStream(of: Post.self)
    self.stream = stream
    self.continuation = continuation
  }

  /// Most batches waiting to be sent; beyond it new ones are dropped (counted as failed), so agents
  /// slower than the simulated clients cannot grow the queue without bound.
  static let maximumQueued = 1_000

  func enqueue(_ posts: [Post]) {
    guard !posts.isEmpty else { return }
    let accepted = counts.withLock { c -> Int in
      let room = max(0, Self.maximumQueued - c.queued)
      let n = min(room, posts.count)
      c.queued += n
      c.failedBatches += posts.count - n
      return n
    }
    for p in posts.prefix(accepted) { continuation.yield(p) }
  }

  var snapshot: Counts { counts.withLock { $0 } }

  /// Sends until cancelled.
  func run() async {
    await withTaskCancellationHandler {
      for await post in stream {
        let status = try? await LoopbackHTTP.request(group: group, host: post.host, port: post.port, method: .POST,
                                                     path: "/v1/observations", body: post.body)
        counts.withLock { c in
          c.queued -= 1
          if status == 202 { c.sentRows += post.rows } else { c.failedBatches += 1 }
        }
      }
    } onCancel: {
      continuation.finish()
    }
  }
}
