import ArgumentParser
import Foundation
import KubeCore
import ManifestTools
import OperatorCLI

/// `edgeml diff FILE...`: what the EdgeModel controller would write for the manifest's EdgeModels
/// (docs/validate.md §edgeml diff).
struct DiffCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "diff",
    abstract: "Print the objects the EdgeModel controller would write for a manifest's EdgeModels.",
    discussion: """
      The manifest is first checked as edgeml validate checks it (defaults filled in); then the \
      controller's own planner runs on each EdgeModel as a first reconcile would: the nodes of \
      --nodes (Node objects, e.g. kubectl get nodes -o yaml) and nothing the model owns yet \
      (no pods, no engines built). Rollouts and DriftPolicies in the same input that name the model \
      count (a Rollout as just created; a DriftPolicy's drift-agent sidecar). An MLflow alias is not \
      resolved. Without --nodes there are no nodes, so nothing is planned; the comments say why. The output is YAML, one document per object, with a comment per model \
      on placement and phase. Exit status: 0 printed, 1 the manifest is invalid, 2 bad input or usage.
      """)

  @Argument(help: "Manifest files, directories, or - for standard input.") var paths: [String] = []
  @Option(help: "A YAML file of the cluster's Node objects (a List, or one Node per document).") var nodes: String?
  @Option(help: "The operator's engine builder image (its --builder-image).") var builderImage = OperatorOptions.defaultImage
  @Option(help: "The namespace of objects that name none.") var namespace = "default"

  func validate() throws {
    guard !paths.isEmpty else { throw ValidationError("Name at least one file, directory, or - for standard input.") }
  }

  func run() throws {
    var stderr = StandardError()
    let validator: ManifestValidator
    var nodeObjects: [JSONValue] = []
    do {
      validator = try ManifestValidator(crds: try ManifestValidator.embeddedCRDs(), namespace: namespace)
      if let nodes {
        let (documents, problems) = ManifestReader.read(paths: [nodes]) { nil }
        if let problem = problems.first { throw ValidationError("--nodes \(problem)") }
        nodeObjects = documents.map(\.object).filter { $0["kind"]?.stringValue == "Node" }
        if nodeObjects.isEmpty { throw ValidationError("--nodes \(nodes): holds no Node objects") }
      }
    } catch {
      print("error: \(error)", to: &stderr)
      throw ExitCode(2)
    }
    let (documents, problems) = ManifestReader.read(paths: paths) { String(data: FileHandle.standardInput.readDataToEndOfFile(), encoding: .utf8) }
    let (findings, stored) = validator.validateKeepingObjects(documents)
    let report = ValidationReport(findings: findings, problems: problems)
    guard report.exitStatus == 0 else {
      print(report.render(.text), terminator: "", to: &stderr)
      throw ExitCode(report.exitStatus)
    }
    do {
      let plans = try ManifestDiff.plans(objects: stored, nodes: nodeObjects, builderImage: builderImage,
                                         now: Timestamp(secondsSinceEpoch: Int64(Date().timeIntervalSince1970)).rfc3339)
      if plans.isEmpty { print("error: no EdgeModel in the input", to: &stderr); throw ExitCode(2) }
      print(ManifestDiff.yaml(plans, nodeCount: nodeObjects.count), terminator: "")
    } catch let error as ExitCode {
      throw error
    } catch {
      print("error: \(error)", to: &stderr)
      throw ExitCode(2)
    }
  }
}
