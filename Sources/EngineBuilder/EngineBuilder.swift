import Foundation
import KubeClient
import KubeCore
import Logging

/// The init-container program: puts one TensorRT engine in place for one EdgeModel on one node.
///
/// `run()` does, in order (docs/edgemodel-contracts.md §2):
/// 1. checks the request (`InvalidArguments`);
/// 2. returns a cache hit straight away when `<cache-dir>/<key hex>.plan` and its record exist;
/// 3. otherwise takes the key's exclusive lock, looks again (another pod may have just built it), and builds:
///    fetch the model by its URI's scheme (`FetchFailed`), check its SHA-256 against
///    `--model-digest` or the digest the source pins (`DigestMismatch`), check the Ed25519 signature
///    over the fetched bytes (`SignatureInvalid`), decrypt AES-256-GCM (`DecryptionFailed`), fetch and
///    check the INT8 calibration cache, ask `trtexec --help` for its TensorRT release, run `trtexec`
///    with that release's flags (`BuildFailed`), and commit plan and record to the cache;
///    a `tensorrt-plan` model skips the build and is cached as fetched;
/// 4. applies the acceptance gate to trtexec's measured latency and throughput (`AcceptanceFailed`);
/// 5. lays the plan out for Triton or plainly, and writes the result JSON to `--termination-log`.
///
/// *Guarantees*: two builders of one key on one node build once; the second reports a cache hit.
/// No key material, token or presigned-URL query reaches the logger or the result.
public struct EngineBuilder: Sendable {
  public var request: EngineBuildRequest
  public var environment: [String: String]
  public var registry: FetcherRegistry
  public var logger: Logger
  /// Copy trtexec's output to this process's stderr (the init container's log).
  public var echoTrtexecOutput = true

  public init(request: EngineBuildRequest, environment: [String: String] = ProcessInfo.processInfo.environment,
              registry: FetcherRegistry = .standard, logger: Logger) {
    self.request = request
    self.environment = environment
    self.registry = registry
    self.logger = logger
  }

  /// Builds or reuses the engine, writes the termination message, and says what happened.
  public func run() async -> EngineBuildResult {
    var logger = self.logger
    logger[metadataKey: "engine.key"] = "\(request.key)"
    let result: EngineBuildResult
    do throws(EngineBuildError) {
      try request.validate()
      result = EngineBuildResult(key: request.key, outcome: .built(try await placeEngine(logger: logger)))
    } catch {
      logger.error("Engine not in place", metadata: ["engine.reason": "\(error.reason.rawValue)", "engine.message": "\(error.message)"])
      result = EngineBuildResult(key: request.key, outcome: .failed(error))
    }
    // Stopped by a signal meanwhile: its handler reports that and exits; this result must not.
    await BuildInterruption.parkIfInterrupted()
    if let path = request.terminationLogPath {
      do { try result.writeTerminationMessage(to: path) } catch {
        // The kubelet would report a success with no result, and the operator could not tell what
        // was built: exit non-zero instead, so the failure is seen where the pod is.
        logger.error("Cannot write the termination message", metadata: ["file.path": "\(path)", "error": "\(error.localizedDescription)"])
        return EngineBuildResult(key: request.key, outcome: .failed(EngineBuildError(
          .buildFailed, "cannot write the termination message to \(path): \(error.localizedDescription)")))
      }
    }
    return result
  }

  private func placeEngine(logger: Logger) async throws(EngineBuildError) -> EngineBuildResult.Engine {
    let cache = EngineCache(directory: request.cacheDirectory, keyHex: request.keyHex)
    do { try FileManager.default.createDirectory(atPath: cache.directory, withIntermediateDirectories: true) } catch {
      throw EngineBuildError(.buildFailed, "cannot create the cache directory \(cache.directory): \(error.localizedDescription)")
    }
    // A hit lays the plan out under the key's shared lock, so the node agent cannot remove it
    // meanwhile (it evicts only what it can lock exclusively without waiting).
    let hit: Result<EngineBuildResult.Engine, EngineBuildError>?
    do {
      hit = try await cache.withLock(shared: true) { () async -> Result<EngineBuildResult.Engine, EngineBuildError>? in
        guard let record = cache.lookup() else { return nil }
        logger.info("Engine cache hit", metadata: ["engine.buildSeconds": "\(record.buildSeconds)"])
        do throws(EngineBuildError) {
          return .success(try await accept(record, cache: cache, cacheHit: true, source: "node", logger: logger))
        } catch {
          return .failure(error)
        }
      }
    } catch {
      throw EngineBuildError(.buildFailed, "cannot lock \(cache.lockPath): \(error.localizedDescription)")
    }
    if let hit { return try hit.get() }
    // With a shared cache the group's builders serialise there: the first builds and publishes,
    // the others wait and copy. Without one, this node's builders serialise on the node cache.
    let shared = request.sharedCacheDirectory.map { EngineCache(directory: $0, keyHex: request.keyHex) }
    if let shared {
      do { try FileManager.default.createDirectory(atPath: shared.directory, withIntermediateDirectories: true) } catch {
        throw EngineBuildError(.buildFailed, "cannot create the shared cache directory \(shared.directory): \(error.localizedDescription)")
      }
    }
    let lockHolder = shared ?? cache
    do {
      // The plan is laid out before the lock is let go, so the node agent cannot remove it between
      // the commit and the copy into this pod's model repository.
      return try await lockHolder.withLock { () async throws -> Result<EngineBuildResult.Engine, EngineBuildError> in
        // With a shared cache, the node cache's own lock too (always in this order), so the node
        // agent never removes the entry this build writes into the node cache.
        guard shared == nil else {
          return try await cache.withLock { await placeUnderLock(cache: cache, shared: shared, logger: logger) }
        }
        return await placeUnderLock(cache: cache, shared: shared, logger: logger)
      }.get()
    } catch let error as EngineBuildError {
      throw error
    } catch {
      throw EngineBuildError(.buildFailed, "cannot lock \(lockHolder.lockPath): \(error.localizedDescription)")
    }
  }

  /// Looks again (another pod may have built the key while this one waited), then copies from the
  /// shared cache or builds; runs under the key's exclusive lock.
  private func placeUnderLock(cache: EngineCache, shared: EngineCache?, logger: Logger) async -> Result<EngineBuildResult.Engine, EngineBuildError> {
    do throws(EngineBuildError) {
      let record: EngineRecord, source: String
      if let found = cache.lookup() {
        (record, source) = (found, "node")   // built while we waited
      } else if let shared, let found = shared.lookup() {
        try EngineBuilder.copy(found, from: shared, to: cache)
        (record, source) = (found, "shared")
      } else {
        record = try await build(into: cache, logger: logger)
        if let shared { try EngineBuilder.copy(record, from: cache, to: shared) }
        source = "none"
      }
      if source != "none" { logger.info("Engine taken from a cache", metadata: ["engine.cacheSource": "\(source)"]) }
      return .success(try await accept(record, cache: cache, cacheHit: source != "none", source: source, logger: logger))
    } catch {
      return .failure(error)
    }
  }

  /// Copies a committed entry between caches (the plan through a temporary file in the
  /// destination directory, then renamed), so a reader never sees half a plan.
  static func copy(_ record: EngineRecord, from source: EngineCache, to destination: EngineCache) throws(EngineBuildError) {
    let temporary = "\(destination.directory)/.\(destination.keyHex).plan.copy.\(ProcessInfo.processInfo.processIdentifier).\(UInt32.random(in: 0...UInt32.max))"
    BuildInterruption.track(path: temporary)
    defer { BuildInterruption.untrack(path: temporary) }
    do {
      try FileWrite.copy(from: source.planPath, to: temporary, durable: true)
      try destination.commit(plan: temporary, record: record, synced: true)
    } catch {
      try? FileManager.default.removeItem(atPath: temporary)
      throw EngineBuildError(.buildFailed, "cannot copy the engine from \(source.directory) to \(destination.directory): \(error.localizedDescription)")
    }
  }

  /// Gate, then layout. A plan that fails the gate stays cached (it is a correct plan; a later,
  /// looser gate may take it) but is not laid out for serving.
  private func accept(_ record: EngineRecord, cache: EngineCache, cacheHit: Bool, source: String, logger: Logger) async throws(EngineBuildError) -> EngineBuildResult.Engine {
    var latency = record.latencyMs
    var throughput = record.throughputQPS
    if request.hasAcceptanceGate && (latency == nil || throughput == nil) {
      (latency, throughput) = try await measure(plan: cache.planPath, cache: cache)
    }
    if let max = request.maxLatencyMs, let latency, latency > max {
      throw EngineBuildError(.acceptanceFailed, "trtexec mean latency \(latency) ms is above the maximum \(max) ms")
    }
    if let min = request.minThroughputQPS, let throughput, throughput < min {
      throw EngineBuildError(.acceptanceFailed, "trtexec throughput \(throughput) qps is below the minimum \(min) qps")
    }
    do { try ModelRepositoryLayout.install(plan: cache.planPath, request: request) } catch {
      throw EngineBuildError(.buildFailed, "cannot lay out the plan in \(request.outputDirectory): \(error.localizedDescription)")
    }
    cache.markUsed()
    logger.info("Engine in place", metadata: ["engine.cacheHit": "\(cacheHit)", "engine.sizeBytes": "\(record.sizeBytes)"])
    return EngineBuildResult.Engine(cacheHit: cacheHit, cacheSource: source, buildSeconds: record.buildSeconds, sizeBytes: record.sizeBytes,
                                    tensorrt: record.tensorrt, latencyMs: latency, throughputQPS: throughput)
  }

  /// Times a plan that was built without timing (or came prebuilt): `trtexec --loadEngine`, which
  /// also proves the plan deserializes on this node.
  private func measure(plan: String, cache: EngineCache) async throws(EngineBuildError) -> (Double?, Double?) {
    let work = try WorkDirectory(in: cache.directory, keyHex: cache.keyHex, purpose: .measure)
    defer { work.remove() }
    let run = try await runner.run(["--loadEngine=\(plan)"], log: work.path("trtexec-load.log"), echo: echoTrtexecOutput)
    guard run.status == 0 else { throw trtexecFailed(run) }
    guard let perf = TrtexecOutput.performance(in: run.output) else {
      throw EngineBuildError(.buildFailed, "trtexec --loadEngine printed no performance summary")
    }
    return (perf.latencyMs, perf.throughputQPS)
  }

  private var runner: TrtexecRunner { TrtexecRunner(executable: request.trtexecPath, environment: environment) }

  private func trtexecFailed(_ run: TrtexecRunner.Run) -> EngineBuildError {
    let errors = TrtexecOutput.errors(in: run.output).suffix(6).joined(separator: "; ")
    return EngineBuildError(.buildFailed, "trtexec exited \(run.status)" + (errors.isEmpty ? "" : ": " + errors))
  }

  /// Fetches, verifies, builds and commits; runs under the key's lock.
  private func build(into cache: EngineCache, logger: Logger) async throws(EngineBuildError) -> EngineRecord {
    WorkDirectory.removeAbandonedBuilds(in: cache.directory, keyHex: cache.keyHex)
    let work = try WorkDirectory(in: cache.directory, keyHex: cache.keyHex, purpose: .build)
    defer { work.remove() }
    let source = try ArtifactSource(registry: registry, environment: environment, caFile: request.caFile,
                                    maxBytes: request.maxFetchBytes)
    defer { source.shutdown() }
    var modelPath = try await fetchVerifiedModel(from: source, into: work, logger: logger)
    let calibrationPath = try await fetchCalibration(from: source, into: work)

    let clock = ContinuousClock()
    let started = clock.now
    let planPath: String
    var release: TensorRTRelease? = nil
    var performance: (latencyMs: Double, throughputQPS: Double)? = nil
    switch request.modelFormat {
    case .tensorRTPlan:
      logger.info("Model is a prebuilt TensorRT plan; no build")
      planPath = modelPath
    case .onnx:
      let detected = try await runner.release(workDirectory: work.directory)
      release = detected
      planPath = work.path("engine.plan")
      let arguments = TrtexecArguments(modelPath: modelPath, enginePath: planPath, calibrationPath: calibrationPath,
                                       timingCachePath: cache.timingCachePath, measure: request.hasAcceptanceGate)
        .arguments(for: request, release: detected)
      logger.info("Building the engine with trtexec", metadata: ["engine.tensorrt": "\(detected)"])
      let run = try await runner.run(arguments, log: work.path("trtexec-build.log"), echo: echoTrtexecOutput)
      guard run.status == 0 else { throw trtexecFailed(run) }
      guard FileManager.default.fileExists(atPath: planPath) else {
        throw EngineBuildError(.buildFailed, "trtexec passed but wrote no engine at \(planPath)")
      }
      if request.hasAcceptanceGate {
        guard let perf = TrtexecOutput.performance(in: run.output) else {
          throw EngineBuildError(.buildFailed, "trtexec printed no performance summary to check the acceptance gate against")
        }
        performance = perf
      }
      modelPath = planPath
    }
    let elapsed = clock.now - started
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let size = FileWrite.size(of: planPath) ?? 0
    let record = EngineRecord(key: request.key, tensorrt: release?.description ?? "", precision: request.precision.rawValue,
                              buildSeconds: seconds, sizeBytes: size, latencyMs: performance?.latencyMs,
                              throughputQPS: performance?.throughputQPS, builtAt: Date().rfc3339,
                              source: request.modelFormat == .onnx ? "trtexec" : "prebuilt")
    do { try cache.commit(plan: planPath, record: record) } catch {
      throw EngineBuildError(.buildFailed, "cannot commit the plan to the cache: \(error.localizedDescription)")
    }
    logger.info("Engine committed to the cache", metadata: ["engine.buildSeconds": "\(seconds)", "engine.sizeBytes": "\(size)"])
    return record
  }

  /// The model as trtexec (or the cache, for a plan) should see it: digest, signature, decryption.
  private func fetchVerifiedModel(from source: ArtifactSource, into work: WorkDirectory, logger: Logger) async throws(EngineBuildError) -> String {
    let fetched = work.path("model.fetched")
    let artifact = try await source.fetch(request.modelURI, to: fetched)
    logger.info("Model fetched", metadata: ["model.uri": "\(URIText.redacted(request.modelURI))", "model.sizeBytes": "\(artifact.size)"])
    if let given = request.modelDigest, let pinned = artifact.pinnedDigest, given != pinned {
      throw EngineBuildError(.digestMismatch, "model digest \(pinned) pinned by the source does not match \(given)")
    }
    guard let expected = request.modelDigest ?? artifact.pinnedDigest else {
      throw EngineBuildError(.invalidArguments, "--model-digest is required: \(URIText.scheme(of: request.modelURI))://… pins no digest itself")
    }
    try FileDigest.verify(artifact.path, expected: expected, what: "model")
    if let signatureURI = request.signatureURI, let publicKeyFile = request.publicKeyFile {
      let signature = try await source.fetch(signatureURI, to: work.path("model.sig"))
      try SignatureVerifier.verify(model: artifact.path, signatureFile: signature.path, publicKeyFile: publicKeyFile)
      logger.info("Model signature verified")
    }
    guard let keyFile = request.encryptionKeyFile else { return artifact.path }
    let plain = work.path("model.decrypted")
    try ModelDecryptor.decrypt(artifact.path, keyFile: keyFile, to: plain)
    logger.info("Model decrypted")
    return plain
  }

  private func fetchCalibration(from source: ArtifactSource, into work: WorkDirectory) async throws(EngineBuildError) -> String? {
    guard let uri = request.calibrationURI, let digest = request.calibrationDigest else { return nil }
    let artifact = try await source.fetch(uri, to: work.path("calibration.cache"))
    try FileDigest.verify(artifact.path, expected: digest, what: "calibration cache")
    return artifact.path
  }
}

/// One build's fetching: the registry plus one HTTP transport (one libcurl thread, made on the first
/// remote fetch) shared by the model, its signature and the calibration cache.
struct ArtifactSource {
  let registry: FetcherRegistry
  let context: FetchContext

  init(registry: FetcherRegistry, environment: [String: String], caFile: String?, maxBytes: Int) throws(EngineBuildError) {
    var tls = TLSSettings()
    if let caFile {
      guard let pem = FileManager.default.contents(atPath: caFile) else {
        throw EngineBuildError(.invalidArguments, "cannot read --ca-file \(caFile)")
      }
      tls.certificateAuthorityPEM = [UInt8](pem)
    }
    var context = FetchContext(environment: environment, tls: tls)
    context.maxBytes = maxBytes
    self.context = context
    self.registry = registry
  }

  func fetch(_ uri: String, to destination: String) async throws(EngineBuildError) -> FetchedArtifact {
    do {
      return try await registry.fetcher(for: uri, context: context).fetch(uri, to: destination)
    } catch {
      throw EngineBuildError(.fetchFailed, "fetching \(URIText.redacted(error.uri)): \(error.message)")
    }
  }

  func shutdown() { context.shutdownTransport() }
}

/// A private scratch directory inside the cache directory (same file system, so the plan can be
/// renamed into the cache), removed when its work ends.
///
/// Builds use `.build-<key hex>-<random>`, timing runs of a cached plan `.measure-<key hex>-<random>`.
/// Only the holder of a key's lock creates build directories, so any build directory of that key
/// found by the lock holder was left by a builder that died (kill -9, node reboot) and is removed:
/// a crash leaves no garbage behind for longer than the next build of the key. Process ids are no
/// use for this — every init container is pid 1 in its own namespace.
struct WorkDirectory {
  enum Purpose: String { case build, measure }
  let directory: String

  init(in parent: String, keyHex: String, purpose: Purpose) throws(EngineBuildError) {
    directory = "\(parent)/.\(purpose.rawValue)-\(keyHex)-\(UInt64.random(in: 0...UInt64.max))"
    // Tracked first: a SIGTERM while it is being made still removes it.
    BuildInterruption.track(path: directory)
    do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
      BuildInterruption.untrack(path: directory)
      throw EngineBuildError(.buildFailed, "cannot create \(directory): \(error.localizedDescription)")
    }
  }

  func path(_ name: String) -> String { "\(directory)/\(name)" }
  func remove() {
    try? FileManager.default.removeItem(atPath: directory)
    BuildInterruption.untrack(path: directory)
  }

  /// Removes the build directories of `keyHex` left by dead builders; call with the key's lock held.
  static func removeAbandonedBuilds(in parent: String, keyHex: String) {
    let prefix = ".\(Purpose.build.rawValue)-\(keyHex)-"
    for name in (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? [] where name.hasPrefix(prefix) {
      try? FileManager.default.removeItem(atPath: "\(parent)/\(name)")
    }
  }
}

extension Date {
  /// RFC 3339 in UTC, second precision.
  var rfc3339: String {
    Timestamp(secondsSinceEpoch: Int64(timeIntervalSince1970.rounded(.down))).rfc3339
  }
}
