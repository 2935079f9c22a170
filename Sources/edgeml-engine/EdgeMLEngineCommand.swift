import EngineCLI
import Foundation

/// `edgeml-engine`: the EdgeModel init container's program, what the `engine` init container runs.
/// It takes `edgeml engine`'s flags and runs the same code, but links only the engine builder (not
/// the emulator, EdgeSim, the controllers, the node agent or ArgumentParser), so each pod's init
/// container starts with a fraction of the full `edgeml` binary's relocations and metadata.
@main
enum EdgeMLEngineCommand {
  static func main() async {
    switch EngineOptions.parse(Array(CommandLine.arguments.dropFirst())) {
    case .help:
      print(EngineOptions.usage(program: "edgeml-engine"), terminator: "")
    case .run(let options):
      exit(await options.run(program: "edgeml-engine"))
    case .install(let directory):
      exit(EngineOptions.install(to: directory, program: "edgeml-engine"))
    }
  }
}
