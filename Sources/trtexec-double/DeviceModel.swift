import Foundation

/// The one TensorRT installation on one device this double stands for.
///
/// Told by the environment (docs/edgemodel-contracts.md §3): `EDGEML_TRTEXEC_TENSORRT` (default
/// `10.3.0`), `EDGEML_TRTEXEC_COMPUTE` (default `8.7`, Orin), `EDGEML_TRTEXEC_DLA_CORES` (default
/// `2`) and `EDGEML_TRTEXEC_BUILD_SECONDS` (default `0`).
struct DeviceModel {
  var tensorRT: TensorRTVersion
  var compute: String
  var dlaCores: Int
  var buildSeconds: Double

  /// Reads the model from the environment; a malformed value is reported, not guessed around.
  static func from(environment: [String: String]) -> Result<DeviceModel, DeviceModelError> {
    let trtText = environment["EDGEML_TRTEXEC_TENSORRT"] ?? "10.3.0"
    guard let trt = TensorRTVersion(trtText) else { return .failure(.init(variable: "EDGEML_TRTEXEC_TENSORRT", value: trtText)) }
    let compute = environment["EDGEML_TRTEXEC_COMPUTE"] ?? "8.7"
    let computeParts = compute.split(separator: ".")
    guard computeParts.count == 2, computeParts.allSatisfy({ Int($0) != nil }) else {
      return .failure(.init(variable: "EDGEML_TRTEXEC_COMPUTE", value: compute))
    }
    let dlaText = environment["EDGEML_TRTEXEC_DLA_CORES"] ?? "2"
    guard let dla = Int(dlaText), dla >= 0 else { return .failure(.init(variable: "EDGEML_TRTEXEC_DLA_CORES", value: dlaText)) }
    let secondsText = environment["EDGEML_TRTEXEC_BUILD_SECONDS"] ?? "0"
    guard let seconds = Double(secondsText), seconds >= 0, seconds.isFinite else {
      return .failure(.init(variable: "EDGEML_TRTEXEC_BUILD_SECONDS", value: secondsText))
    }
    return .success(DeviceModel(tensorRT: trt, compute: compute, dlaCores: dla, buildSeconds: seconds))
  }
}

/// An `EDGEML_TRTEXEC_*` variable the double cannot use.
struct DeviceModelError: Error {
  var variable: String
  var value: String
}
