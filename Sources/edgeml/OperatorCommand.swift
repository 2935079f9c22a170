import ArgumentParser
import OperatorCLI

/// `edgeml operator`: the controllers, as `edgeml-operator` runs them (same flags, same code).
struct OperatorCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "operator", abstract: OperatorOptions.abstract)
  @OptionGroup var options: OperatorOptions
  func run() async throws { try await options.run() }
}
