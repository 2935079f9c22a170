import ArgumentParser
import OperatorCLI

/// `edgeml-operator`: the operator alone, what the Deployment runs. It takes `edgeml operator`'s
/// flags and runs the same code, but links only the controllers' targets and FoundationEssentials
/// (not the emulator, EdgeSim, the engine builder, the node agent or full Foundation), so it maps
/// less memory.
@main
struct EdgeMLOperatorCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "edgeml-operator", abstract: OperatorOptions.abstract)
  @OptionGroup var options: OperatorOptions
  func run() async throws { try await options.run() }
}
