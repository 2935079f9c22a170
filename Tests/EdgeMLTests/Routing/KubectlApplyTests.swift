import Foundation
import KubeClient
import KubeCore
import Testing
@testable import EdgeML

/// The real kubectl on the PATH, pointed at a `RouterCluster` through a kubeconfig of its own.
struct Kubectl {
  let directory: URL
  let kubeconfig: URL

  static var installed: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/kubectl") || path != nil }
  static var path: String? {
    (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/kubectl" }
      .first { FileManager.default.isExecutableFile(atPath: $0) }
  }

  init(_ cluster: RouterCluster) throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("routers-kubectl-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    kubeconfig = directory.appendingPathComponent("kubeconfig")
    let ca = Data((cluster.emulator.certificateAuthority?.certificatePEM ?? "").utf8).base64EncodedString()
    try """
    apiVersion: v1
    kind: Config
    clusters: [{name: emulator, cluster: {server: "\(cluster.emulator.url)", certificate-authority-data: \(ca)}}]
    users: [{name: admin, user: {token: "\(cluster.emulator.adminToken)"}}]
    contexts: [{name: emulator, context: {cluster: emulator, user: admin, namespace: default}}]
    current-context: emulator
    """.write(to: kubeconfig, atomically: true, encoding: .utf8)
  }

  /// Runs kubectl with `manifest` on stdin; returns its exit status and stderr.
  func run(_ arguments: [String], manifest: String) throws -> (status: Int32, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: Kubectl.path ?? "/usr/bin/kubectl")
    process.arguments = ["--kubeconfig", kubeconfig.path, "--cache-dir", directory.appendingPathComponent("cache").path] + arguments
    let input = Pipe(), errors = Pipe()
    process.standardInput = input
    process.standardError = errors
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    input.fileHandleForWriting.write(Data(manifest.utf8))
    try input.fileHandleForWriting.close()
    let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, stderr)
  }
}

@Suite("The real kubectl against the routers' writes", .enabled(if: Kubectl.installed))
struct KubectlApplyTests {
  @Test("kubectl apply --server-side of the user's HTTPRoute conflicts with our weights instead of reverting them, and applies cleanly after reset")
  func serverSideApply() async throws {
    let cluster = try await RouterCluster.start(crds: RouterCluster.gatewayAPI)
    defer { Task { await cluster.stop() } }
    let kubectl = try Kubectl(cluster)
    let apply = ["apply", "--server-side", "-f", "-"]
    #expect(try kubectl.run(apply, manifest: userHTTPRoute).status == 0)
    let created = try await cluster.get(.httpRoutes, "detector")
    let router = HTTPRouteRouter(httpRoute: "detector")
    _ = try await router.setWeights(route(10), client: cluster.client)

    let during = try kubectl.run(apply, manifest: userHTTPRoute)
    #expect(during.status != 0)
    #expect(during.stderr.contains("conflict with \"edgeml-rollout-router\"") && during.stderr.contains(".spec.rules"))
    let stored = try await cluster.get(.httpRoutes, "detector")
    #expect(weights(stored[path: ["spec", "rules"]]?.arrayValue?[0]["backendRefs"]) == ["detector": 90, "detector-candidate": 10])

    _ = try await router.reset(route(10), client: cluster.client)
    let after = try kubectl.run(apply, manifest: userHTTPRoute)
    #expect(after.status == 0, "\(after.stderr)")
    #expect(try await cluster.get(.httpRoutes, "detector")["spec"] == created["spec"])
  }

  @Test("client-side kubectl apply of the unchanged manifest sends its rules back, and the router's next pass restores the weights")
  func clientSideApply() async throws {
    let cluster = try await RouterCluster.start(crds: RouterCluster.gatewayAPI)
    defer { Task { await cluster.stop() } }
    let kubectl = try Kubectl(cluster)
    #expect(try kubectl.run(["apply", "-f", "-"], manifest: userHTTPRoute).status == 0)
    let router = HTTPRouteRouter(httpRoute: "detector")
    _ = try await router.setWeights(route(10), client: cluster.client)
    #expect(try kubectl.run(["apply", "-f", "-"], manifest: userHTTPRoute).status == 0)
    let reverted = try await cluster.get(.httpRoutes, "detector")
    #expect(weights(reverted[path: ["spec", "rules"]]?.arrayValue?[0]["backendRefs"]) == ["detector": 1])
    #expect(try await router.setWeights(route(10), client: cluster.client).written)
    let restored = try await cluster.get(.httpRoutes, "detector")
    #expect(weights(restored[path: ["spec", "rules"]]?.arrayValue?[0]["backendRefs"]) == ["detector": 90, "detector-candidate": 10])
  }
}
