/// The TensorRT release a `trtexec` binary belongs to.
///
/// Facts modelled (shared/reference/jetson/trtexec.md §3, §5):
/// * `NV_TENSORRT_VERSION` is `major*1000 + minor*100 + patch` up to TensorRT 9
///   (`NvInferRuntimeCommon.h` @8.5.2) and `major*10000 + minor*100 + patch` from TensorRT 10 on
///   (`NvInferRuntimeBase.h` @v10.3.0): 8.5.2 → `8502`, 10.3.0 → `100300`.
/// * The library version a plan records has four parts; the build numbers JetPack ships are
///   8.5.2.2 (JetPack 5.1.2), 8.6.2.3 (JetPack 6.0) and 10.3.0.30 (JetPack 6.1/6.2) (§5 table).
struct TensorRTVersion: Equatable, Comparable, CustomStringConvertible {
  var major: Int
  var minor: Int
  var patch: Int
  /// The fourth component (build number) as JetPack ships it; 0 when unknown.
  var build: Int

  init(major: Int, minor: Int, patch: Int, build: Int = 0) {
    self.major = major
    self.minor = minor
    self.patch = patch
    self.build = build
  }

  /// Parses `10.3.0` or `10.3.0.30`.
  init?(_ text: String) {
    let parts = text.split(separator: ".", omittingEmptySubsequences: false).compactMap { part -> Int? in UInt(part).map { Int($0) } }
    guard parts.count >= 3, parts.count <= 4, parts.count == text.split(separator: ".", omittingEmptySubsequences: false).count
    else { return nil }
    major = parts[0]
    minor = parts[1]
    patch = parts[2]
    if parts.count == 4 {
      build = parts[3]
    } else {
      // JetPack's build numbers (trtexec.md §5); other releases get 0.
      switch (major, minor, patch) {
      case (8, 5, 2): build = 2
      case (8, 6, 2): build = 3
      case (10, 3, 0): build = 30
      default: build = 0
      }
    }
  }

  /// `NV_TENSORRT_VERSION` as printed in `[TensorRT v…]`.
  var tag: Int { major >= 10 ? major * 10000 + minor * 100 + patch : major * 1000 + minor * 100 + patch }
  /// `major.minor.patch`.
  var description: String { "\(major).\(minor).\(patch)" }
  /// `major.minor.patch.build`, as the plan-compatibility errors print it.
  var libraryVersion: String { "\(description).\(build)" }

  static func < (a: TensorRTVersion, b: TensorRTVersion) -> Bool {
    (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch)
  }
  static func == (a: TensorRTVersion, b: TensorRTVersion) -> Bool {
    (a.major, a.minor, a.patch) == (b.major, b.minor, b.patch)
  }
  static func v(_ major: Int, _ minor: Int, _ patch: Int = 0) -> TensorRTVersion {
    TensorRTVersion(major: major, minor: minor, patch: patch)
  }
}
