import Foundation
import KubeClient
import Testing
import TestServers
@testable import EngineBuilder

/// `MLflowFetcher` against a real `mlflow server` (3.x, SQLite backend, artifacts proxied from a temp folder).
@Suite("MLflow fetcher against mlflow server", .serialized,
       .enabled(if: FetchTools.program("mlflow") != nil && FetchTools.python != nil,
                "mlflow is not installed (scripts/setup.sh installs it into the fetch-tools venv)"))
struct MLflowServerTests {
  @Test("mlflow://NAME/VERSION and mlflow://NAME@ALIAS bring back the registered model file")
  func versionAndAlias() async throws {
    let dir = try FetchTools.temporaryDirectory("mlflow")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let transport = try FetchTools.transport()
    let (server, tracking) = try await ServerProcess.startMLflow(in: dir, transport: transport)
    defer { server.stop() }

    // Version 1: a run's folder with model.onnx beside MLmodel. Version 2: a logged model holding one file.
    let onnx = Array("onnx graph bytes \(UUID())".utf8), single = Array("single engine input \(UUID())".utf8)
    for sub in ["v1", "v2"] { try FileManager.default.createDirectory(atPath: "\(dir)/\(sub)", withIntermediateDirectories: true) }
    try Data(onnx).write(to: URL(fileURLWithPath: dir + "/v1/model.onnx"))
    try Data("artifact_path: model\nflavors: {}\n".utf8).write(to: URL(fileURLWithPath: dir + "/v1/MLmodel"))
    try Data(single).write(to: URL(fileURLWithPath: dir + "/v2/detector.onnx"))
    let registered = try await FetchTools.runFixture(["mlflow-register", tracking, "resnet", dir + "/v1", dir + "/v2/detector.onnx", "champion"])
    #expect((registered["v1Source"] as? String)?.hasPrefix("mlflow-artifacts:") == true)
    #expect((registered["v2Source"] as? String)?.hasPrefix("models:/") == true)

    let fetcher = MLflowFetcher(environment: ["MLFLOW_TRACKING_URI": tracking + "/", "MLFLOW_TRACKING_TOKEN": "unused-by-this-server"],
                                transport: transport)
    let byVersion = try await fetcher.fetch("mlflow://resnet/1", to: dir + "/by-version")
    #expect(byVersion == FetchedArtifact(path: dir + "/by-version", size: onnx.count))
    #expect(try Array(Data(contentsOf: URL(fileURLWithPath: dir + "/by-version"))) == onnx)

    let byAlias = try await fetcher.fetch("mlflow://resnet@champion", to: dir + "/by-alias")
    #expect(byAlias.size == single.count)
    #expect(try Array(Data(contentsOf: URL(fileURLWithPath: dir + "/by-alias"))) == single)

    let missing = await #expect(throws: FetchError.self) { try await fetcher.fetch("mlflow://resnet/7", to: dir + "/none") }
    #expect(missing?.message.contains("404 RESOURCE_DOES_NOT_EXIST") == true, "\(missing?.message ?? "")")
    let noAlias = await #expect(throws: FetchError.self) { try await fetcher.fetch("mlflow://resnet@staging", to: dir + "/none") }
    #expect(noAlias?.message.hasPrefix("MLflow answered 4") == true && noAlias?.message.contains("staging") == true, "\(noAlias?.message ?? "")")
  }
}
