import KubeCore

/// What an image runs when a container does not say: its ENTRYPOINT and CMD.
///
/// EdgeSim pulls nothing; an image it knows (`EdgeSim.Configuration.images`) stands for the
/// programs built on this machine, whatever its tag or digest.
public struct ContainerImage: Sendable, Equatable {
  public var entrypoint: [String]
  public var cmd: [String]

  public init(entrypoint: [String], cmd: [String] = []) {
    self.entrypoint = entrypoint; self.cmd = cmd
  }

  /// The repository of an image reference: without its `@digest` and its `:tag` (a colon after
  /// the last `/`; one before it is a registry's port), as distribution/reference parses
  /// `[domain[:port]/]path[:tag][@digest]`.
  public static func repository(of reference: String) -> String {
    var name = Substring(reference)
    if let at = name.firstIndex(of: "@") { name = name[..<at] }
    let lastSlash = name.lastIndex(of: "/") ?? name.startIndex
    if let colon = name[lastSlash...].lastIndex(of: ":") { name = name[..<colon] }
    return String(name)
  }

  /// The words a container runs, as the container runtime composes them from the pod spec and the
  /// image (the rule of the Container API's `command`/`args` docs, "Notes" in
  /// kubernetes.io/docs/tasks/inject-data-application/define-command-argument-container): `command`
  /// replaces ENTRYPOINT, `args` replace CMD; `args` alone run after the image's ENTRYPOINT; with
  /// neither, ENTRYPOINT then CMD. Empty for an unknown image without `command`.
  static func words(of container: JSONValue, images: [String: ContainerImage]) -> [String] {
    let command = (container["command"]?.arrayValue ?? []).compactMap(\.stringValue)
    let args = container["args"]?.arrayValue.map { $0.compactMap(\.stringValue) }
    if !command.isEmpty { return command + (args ?? []) }
    guard let image = container["image"]?.stringValue.flatMap({ images[repository(of: $0)] }) else { return [] }
    return image.entrypoint + (args ?? image.cmd)
  }
}
