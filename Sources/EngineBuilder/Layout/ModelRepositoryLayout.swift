import Foundation

/// Puts a cached plan where the serving container expects it (docs/edgemodel-contracts.md §2).
///
/// * `triton`: `<output>/<name>/config.pbtxt` and `<output>/<name>/<version>/model.plan` — Triton's
///   model repository layout, where "a TensorRT Plan … by default must be named model.plan"
///   (shared/reference/jetson/triton.md §1).
/// * `plain`: `<output>/model.plan`.
///
/// The config is minimal on purpose: `name` (which "must match the name of the model repository
/// directory"), `platform: "tensorrt_plan"` and `max_batch_size: 0` (our plans are explicit-batch:
/// dynamic batch comes from the shape profile, not Triton's implicit batch dimension; triton.md §2).
/// Inputs and outputs are left to Triton's auto-complete, which reads them from the plan itself
/// and is on by default (it is switched off only with `--disable-auto-complete-config`, Triton
/// release notes). The plan is the authority on its bindings; copying ONNX input shapes into the
/// config could only disagree with it.
///
/// Files are written to a temporary name and renamed, so a serving container that starts early
/// never sees half a plan.
public enum ModelRepositoryLayout {
  /// The config.pbtxt text for `name`.
  public static func tritonConfig(name: String) -> String {
    """
    name: "\(name)"
    platform: "tensorrt_plan"
    max_batch_size: 0

    """
  }

  /// Copies `plan` into the layout; returns the path of the installed `model.plan`.
  @discardableResult
  public static func install(plan: String, request: EngineBuildRequest) throws -> String {
    let files = FileManager.default
    let planDirectory: String
    switch request.layout {
    case .plain:
      planDirectory = request.outputDirectory
    case .triton:
      let modelDirectory = "\(request.outputDirectory)/\(request.modelName)"
      planDirectory = "\(modelDirectory)/\(request.modelVersion)"
      try files.createDirectory(atPath: planDirectory, withIntermediateDirectories: true)
      try writeAtomically(Array(tritonConfig(name: request.modelName).utf8), to: "\(modelDirectory)/config.pbtxt")
    }
    try files.createDirectory(atPath: planDirectory, withIntermediateDirectories: true)
    let destination = "\(planDirectory)/model.plan"
    // Not synced, like the rest of the emptyDir; truncated if a killed run of this pid left it.
    let temporary = "\(planDirectory)/.model.plan.\(ProcessInfo.processInfo.processIdentifier)"
    try FileWrite.copy(from: plan, to: temporary, durable: false)
    try EngineCache.replace(destination, with: temporary)
    return destination
  }

  /// The pod's emptyDir: replaced atomically, not synced (it does not outlive the pod).
  private static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
    let temporary = path + ".\(ProcessInfo.processInfo.processIdentifier).tmp"
    try FileWrite.write(bytes, to: temporary, durable: false)
    try EngineCache.replace(path, with: temporary)
  }
}
