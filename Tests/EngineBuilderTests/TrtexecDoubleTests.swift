import Foundation
import Testing

/// The trtexec double behaves as trtexec of the release it models (shared/reference/jetson/trtexec.md).
@Suite("trtexec-double")
struct TrtexecDoubleTests {
  let box: Sandbox
  let model: String
  init() throws {
    box = try Sandbox()
    model = try box.write("model.onnx", ONNXFixture.model())
  }

  @Test("A build prints RUNNING first and PASSED last, exits 0 and writes a plan")
  func buildPasses() async throws {
    let out = try await box.trtexec(["--onnx=\(model)", "--saveEngine=\(box.path("m.plan"))", "--fp16", "--skipInference"])
    #expect(out.status == 0)
    let lines = out.stdoutLines
    #expect(lines.first?.hasPrefix("&&&& RUNNING TensorRT.trtexec [TensorRT v100300] # ") == true)
    #expect(lines.last?.hasPrefix("&&&& PASSED TensorRT.trtexec [TensorRT v100300] # ") == true)
    #expect(lines.last?.hasSuffix("--onnx=\(model) --saveEngine=\(box.path("m.plan")) --fp16 --skipInference") == true)
    #expect(out.stdout.contains("[I] Engine built in "))
    #expect(out.stdout.contains("[I] Created engine with size: "))
    #expect(out.stdout.contains("[I] Skipped inference phase since --skipInference is added."))
    let prefix = try #require(lines.dropFirst().first)
    #expect(prefix.range(of: #"^\[\d{2}/\d{2}/\d{4}-\d{2}:\d{2}:\d{2}\] \[I\] "#, options: .regularExpression) != nil)
    let plan = try #require(box.read("m.plan"))
    let onnxSize = try #require(box.read("model.onnx")).count
    #expect(plan.count > 2 * onnxSize)
  }

  @Test("TensorRT 10.3 rejects --workspace, --explicitBatch and --buildOnly as unknown options")
  func removedFlagsOn10() async throws {
    let out = try await box.trtexec(["--onnx=\(model)", "--explicitBatch", "--workspace=2048", "--buildOnly"])
    #expect(out.status == 1)
    #expect(out.stderr.contains("[E] Unknown option: --workspace 2048"))
    #expect(out.stderr.contains("[E] Unknown option: --explicitBatch "))
    #expect(out.stderr.contains("[E] Unknown option: --buildOnly "))
    #expect(out.stdout.contains("=== Build Options ==="))   // help printed first
    #expect(out.stdoutLines.last?.hasPrefix("&&&& FAILED TensorRT.trtexec [TensorRT v100300] # ") == true)
  }

  @Test("TensorRT 8.5.2 warns about --workspace and --explicitBatch, takes --buildOnly, and passes")
  func deprecatedFlagsOn85() async throws {
    let out = try await box.trtexec(["--onnx=\(model)", "--explicitBatch", "--workspace=2048", "--buildOnly"],
                                    environment: ["EDGEML_TRTEXEC_TENSORRT": "8.5.2"])
    #expect(out.status == 0)
    #expect(out.stderr.contains("[W] --workspace flag has been deprecated by --memPoolSize flag."))
    #expect(out.stderr.contains("[W] --explicitBatch flag has been deprecated and has no effect!"))
    #expect(out.stdout.contains("Skipped inference phase since --buildOnly is added."))
    #expect(out.stdoutLines.last?.hasPrefix("&&&& PASSED TensorRT.trtexec [TensorRT v8502] # ") == true)
    // and --skipInference does not exist yet in 8.5.2
    let skip = try await box.trtexec(["--onnx=\(model)", "--skipInference"], environment: ["EDGEML_TRTEXEC_TENSORRT": "8.5.2"])
    #expect(skip.status == 1)
    #expect(skip.stderr.contains("[E] Unknown option: --skipInference "))
  }

  @Test("TensorRT 8.6 warns that --buildOnly is deprecated by --skipInference")
  func buildOnlyOn86() async throws {
    let out = try await box.trtexec(["--onnx=\(model)", "--buildOnly"], environment: ["EDGEML_TRTEXEC_TENSORRT": "8.6.2"])
    #expect(out.status == 0)
    #expect(out.stderr.contains("[W] --buildOnly flag has been deprecated by --skipInference flag."))
    #expect(out.stdout.contains("&&&& PASSED TensorRT.trtexec [TensorRT v8602]"))
  }

  @Test("'--flag value' is not an option form: the value becomes an unknown option")
  func spaceSeparatedValue() async throws {
    let out = try await box.trtexec(["--onnx", model])
    #expect(out.status == 1)
    #expect(out.stderr.contains("[E] Unknown option: \(model) "))
  }

  @Test("--help prints help, exits 0 and reports no result")
  func help() async throws {
    let out = try await box.trtexec(["--help"])
    #expect(out.status == 0)
    #expect(out.stdoutLines.first?.hasPrefix("&&&& RUNNING") == true)
    #expect(!out.stdout.contains("&&&& PASSED"))
    #expect(out.stdout.contains("--skipInference"))
  }

  @Test("A file that is not ONNX protobuf fails with the parser's tail")
  func notONNX() async throws {
    let bad = try box.write("bad.onnx", Array("this is not a model".utf8))
    let out = try await box.trtexec(["--onnx=\(bad)"])
    #expect(out.status == 1)
    for line in ["[E] [TRT] ModelImporter.cpp:914: Failed to parse ONNX model from file: \(bad)!", "[E] Failed to parse onnx file",
                 "[E] Parsing model failed", "[E] Failed to create engine from model or file.", "[E] Engine set up failed"] {
      #expect(out.stderr.contains(line))
    }
    #expect(out.stdoutLines.last?.hasPrefix("&&&& FAILED") == true)
  }

  @Test("Shape names must be graph inputs")
  func shapeNames() async throws {
    let out = try await box.trtexec(["--onnx=\(model)", "--minShapes=input:1x3x64x64", "--optShapes=input:1x3x64x64", "--maxShapes=input:1x3x64x64"])
    #expect(out.status == 1)
    #expect(out.stderr.contains("[E] Cannot find input tensor with name \"input\" in the network inputs! Please make sure the input tensor names are correct."))
    let ok = try await box.trtexec(["--onnx=\(model)", "--minShapes=images:1x3x64x64", "--optShapes=images:2x3x64x64", "--maxShapes=images:4x3x64x64", "--skipInference"])
    #expect(ok.status == 0)
    #expect(ok.stdout.contains("Set shape of input tensor images for optimization profile 0 to: MIN=1x3x64x64 OPT=2x3x64x64 MAX=4x3x64x64"))
  }

  @Test("DLA: no core, a core out of range, unsupported layers without fallback and dynamic shapes fail",
        arguments: [
          (["--useDLACore=0"], ["EDGEML_TRTEXEC_DLA_CORES": "0"], "[E] Cannot create DLA engine, 0 not available", false),
          (["--useDLACore=2"], [:], "[E] Cannot create DLA engine, 2 not available", false),
          (["--useDLACore=1"], [:], "cannot run on DLA core 1 and GPU fallback is not enabled", true),
          (["--useDLACore=1", "--allowGPUFallback"], [:], "", true),
          (["--useDLACore=0", "--minShapes=images:1x3x64x64", "--optShapes=images:2x3x64x64", "--maxShapes=images:4x3x64x64"], [:],
           "DLA does not support dynamic dimensions", false),
        ] as [([String], [String: String], String, Bool)])
  func dla(_ flags: [String], _ env: [String: String], _ error: String, _ withNMS: Bool) async throws {
    let onnx = withNMS ? try box.write("nms.onnx", ONNXFixture.model(ops: ["Conv", "NonMaxSuppression"])) : model
    let out = try await box.trtexec(["--onnx=\(onnx)", "--skipInference"] + flags, environment: env)
    if error.isEmpty {
      #expect(out.status == 0)
      #expect(out.stderr.contains("[W] [TRT] Layer 'NonMaxSuppression': Unsupported on DLA. Switching this layer's device type to GPU."))
    } else {
      #expect(out.status == 1)
      #expect(out.stderr.contains(error))
      #expect(out.stderr.contains("[E] Engine set up failed"))
    }
  }

  @Test("--int8 without --calib warns and passes")
  func int8WithoutCalibration() async throws {
    let out = try await box.trtexec(["--onnx=\(model)", "--int8", "--skipInference"])
    #expect(out.status == 0)
    #expect(out.stderr.contains("[W] [TRT] Calibrator is not being used."))
  }

  @Test("Inference prints trtexec's throughput and latency summary")
  func inferenceSummary() async throws {
    let out = try await box.trtexec(["--onnx=\(model)", "--fp16"])
    #expect(out.status == 0)
    #expect(out.stdout.range(of: #"\[I\] Throughput: [0-9.]+ qps"#, options: .regularExpression) != nil)
    #expect(out.stdout.range(of: #"\[I\] Latency: min = [0-9.]+ ms, max = [0-9.]+ ms, mean = [0-9.]+ ms, median = [0-9.]+ ms, percentile\(90%\) = [0-9.]+ ms, percentile\(95%\) = [0-9.]+ ms, percentile\(99%\) = [0-9.]+ ms"#, options: .regularExpression) != nil)
  }

  @Test("A plan from another TensorRT or another GPU is refused with TensorRT's messages",
        arguments: [
          (["EDGEML_TRTEXEC_TENSORRT": "10.3.0.31"], "The engine plan file is not compatible with this version of TensorRT, expecting library version 10.3.0.31 got 10.3.0.30, please rebuild."),
          (["EDGEML_TRTEXEC_TENSORRT": "8.6.2"], "Serialization assertion magicTagRead == kMAGIC_TAG failed.Magic tag does not match"),
          (["EDGEML_TRTEXEC_COMPUTE": "7.2"], "The engine plan file is generated on an incompatible device, expecting compute 7.2 got compute 8.7, please rebuild."),
        ] as [([String: String], String)])
  func incompatiblePlan(_ env: [String: String], _ message: String) async throws {
    let plan = box.path("m.plan")
    let built = try await box.trtexec(["--onnx=\(model)", "--saveEngine=\(plan)", "--skipInference"])
    try #require(built.status == 0)
    let same = try await box.trtexec(["--loadEngine=\(plan)", "--skipInference"])
    #expect(same.status == 0)
    let out = try await box.trtexec(["--loadEngine=\(plan)"], environment: env)
    #expect(out.status == 1)
    #expect(out.stderr.contains(message))
    #expect(out.stderr.contains("[E] Engine deserialization failed"))
    #expect(out.stderr.contains("[E] Inference set up failed"))
  }

  @Test("Plans are deterministic in the model and the options")
  func deterministic() async throws {
    for (name, flags) in [("a", ["--fp16"]), ("b", ["--fp16"]), ("c", ["--int8"])] {
      let out = try await box.trtexec(["--onnx=\(model)", "--saveEngine=\(box.path(name))", "--skipInference"] + flags)
      try #require(out.status == 0)
    }
    #expect(box.read("a") == box.read("b"))
    #expect(box.read("a") != box.read("c"))
  }
}
