/// The `trtexec` command line for one build, written for the TensorRT release that will run it.
///
/// Every option uses the `--flag=value` form: trtexec splits each argument at its first `=` and has
/// no `--flag value` form (`argsToArgumentsMap`, `sampleOptions.cpp` @v10.3.0 l.937).
/// Per release (shared/reference/jetson/trtexec.md §1-2):
/// * workspace: `--memPoolSize=workspace:<N>M` from 8.4 on (8.5 and 8.6 still take `--workspace`
///   with a deprecation warning, 10.x rejects it); `--workspace=<N>` before 8.4;
/// * skipping inference: `--skipInference` from 8.6 on; `--buildOnly` before (8.6 deprecates it,
///   10.x rejects it). Inference is skipped unless an acceptance gate needs trtexec's timing;
/// * precision: nothing for fp32, `--fp16`, `--int8` (with `--calib=<file>` when a calibration
///   cache is given; without one trtexec uses dummy ranges), `--best`;
/// * DLA: `--useDLACore=N`, plus `--allowGPUFallback` when asked;
/// * shapes: `--minShapes=`, `--optShapes=`, `--maxShapes=`;
/// * `--timingCacheFile=<cache-dir>/timing.cache`, shared by every build on the node.
public struct TrtexecArguments: Sendable, Equatable {
  public var modelPath: String
  public var enginePath: String
  public var calibrationPath: String?
  public var timingCachePath: String
  public var measure: Bool

  public init(modelPath: String, enginePath: String, calibrationPath: String?, timingCachePath: String, measure: Bool) {
    self.modelPath = modelPath
    self.enginePath = enginePath
    self.calibrationPath = calibrationPath
    self.timingCachePath = timingCachePath
    self.measure = measure
  }

  public func arguments(for request: EngineBuildRequest, release: TensorRTRelease) -> [String] {
    var a = ["--onnx=\(modelPath)", "--saveEngine=\(enginePath)"]
    switch request.precision {
    case .fp32: break
    case .fp16: a.append("--fp16")
    case .int8: a.append("--int8")
    case .best: a.append("--best")
    }
    if let calibrationPath { a.append("--calib=\(calibrationPath)") }
    if let mib = request.workspaceMiB {
      a.append(release >= TensorRTRelease(major: 8, minor: 4, patch: 0) ? "--memPoolSize=workspace:\(mib)M" : "--workspace=\(mib)")
    }
    if let shapes = request.shapes {
      a += ["--minShapes=\(shapes.min)", "--optShapes=\(shapes.opt)", "--maxShapes=\(shapes.max)"]
    }
    if let core = request.dlaCore {
      a.append("--useDLACore=\(core)")
      if request.allowGPUFallback { a.append("--allowGPUFallback") }
    }
    a.append("--timingCacheFile=\(timingCachePath)")
    if !measure {
      a.append(release >= TensorRTRelease(major: 8, minor: 6, patch: 0) ? "--skipInference" : "--buildOnly")
    }
    return a
  }
}
