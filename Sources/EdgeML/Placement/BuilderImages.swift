/// Which images build a model's engines: ours, which carries `edgeml-engine`, and per L4T release
/// NVIDIA's image with that release's TensorRT and `trtexec` (docs/engine-builds.md "Builder
/// images per L4T release").
///
/// When a node group's builder image is not ours (from `byL4T`, or the EdgeModel's own
/// `spec.engine.builderImage`), the pod gets two init containers: `edgeml-tools` (ours) copies
/// `edgeml-engine` with its loader and libraries into an `emptyDir` (`edgeml-engine --install-to`),
/// and `engine` (the builder image) runs that copy. Otherwise one `engine` init container of our
/// image runs `edgeml-engine` as before.
public struct BuilderImages: Sendable, Equatable {
  /// Our image (the one recorded for the model's version, so an operator upgrade restarts nothing).
  public var tools: String
  /// Builder image by L4T release or release prefix ("36.4", "35.4", "36").
  public var byL4T: [String: String]

  public init(tools: String, byL4T: [String: String] = [:]) {
    self.tools = tools
    self.byL4T = byL4T
  }

  /// The builder image for a node group's L4T release: the entry whose key is the release or its
  /// longest dotted prefix ("36.4" serves 36.4.0 and 36.4.3, not 36.40), nil when none is.
  public func image(forL4T l4t: String) -> String? {
    var parts = l4t.split(separator: ".").map(String.init)
    while !parts.isEmpty {
      if let image = byL4T[parts.joined(separator: ".")] { return image }
      parts.removeLast()
    }
    return nil
  }

  /// Where the copy lives in the pod, and how the builder image's container runs it.
  public enum Copy {
    public static let volume = "edgeml-tools"
    public static let directory = "/edgeml/tools"
    public static var command: [String] {
      ["\(directory)/ld.so", "--library-path", "\(directory)/lib", "\(directory)/edgeml-engine"]
    }
    /// Our image's CA bundle, which the copy brings: the builder image may have none.
    public static var caFile: String { "\(directory)/ca-certificates.crt" }
  }
}
