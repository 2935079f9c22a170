import ArgumentParser
import Foundation
import KubeClient
import KubeCore
import ManifestTools
import OperatorCLI

/// `edgeml diff FILE...`: what the controllers would write for a manifest's EdgeModels, Rollouts
/// and DriftPolicies — offline, or against a live cluster as a unified diff (docs/validate.md
/// §edgeml diff).
struct DiffCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "diff",
    abstract: "Show what the controllers would write for a manifest's EdgeModels, Rollouts and DriftPolicies.",
    discussion: """
      The manifest is first checked as edgeml validate checks it (defaults filled in); then each \
      controller's own planner runs on each object.

      Offline (the default), as a first reconcile after kubectl apply of the whole input: the nodes \
      of --nodes (Node objects, e.g. kubectl get nodes -o yaml), nothing else in the cluster; what a \
      planner reads of another resource (a Rollout's EdgeModel, a router's HTTPRoute) comes from the \
      input, as just created, or is planned as absent — the comments say which. The output is YAML: \
      the objects each controller would write and, for Rollouts and DriftPolicies, the status.

      With --kubeconfig, --context or --live (the current context of $KUBECONFIG, else \
      ~/.kube/config, as kubectl chooses), the planners run on the live cluster with the input's \
      objects in place of the live ones, and a unified diff shows, for each resource, its spec and \
      status and the fields of each object its controller's field manager would apply, live against \
      planned. Nothing is written, measured or scraped; notes go to stderr.

      Exit status, as kubectl diff's: 0 no differences (offline: printed), 1 differences, 2 the \
      input is invalid or cannot be read, the cluster cannot be read, or a usage error.
      """)

  @Argument(help: "Manifest files, directories, or - for standard input.") var paths: [String] = []
  @Option(help: "Offline: a YAML file of the cluster's Node objects (a List, or one Node per document).") var nodes: String?
  @Option(help: "The operator's engine builder image (its --builder-image; default: $EDGEML_IMAGE, else the release image).")
  var builderImage: String?
  @Option(help: "The operator's --builder-images (a directory or a file of RELEASE=IMAGE lines).") var builderImages: String?
  @Option(help: "The namespace of objects that name none.") var namespace = "default"
  @Option(help: "Compare with the cluster of this kubeconfig.") var kubeconfig: String?
  @Option(help: "Compare with the cluster of this kubeconfig context.") var context: String?
  @Flag(help: "Compare with the cluster of the current context ($KUBECONFIG, else ~/.kube/config).") var live = false

  var isLive: Bool { live || kubeconfig != nil || context != nil }

  func validate() throws {
    guard !paths.isEmpty else { throw ValidationError("Name at least one file, directory, or - for standard input.") }
    if isLive, nodes != nil { throw ValidationError("--nodes is for the offline diff: against a cluster its nodes are read.") }
  }

  func run() async throws {
    var stderr = StandardError()
    let validator: ManifestValidator
    var nodeObjects: [JSONValue] = []
    var byL4T: [String: String] = [:]
    do {
      validator = try ManifestValidator(crds: try ManifestValidator.embeddedCRDs(), namespace: namespace)
      if let nodes {
        let (documents, problems) = ManifestReader.read(paths: [nodes]) { nil }
        if let problem = problems.first { throw ValidationError("--nodes \(problem)") }
        nodeObjects = documents.map(\.object).filter { $0["kind"]?.stringValue == "Node" }
        if nodeObjects.isEmpty { throw ValidationError("--nodes \(nodes): holds no Node objects") }
      }
      if let builderImages { byL4T = try OperatorOptions.readBuilderImages(builderImages) }
    } catch {
      print("error: \(error)", to: &stderr)
      throw ExitCode(2)
    }
    let (documents, problems) = ManifestReader.read(paths: paths) { String(data: FileHandle.standardInput.readDataToEndOfFile(), encoding: .utf8) }
    let (findings, stored) = validator.validateKeepingObjects(documents)
    let report = ValidationReport(findings: findings, problems: problems)
    guard report.exitStatus == 0 else {
      // An invalid manifest is an error here, not a difference: kubectl diff's exit 1 means "differences".
      print(report.render(.text), terminator: "", to: &stderr)
      throw ExitCode(2)
    }
    let image = builderImage ?? ProcessInfo.processInfo.environment["EDGEML_IMAGE"] ?? OperatorOptions.defaultImage
    let now = Timestamp(secondsSinceEpoch: Int64(Date().timeIntervalSince1970))
    let planned = stored.filter { ["EdgeModel", "Rollout", "DriftPolicy"].contains($0["kind"]?.stringValue ?? "") }
    if planned.isEmpty {
      print("error: no EdgeModel, Rollout or DriftPolicy in the input", to: &stderr)
      throw ExitCode(2)
    }
    guard isLive else {
      do {
        let plans = try ManifestDiff.plans(objects: stored + ManifestDiff.otherObjects(documents, namespace: namespace), nodes: nodeObjects,
                                           builderImage: image, now: now)
        print(ManifestDiff.yaml(plans), terminator: "")
        return
      } catch {
        print("error: \(error)", to: &stderr)
        throw ExitCode(2)
      }
    }
    let result: LiveDiff.Result
    do {
      let config = try Kubeconfig.load(explicitPath: kubeconfig)
      let client = try KubeClient(configuration: try ClientConfiguration.from(config, context: context))
      defer { client.shutdown() }
      result = try await LiveDiff(reader: KubeClusterReader(client: client), builderImage: image, builderImagesByL4T: byL4T, now: now)
        .run(manifests: stored)
    } catch {
      print("error: \(error)", to: &stderr)
      throw ExitCode(2)
    }
    for note in result.notes { print("# \(note)", to: &stderr) }
    print(result.diff, terminator: "")
    if result.differing == 0 {
      print("no differences (\(result.compared) objects compared)", to: &stderr)
      return
    }
    print("\(result.differing) of \(result.compared) objects differ", to: &stderr)
    throw ExitCode(1)
  }
}
