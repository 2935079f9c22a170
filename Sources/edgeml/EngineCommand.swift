import ArgumentParser
import EngineCLI

/// `edgeml engine`: the init container's program (the same code as `edgeml-engine`, which pods run).
struct EngineCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "engine", abstract: EngineOptions.abstract)
  @OptionGroup var options: EngineOptions
  func run() async throws { try await options.run(program: "edgeml engine") }
}
