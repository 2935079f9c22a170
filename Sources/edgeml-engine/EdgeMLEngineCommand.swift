import ArgumentParser
import EngineCLI

/// `edgeml-engine`: the EdgeModel init container's program, what the `engine` init container runs.
/// It takes `edgeml engine`'s flags and runs the same code, but links only the engine builder (not
/// the emulator, EdgeSim, the controllers or the node agent), so each pod's init container starts
/// with a fraction of the relocations and metadata of the full `edgeml` binary.
@main
struct EdgeMLEngineCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "edgeml-engine", abstract: EngineOptions.abstract)
  @OptionGroup var options: EngineOptions
  func run() async throws { try await options.run(program: "edgeml-engine") }
}
