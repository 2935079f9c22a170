import ArgumentParser

@main
struct EdgeMLCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "edgeml",
    abstract: "Run ML models on NVIDIA Jetson nodes of K3s and MicroK8s clusters.",
    subcommands: [
      SimGroupCommand.self, DemoCommand.self, OperatorCommand.self, EngineCommand.self, NodeAgentCommand.self, StatsCommand.self, DriftAgentCommand.self,
      RetrainCommand.self, ValidateCommand.self, DiffCommand.self,
    ]
  )

  /// ArgumentParser's `main`, except that `edgeml stats` reports its usage errors (a missing or
  /// unknown option) as it reports bad input: a message on stderr and exit status 2, not 64.
  static func main() async {
    do {
      var command = try parseAsRoot()
      if var asyncCommand = command as? AsyncParsableCommand {
        try await asyncCommand.run()
      } else {
        try command.run()
      }
    } catch {
      exit(withError: StatsCommand.badInput(forUsageError: error, arguments: Array(CommandLine.arguments.dropFirst())))
    }
  }
}
