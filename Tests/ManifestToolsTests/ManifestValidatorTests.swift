import Foundation
import KubeCore
import Testing
import YAML
@testable import ManifestTools

/// The repository's root (for crds/ and examples/).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// One validator for the suite: building it loads the emulator's upstream documents.
let sharedValidatorCRDs: [JSONValue] = (try? ManifestValidator.embeddedCRDs()) ?? []

func validate(_ text: String, crds: [JSONValue] = sharedValidatorCRDs) throws -> [ValidationFinding] {
  let (documents, problem) = ManifestReader.parse(text, file: "m.yaml")
  #expect(problem == nil)
  return try ManifestValidator(crds: crds).validate(documents)
}

let validModel = """
  apiVersion: edgeml.io/v1alpha1
  kind: EdgeModel
  metadata:
    name: detector
  spec:
    model:
      uri: https://models.example.com/m.onnx
      digest: sha256:abababababababababababababababababababababababababababababababab
    engine:
      precision: fp16
    serving:
      image: nvcr.io/nvidia/tritonserver:24.08-py3-igpu

  """

@Suite("edgeml validate's verdicts")
struct ManifestValidatorTests {
  @Test("the CRDs compiled into edgeml are crds/ as it is (run scripts/embed-crds.py after changing one)")
  func embeddedCRDsMatchTheTree() throws {
    let dir = repositoryRoot.appendingPathComponent("crds")
    let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }.sorted()
    #expect(EmbeddedCRDs.files.map(\.name) == names)
    for (name, yaml) in EmbeddedCRDs.files {
      let onDisk = try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
      // A multi-line string literal ends before the newline in front of its closing delimiter.
      #expect(yaml + "\n" == onDisk, "\(name) differs from crds/\(name): run python3 scripts/embed-crds.py")
    }
  }

  @Test("a valid EdgeModel is valid, and the object the server would store has its defaults")
  func validWithDefaults() throws {
    let (documents, _) = ManifestReader.parse(validModel, file: "m.yaml")
    let (findings, stored) = try ManifestValidator(crds: sharedValidatorCRDs).validateKeepingObjects(documents)
    #expect(findings.map(\.verdict) == [.valid])
    #expect(stored.first?[path: ["spec", "engine", "cache", "hostPath"]] == "/var/lib/edgeml/engines")
    #expect(stored.first?[path: ["spec", "model", "format"]] == "onnx")
  }

  @Test("an enum value out of range is invalid with kubectl's message and the line of the field")
  func enumOutOfRange() throws {
    let findings = try validate(validModel.replacingOccurrences(of: "precision: fp16", with: "precision: fp8"))
    let f = try #require(findings.first)
    #expect(f.verdict == .invalid)
    // Upstream's extra cause, when CEL rules were skipped for a schema error, reads as kube-apiserver's does.
    #expect(f.message == """
      The EdgeModel "detector" is invalid: \n\
      * spec.engine.precision: Unsupported value: "fp8": supported values: "fp32", "fp16", "int8", "best"
      * <nil>: Invalid value: "null": some validation rules were not checked because the object was invalid; \
      correct the existing errors to complete validation
      """)
    #expect(f.causes.map(\.field) == ["spec.engine.precision", "<nil>"])
    #expect(f.causes.map(\.line) == [10, 1])
  }

  @Test("a CEL rule's message is the finding's, on the line of the object the rule is on")
  func celRule() throws {
    let findings = try validate(validModel.replacingOccurrences(of: "precision: fp16", with: "precision: int8"))
    let f = try #require(findings.first)
    #expect(f.verdict == .invalid)
    #expect(f.message.contains("spec.engine: Invalid value: \"object\": engine.calibration is required when engine.precision is int8"))
    #expect(f.causes.first?.line == 9)
  }

  @Test("a messageExpression's message comes out evaluated (a CRD given with --crd)")
  func messageExpression() throws {
    var crds = sharedValidatorCRDs
    let index = try #require(crds.firstIndex { $0[path: ["metadata", "name"]] == "edgemodels.edgeml.io" })
    var versions = crds[index][path: ["spec", "versions"]]?.arrayValue ?? []
    versions[0][path: ["schema", "openAPIV3Schema", "properties", "spec", "x-kubernetes-validations"]] = [[
      "rule": "self.serving.image.startsWith('registry.internal/')",
      "messageExpression": "'image ' + self.serving.image + ' is not from registry.internal'",
    ]]
    crds[index][path: ["spec", "versions"]] = .array(versions)
    let f = try #require(try validate(validModel, crds: crds).first)
    #expect(f.verdict == .invalid)
    #expect(f.message.hasSuffix("image nvcr.io/nvidia/tritonserver:24.08-py3-igpu is not from registry.internal"))
  }

  @Test("a bad metadata.name is invalid as the API server says it")
  func badName() throws {
    let f = try #require(try validate(validModel.replacingOccurrences(of: "name: detector", with: "name: Detector_1")).first)
    #expect(f.verdict == .invalid)
    #expect(f.causes.map(\.field) == ["metadata.name"])
    #expect(f.message.contains("a lowercase RFC 1123 subdomain"))
  }

  @Test("an unknown field refuses the object as kubectl's default strict validation does, on its line; with Warn it is pruned with a warning")
  func unknownField() throws {
    let text = validModel.replacingOccurrences(of: "precision: fp16", with: "precision: fp16\n    turbo: true")
    let strict = try #require(try validate(text).first)
    #expect(strict.verdict == .invalid)
    #expect(strict.message.hasSuffix(#"strict decoding error: unknown field "spec.engine.turbo""#))
    #expect(strict.causes == [.init(field: "spec.engine.turbo", message: "unknown field", line: 11)])
    let (documents, _) = ManifestReader.parse(text, file: "m.yaml")
    let warn = try #require(try ManifestValidator(crds: sharedValidatorCRDs, fieldValidation: "Warn").validate(documents).first)
    #expect(warn.verdict == .valid)
    #expect(warn.warnings == [#"unknown field "spec.engine.turbo""#])
  }

  @Test("a later document naming the same object is an update: a rule on changes applies between them")
  func laterDocumentIsAnUpdate() throws {
    let path = repositoryRoot.appendingPathComponent("examples/invalid/rollout-modelref-changed.yaml")
    let findings = try validate(try String(contentsOf: path, encoding: .utf8))
    #expect(findings.map(\.verdict) == [.valid, .invalid])
    #expect(findings[1].message.contains("modelRef is immutable"))
  }

  @Test("an unknown kind or version of edgeml.io cannot be checked; other groups are skipped", arguments: [
    ("apiVersion: edgeml.io/v1alpha1\nkind: EdgeThing\nmetadata: {name: x}\n", ValidationFinding.Verdict.badInput,
     #"unknown kind "EdgeThing" in group edgeml.io: this edgeml knows DriftPolicy, EdgeModel, Rollout"#),
    ("apiVersion: edgeml.io/v1beta1\nkind: EdgeModel\nmetadata: {name: x}\n", .badInput, #"EdgeModel has no version "v1beta1""#),
    ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n", .skipped, "apps/v1 Deployment is not a kind of edgeml.io: not checked"),
  ])
  func kindsAndVersions(text: String, verdict: ValidationFinding.Verdict, message: String) throws {
    let f = try #require(try validate(text).first)
    #expect(f.verdict == verdict)
    #expect(f.message.contains(message), "\(f.message)")
  }

  @Test("exit status: 0 all valid (skipped too), 1 some invalid, 2 anything not checkable")
  func exitStatus() {
    func finding(_ v: ValidationFinding.Verdict) -> ValidationFinding {
      ValidationFinding(verdict: v, file: "f", line: 1, document: 1, kind: "EdgeModel", name: "n", message: "")
    }
    #expect(ManifestValidator.exitStatus([finding(.valid), finding(.skipped)], problems: []) == 0)
    #expect(ManifestValidator.exitStatus([finding(.valid), finding(.invalid)], problems: []) == 1)
    #expect(ManifestValidator.exitStatus([finding(.invalid), finding(.badInput)], problems: []) == 2)
    #expect(ManifestValidator.exitStatus([finding(.valid)], problems: [ManifestInputProblem(file: "x", line: 1, message: "not YAML")]) == 2)
  }

  @Test("a --crd file replaces the compiled-in CRD of its name; a file without one is refused")
  func crdOverrides() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("crd-override-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    var crd = try #require(sharedValidatorCRDs.first { $0[path: ["metadata", "name"]] == "edgemodels.edgeml.io" })
    var versions = crd[path: ["spec", "versions"]]?.arrayValue ?? []
    versions[0]["name"] = "v1beta1"
    crd[path: ["spec", "versions"]] = .array(versions)
    let file = dir.appendingPathComponent("crd.yaml")
    try YAML.emit(crd).write(to: file, atomically: true, encoding: .utf8)
    let merged = try CRDOverrides.merge(embedded: sharedValidatorCRDs, files: [file.path])
    #expect(merged.count == sharedValidatorCRDs.count)
    let text = validModel.replacingOccurrences(of: "v1alpha1", with: "v1beta1")
    #expect(try validate(text, crds: merged).map(\.verdict) == [.valid])
    let notCRD = dir.appendingPathComponent("cm.yaml")
    try "apiVersion: v1\nkind: ConfigMap\n".write(to: notCRD, atomically: true, encoding: .utf8)
    #expect(throws: CRDOverrides.FileError.self) { try CRDOverrides.merge(embedded: sharedValidatorCRDs, files: [notCRD.path]) }
  }
}
