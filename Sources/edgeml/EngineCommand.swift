import ArgumentParser
import EngineCLI

/// `edgeml engine`: the init container's program (the same code and flags as `edgeml-engine`, which
/// pods run). The flags are parsed by `EngineOptions`, so they are passed through untouched.
struct EngineCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "engine", abstract: EngineOptions.abstract,
    discussion: "Takes edgeml-engine's flags (edgeml engine --help lists them).")
  @Argument(parsing: .captureForPassthrough, help: .hidden) var arguments: [String] = []

  func run() async throws {
    switch EngineOptions.parse(arguments) {
    case .help:
      print(EngineOptions.usage(program: "edgeml engine"), terminator: "")
    case .run(let options):
      let status = await options.run(program: "edgeml engine")
      if status != 0 { throw ExitCode(status) }
    case .install(let directory):
      let status = EngineOptions.install(to: directory, program: "edgeml engine")
      if status != 0 { throw ExitCode(status) }
    }
  }
}
