import ArgumentParser

@main
struct EdgeMLCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "edgeml",
    abstract: "Run ML models on NVIDIA Jetson nodes of K3s and MicroK8s clusters.",
    subcommands: [
      SimCommand.self, DemoCommand.self, OperatorCommand.self, EngineCommand.self, NodeAgentCommand.self, StatsCommand.self,
    ]
  )
}
