import Foundation
import KubeCore
import Testing

@testable import KubeEmulator

/// Shared inputs of the patch tests.
///
/// Upstream files, all inside the repository: the Kubernetes v1.36 OpenAPI v2 document the emulator
/// bundles (`Sources/KubeEmulator/Resources/upstream/swagger.json`, kubernetes-client/python at
/// 024658493) and the recorded real-server exchanges in `Tests/Fixtures/k8s-openapi-test-replays/v1-36/`
/// (Arnavion/k8s-openapi v0.28.0). Provenance and licences: the README next to each.
enum PatchFixtures {
  struct MissingFixture: Error, CustomStringConvertible {
    var description: String
  }

  /// The repository root, found from this file's path.
  static var repositoryRoot: URL {
    URL(fileURLWithPath: #filePath)
      .deletingLastPathComponent()  // Tests/KubeEmulatorTests
      .deletingLastPathComponent()  // Tests
      .deletingLastPathComponent()  // repository root
  }

  /// Parses a file under the repository root, failing with a message that names it when absent.
  static func loadFile(_ relativePath: String) throws -> JSONValue {
    let url = repositoryRoot.appendingPathComponent(relativePath)
    guard let data = FileManager.default.contents(atPath: url.path) else {
      throw MissingFixture(description: "fixture \(relativePath) not found in the repository")
    }
    return try JSONValue(parsing: [UInt8](data))
  }

  /// One recorded exchange file of `Tests/Fixtures/k8s-openapi-test-replays/v1-36/`.
  static func replay(_ file: String) throws -> JSONValue {
    try loadFile("Tests/Fixtures/k8s-openapi-test-replays/v1-36/" + file)
  }

  /// The schema registry built from the v1.36 swagger document, loaded once.
  static let registry: Result<PatchSchemaRegistry, any Error> = Result {
    let document = try loadFile("Sources/KubeEmulator/Resources/upstream/swagger.json")
    guard let definitions = document["definitions"] else {
      throw MissingFixture(description: "swagger.json has no definitions object")
    }
    return PatchSchemaRegistry(swaggerDefinitions: definitions)
  }

  /// The schema of one definition, failing the test when the reference or the definition is missing.
  static func schema(_ definition: String) throws -> PatchSchema {
    try #require(try registry.get().schema(forDefinition: definition), "definition \(definition) missing from the swagger document")
  }

  /// Parses JSON text written in a test.
  static func json(_ text: String) throws -> JSONValue { try JSONValue(parsing: text) }
}

/// One patch case of a table-driven test: a document, a patch, and the expected result or error.
struct PatchCase: CustomTestStringConvertible, Sendable {
  var name: String?
  var original: String
  var patch: String
  /// The expected document; nil when the patch must fail.
  var result: String?
  /// Text the failure's detail must contain, when the case expects one.
  var expectedError: String?

  init(name: String? = nil, original: String, patch: String, result: String? = nil, expectedError: String? = nil) {
    self.name = name
    self.original = original
    self.patch = patch
    self.result = result
    self.expectedError = expectedError
  }

  var testDescription: String { name ?? "\(original) + \(patch)" }
}
