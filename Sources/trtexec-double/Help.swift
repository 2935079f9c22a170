/// trtexec's `--help` text, abridged to the options the double models.
///
/// The real `AllOptions::help` prints every option in sections (`=== Model Options ===`,
/// `=== Build Options ===`, …) with these help strings (`sampleOptions.cpp` @v10.3.0, trtexec.md §1).
enum Help {
  static func text(for v: TensorRTVersion) -> String {
    var build = [
      "  --minShapes=spec                   Build with dynamic shapes using a profile with the min shapes provided",
      "  --optShapes=spec                   Build with dynamic shapes using a profile with the opt shapes provided",
      "  --maxShapes=spec                   Build with dynamic shapes using a profile with the max shapes provided",
      "  --memPoolSize=poolspec             Specify the size constraints of the designated memory pool(s) in MiB.",
      "  --fp16                             Enable fp16 precision, in addition to fp32 (default = disabled)",
      "  --int8                             Enable int8 precision, in addition to fp32 (default = disabled)",
      "  --best                             Enable all precisions to achieve the best performance (default = disabled)",
      "  --calib=<file>                     Read INT8 calibration cache file",
      "  --saveEngine=<file>                Save the serialized engine",
      "  --loadEngine=<file>                Load a serialized engine",
      "  --timingCacheFile=<file>           Save/load the serialized global timing cache",
    ]
    if v.major < 10 {
      build.append("  --workspace=N                      Set workspace size in MiB.")
      build.append("  --explicitBatch                    Use explicit batch sizes when building the engine (default = implicit)")
    }
    if v < .v(8, 6) {
      build.append("  --buildOnly                        Exit after the engine has been built and skip inference perf measurement (default = disabled)")
    } else {
      build.append("  --skipInference                    Exit after the engine has been built and skip inference perf measurement (default = disabled)")
    }
    return ([
      "=== Model Options ===",
      "  --onnx=<file>                      ONNX model",
      "",
      "=== Build Options ===",
    ] + build + [
      "",
      "=== System Options ===",
      "  --useDLACore=N                     Select DLA core N for layers that support DLA (default = none)",
      "  --allowGPUFallback                 When DLA is enabled, allow GPU fallback for unsupported layers (default = disabled)",
      "",
      "=== Reporting Options ===",
      "  --verbose                          Use verbose logging (default = false)",
      "",
      "=== Help ===",
      "  --help, -h                         Print this message",
      "",
    ]).joined(separator: "\n")
  }
}
