import Foundation
import KubeCore
import Testing

@testable import KubeEmulator

/// Shared inputs of the patch tests.
///
/// The upstream reference files are read in place from `/work/shared/reference` (a sibling of the
/// repository root, see its README for provenance): the Kubernetes v1.36 OpenAPI v2 document
/// (`openapi/v2/swagger-release-1.36.json`, kubernetes-client/python at 024658493) and the recorded
/// real-server exchanges (`wire/k8s-openapi-test-replays/v1-36/`, Arnavion/k8s-openapi v0.28.0).
enum PatchFixtures {
  struct MissingReference: Error, CustomStringConvertible {
    var description: String
  }

  /// `<repo root>/../shared/reference`, found from this file's path.
  static var referenceDirectory: URL {
    URL(fileURLWithPath: #filePath)
      .deletingLastPathComponent()  // Tests/KubeEmulatorTests
      .deletingLastPathComponent()  // Tests
      .deletingLastPathComponent()  // repository root
      .appendingPathComponent("../shared/reference")
      .standardizedFileURL
  }

  /// Parses a reference file, failing with a message that names the path when it is absent.
  static func loadReference(_ relativePath: String) throws -> JSONValue {
    let url = referenceDirectory.appendingPathComponent(relativePath)
    guard let data = FileManager.default.contents(atPath: url.path) else {
      throw MissingReference(description: "upstream reference file not found at \(url.path); the patch tests need /work/shared/reference next to the repository")
    }
    return try JSONValue(parsing: [UInt8](data))
  }

  /// The schema registry built from the v1.36 swagger document, loaded once.
  static let registry: Result<PatchSchemaRegistry, any Error> = Result {
    let document = try loadReference("openapi/v2/swagger-release-1.36.json")
    guard let definitions = document["definitions"] else {
      throw MissingReference(description: "swagger-release-1.36.json has no definitions object")
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
