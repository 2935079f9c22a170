import Foundation

/// One run of the double: what `/usr/src/tensorrt/bin/trtexec` of the modelled release would print
/// and write for this command line.
///
/// The order of a run follows `main` in `samples/trtexec/trtexec.cpp` @v10.3.0 (l.211-420; 8.5.2
/// has the same skeleton):
/// 1. `&&&& RUNNING TensorRT.trtexec [TensorRT v<tag>] # <argv joined by spaces>` (`reportTestStart`);
///    from TensorRT 10.7 the name gains ` [b<build>]` (trtexec.md §3).
/// 2. `--help`/`-h` → help on stdout, exit 0 with no result line (l.223-227).
/// 3. Options parsed; an `std::invalid_argument` → help, `[E] <what>`, FAILED (l.247-251); leftover
///    arguments → help, one `[E] Unknown option: <key> <value>` each, FAILED (l.236-246); no
///    arguments at all → help and PASSED (l.256-264). Without a model or `--loadEngine` the parse
///    throws "Model missing or format not recognized" (`sampleOptions.cpp` l.1766).
/// 4. Build from ONNX, or load a plan; failures end with `[E] Engine set up failed` (l.320) or
///    `[E] Inference set up failed` (l.439), then FAILED.
/// 5. `--skipInference` (`--buildOnly` on 8.5) → "Skipped inference phase since --skipInference is
///    added." and PASSED (l.381-384); otherwise "Starting inference", the performance summary, PASSED.
/// Result lines: `reportPass` exits 0, `reportFail` exits 1 (`logging.h` l.418-433).
struct Trtexec {
  var device: DeviceModel
  var arguments: [String]
  var console = Console()

  private var testName: String {
    let v = device.tensorRT
    return "TensorRT.trtexec [TensorRT v\(v.tag)]" + (v >= .v(10, 7) ? " [b\(v.build)]" : "")
  }
  private var commandLine: String { arguments.joined(separator: " ") }

  private func pass() -> Int32 { console.raw("&&&& PASSED \(testName) # \(commandLine)\n"); return 0 }
  private func fail() -> Int32 { console.raw("&&&& FAILED \(testName) # \(commandLine)\n"); return 1 }

  mutating func run() -> Int32 {
    console.raw("&&&& RUNNING \(testName) # \(commandLine)\n")
    var args = ArgumentMap(arguments.dropFirst())
    let helpLong = args.takeFlag("--help")
    let helpShort = args.takeFlag("-h")
    if helpLong || helpShort {
      console.raw(Help.text(for: device.tensorRT))
      return 0
    }
    if args.isEmpty {
      console.raw(Help.text(for: device.tensorRT))
      return pass()
    }
    let options: TrtexecOptions
    do throws(TrtexecOptions.InvalidArgument) {
      options = try TrtexecOptions.parse(&args, version: device.tensorRT)
      if options.onnx == nil && options.loadEngine == nil {
        throw TrtexecOptions.InvalidArgument(message: "Model missing or format not recognized")
      }
    } catch {
      console.raw(Help.text(for: device.tensorRT))
      console.error(error.message)
      return fail()
    }
    if !args.isEmpty {
      console.raw(Help.text(for: device.tensorRT))
      for entry in args.entries { console.error("Unknown option: \(entry.key) \(entry.value)") }
      return fail()
    }
    console.verbose = options.verbose
    for warning in options.warnings { console.warning(warning) }
    logOptions(options)
    console.info("")
    console.info("TensorRT version: \(device.tensorRT)")
    if let plan = options.loadEngine { return load(plan, options) }
    return build(options)
  }

  /// The `=== … Options ===` block trtexec prints after parsing (abridged: the real block lists
  /// every option; these are the ones the double models).
  private func logOptions(_ o: TrtexecOptions) {
    console.info("=== Model Options ===")
    console.info("Format: \(o.onnx != nil ? "ONNX" : "*")")
    console.info("Model: \(o.onnx ?? "")")
    console.info("Output:")
    console.info("=== Build Options ===")
    console.info("Memory Pools: workspace: \(o.workspaceMiB.map { String(format: "%g", $0) + " MiB" } ?? "Default")")
    console.info("Precision: \(o.precision.uppercased())")
    console.info("Calibration: \(o.int8 ? (o.calib ?? "Dynamic") : "")")
    console.info("Save engine: \(o.saveEngine ?? "")")
    console.info("Load engine: \(o.loadEngine ?? "")")
    console.info("timingCacheMode: \(o.timingCacheFile != nil ? "global" : "local")")
    console.info("timingCacheFile: \(o.timingCacheFile ?? "")")
    console.info("=== System Options ===")
    console.info("DLACore: \(o.dlaCore.map(String.init) ?? "")")
  }

  // MARK: build

  /// The failure chain when the builder gets no network or no engine (`sampleEngines.cpp`
  /// @v10.3.0: `SMP_RETVAL_IF_FALSE` messages at l.1210, l.1294, l.1480, then trtexec.cpp l.320).
  private func buildFailed(after first: String) -> Int32 {
    console.error(first)
    console.error("Building engine failed")
    console.error("Failed to create engine from model or file.")
    console.error("Engine set up failed")
    return fail()
  }

  private func build(_ o: TrtexecOptions) -> Int32 {
    let path = o.onnx ?? ""
    console.info("Start parsing network model.")
    let started = Date()
    let bytes = FileManager.default.contents(atPath: path).map { [UInt8]($0) }
    guard let bytes, let model = ONNXModel(bytes: bytes) else {
      // onnx-tensorrt's message (real log, find_string id 53856912799: "ModelImporter.cpp:914:
      // Failed to parse ONNX model from file: model.onnx!"); then trtexec's chain (sampleEngines.cpp
      // @v10.3.0 l.256, l.288, l.1260, l.1480; trtexec.cpp l.320; trtexec.md §3 "build-failure tail").
      console.library(.error, "ModelImporter.cpp:914: Failed to parse ONNX model from file: \(path)!")
      console.error("Failed to parse onnx file")
      logParseFinished(started)
      console.error("Parsing model failed")
      console.error("Failed to create engine from model or file.")
      console.error("Engine set up failed")
      return fail()
    }
    logParseFinished(started)

    // Shape names must be graph inputs (sampleEngines.cpp @v10.3.0 l.700-719), and a failed
    // setupNetworkAndConfig is reported as "Network And Config setup failed" (l.1192).
    let inputNames = model.inputs.map(\.name)
    for (name, _) in o.minShapes + o.optShapes + o.maxShapes where !inputNames.contains(name) {
      console.error("Cannot find input tensor with name \"\(name)\" in the network inputs! Please make sure the input tensor names are correct.")
      return buildFailed(after: "Network And Config setup failed")
    }
    var shapes: [String: [[Int]]] = [:]
    for input in model.inputs {
      let min = o.minShapes.first { $0.0 == input.name }?.1
      let opt = o.optShapes.first { $0.0 == input.name }?.1
      let max = o.maxShapes.first { $0.0 == input.name }?.1
      // A missing one is broadcast from the others (processShapes, sampleOptions.cpp l.1195-1260).
      guard let any = opt ?? max ?? min else {
        let fixed = input.dims.map { $0.map { $0 > 0 ? $0 : 1 } ?? 1 }
        if input.isDynamic {
          console.warning("Dynamic dimensions required for input: \(input.name), but no shapes were provided. Automatically overriding shape to: \(fixed.map(String.init).joined(separator: "x"))")
        }
        shapes[input.name] = [fixed, fixed, fixed]
        continue
      }
      let triple = [min ?? opt ?? any, opt ?? max ?? any, max ?? opt ?? any]
      shapes[input.name] = triple
      console.info("Set shape of input tensor \(input.name) for optimization profile 0 to: MIN=\(dims(triple[0])) OPT=\(dims(triple[1])) MAX=\(dims(triple[2]))")
    }

    if let core = o.dlaCore {
      // "Cannot create DLA engine, N not available" when N >= getNbDLACores() (l.1123-1151); with 0
      // cores every N is unavailable.
      guard core < device.dlaCores else {
        console.error("Cannot create DLA engine, \(core) not available")
        return buildFailed(after: "Network And Config setup failed")
      }
      // "DLA does not support dynamic dimensions, so the profile's min, max, and opt values must be
      // equal" (DLA Supported Layers and Restrictions). The builder returns no engine; the exact
      // TensorRT error line is NOT VERIFIED (no real log found), the chain after it is.
      if let (name, triple) = shapes.first(where: { $0.value[0] != $0.value[2] }) {
        console.log(.error, "Error[2]: [dlaUtils.cpp::validate] DLA does not support dynamic dimensions: input \(name) has MIN=\(dims(triple[0])) MAX=\(dims(triple[2])); min, opt and max must be equal on DLA.")
        return buildFailed(after: "Engine could not be created from network")
      }
      let unsupported = model.operatorTypes.filter { !DLASupport.operators.contains($0) }
      if !unsupported.isEmpty {
        if o.allowGPUFallback {
          // Real warning shape (pastebin.com/r3meGUdD, TensorRT 8.x on Jetson).
          for op in unsupported { console.library(.warning, "Layer '\(op)': Unsupported on DLA. Switching this layer's device type to GPU.") }
        } else {
          // TensorRT "can emit an error" without GPU fallback (DLA restrictions page); text NOT VERIFIED.
          console.log(.error, "Error[2]: [network.cpp::validate] Layer '\(unsupported[0])' (\(unsupported[0])) cannot run on DLA core \(core) and GPU fallback is not enabled (--allowGPUFallback).")
          return buildFailed(after: "Engine could not be created from network")
        }
      }
    }
    if o.int8 && o.calib == nil {
      // No calibration cache: trtexec sets dummy ranges and TensorRT warns, the build passes
      // (sampleEngines.cpp @v10.3.0 l.995-1000; warning text from a real 10.x log, find_string id 12070031452).
      console.library(.warning, "Calibrator is not being used. Users must provide dynamic range for all tensors that are not Int32 or Bool.")
    }

    if device.buildSeconds > 0 { Thread.sleep(forTimeInterval: device.buildSeconds) }
    let buildTime = Date().timeIntervalSince(started)
    let precision = o.precision
    let latency = PerformanceModel.meanLatency(modelBytes: bytes.count, nodes: model.operatorTypes.count,
                                               precision: precision, onDLA: o.dlaCore != nil)
    let header = EngineFile.Header(tensorrt: device.tensorRT.libraryVersion, compute: device.compute, precision: precision,
                                   dlaCore: o.dlaCore ?? -1, shapes: shapes, inputs: inputNames, latencyMs: latency)
    let optionKey = "\(precision)|\(o.dlaCore ?? -1)|\(o.allowGPUFallback)|\(shapes.sorted { $0.key < $1.key })|\(device.tensorRT.libraryVersion)|\(device.compute)"
    let engine = EngineFile(header: header, body: EngineFile.body(model: bytes, options: optionKey, precision: precision))
    let plan = engine.bytes
    if device.tensorRT.major >= 10 {
      // Printed from 10.x on (sampleEngines.cpp @v10.3.0 l.1213-1214; absent @8.5.2 and @v8.6.1).
      console.info("Engine built in \(String(format: "%g", Float(buildTime))) sec.")
      console.info("Created engine with size: \(String(format: "%g", Float(Double(plan.count) / 1_048_576))) MiB")
    }
    if let cache = o.timingCacheFile { updateTimingCache(cache, key: optionKey) }
    if let out = o.saveEngine {
      guard FileManager.default.createFile(atPath: out, contents: Data(plan)) else {
        console.error("Cannot open engine file: \(out)")   // saveEngine (sampleEngines.cpp l.1443)
        console.error("Saving engine to file failed.")
        console.error("Engine set up failed")
        return fail()
      }
    }
    if o.skipInference {
      let flag = device.tensorRT < .v(8, 6) ? "--buildOnly" : "--skipInference"
      console.info("Skipped inference phase since \(flag) is added.")
      return pass()
    }
    return infer(latency)
  }

  private func logParseFinished(_ started: Date) {
    if device.tensorRT >= .v(8, 6) {
      console.info("Finished parsing network model. Parse time: \(String(format: "%g", Float(Date().timeIntervalSince(started))))")
    } else {
      console.info("Finish parsing network model")   // 8.5.2 sampleEngines.cpp l.280
    }
  }

  private func dims(_ d: [Int]) -> String { d.map(String.init).joined(separator: "x") }

  /// The global timing cache: read if present, written back with this build's entry.
  private func updateTimingCache(_ path: String, key: String) {
    var lines = (try? String(contentsOfFile: path, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? ["EDGEML-TRTEXEC-DOUBLE-TIMING-CACHE 1"]
    if lines.first != "EDGEML-TRTEXEC-DOUBLE-TIMING-CACHE 1" { lines = ["EDGEML-TRTEXEC-DOUBLE-TIMING-CACHE 1"] }
    if !lines.contains(key) { lines.append(key) }
    try? (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
  }

  // MARK: load

  /// `--loadEngine`: the plan must come from this TensorRT and this compute capability.
  ///
  /// Messages (trtexec.md §4): another TensorRT major → the serialization-version assertion
  /// (real TRT 10 log, id 41319842216; the `Error[1]:` prefix NOT VERIFIED); same major, other
  /// version → "The engine plan file is not compatible with this version of TensorRT, expecting
  /// library version X got Y, please rebuild." (TRT 10 form id 66213589037, TRT 8 form
  /// `[TRT] 6: …` id 4921384759); TensorRT 8 reading a foreign file → "Serialization assertion
  /// magicTagRead == kMAGIC_TAG failed.Magic tag does not match" followed by "Error Code 4: Internal
  /// Error (Engine deserialization failed.)" (real logs, ids 48690421080, 16183387705); other device → "The engine plan file is generated on an
  /// incompatible device, expecting compute X got compute Y, please rebuild." (id 15933178057,
  /// 33510651135). Then trtexec's own chain: "Engine deserialization failed", "Got invalid
  /// engine!", "Inference set up failed" (sampleEngines.cpp l.138, sampleInference.cpp l.300,
  /// trtexec.cpp l.439).
  private func load(_ path: String, _ o: TrtexecOptions) -> Int32 {
    guard let data = FileManager.default.contents(atPath: path) else {
      console.error("Error opening engine file: \(path)")   // loadStreamingEngineToBuildEnv l.1342
      console.error("Failed to create engine from model or file.")
      console.error("Engine set up failed")
      return fail()
    }
    let trt = device.tensorRT
    let engine = EngineFile.read([UInt8](data))
    let planVersion = engine.flatMap { TensorRTVersion($0.header.tensorrt) }
    // Each entry is one `[E] …` line.
    var problem: [String] = []
    let chain8 = "[TRT] 4: [runtime.cpp::deserializeCudaEngine::66] Error Code 4: Internal Error (Engine deserialization failed.)"
    if planVersion?.major != trt.major {   // not a plan, or another TensorRT major
      problem = trt.major >= 10
        ? ["Error[1]: [runtime.cpp::parsePlan::455] Error Code 1: Serialization (Serialization assertion plan->header.magicTag == rt::kPLAN_MAGIC_TAG failed.Trying to load an engine created with incompatible serialization version. Check that the engine was not created using safety runtime, same OS was used and version compatibility parameters were set accordingly.)"]
        : ["[TRT] 1: [stdArchiveReader.cpp::StdArchiveReader::32] Error Code 1: Serialization (Serialization assertion magicTagRead == kMAGIC_TAG failed.Magic tag does not match)", chain8]
    } else if let planVersion, planVersion.libraryVersion != trt.libraryVersion {
      let sentence = "The engine plan file is not compatible with this version of TensorRT, expecting library version \(trt.libraryVersion) got \(planVersion.libraryVersion), please rebuild."
      problem = trt.major >= 10
        ? ["Error[6]: IRuntime::deserializeCudaEngine: Error Code 6: API Usage Error (\(sentence) In checkEngineVersionCompatible at /_src/runtime/api/engine.cpp:871)"]
        : ["[TRT] 6: \(sentence)", chain8]
    } else if let engine, engine.header.compute != device.compute {
      let sentence = "The engine plan file is generated on an incompatible device, expecting compute \(device.compute) got compute \(engine.header.compute), please rebuild."
      problem = trt.major >= 10
        ? ["Error[6]: IRuntime::deserializeCudaEngine: Error Code 6: API Usage Error (\(sentence))"]
        : ["[TRT] INVALID_CONFIG: \(sentence)", chain8]
    }
    if !problem.isEmpty {
      for line in problem { console.error(line) }
      console.error("Engine deserialization failed")
      console.error("Got invalid engine!")
      console.error("Inference set up failed")
      return fail()
    }
    console.info("Engine deserialized in 0.00123 sec.")
    if o.skipInference {
      console.info("Skipped inference phase since \(trt < .v(8, 6) ? "--buildOnly" : "--skipInference") is added.")
      return pass()
    }
    return infer(engine?.header.latencyMs ?? 1)
  }

  private func infer(_ latencyMs: Double) -> Int32 {
    console.info("Starting inference")
    for line in PerformanceModel(meanMs: latencyMs).summary { console.info(line) }
    return pass()
  }
}
