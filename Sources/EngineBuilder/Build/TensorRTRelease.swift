/// A TensorRT version as `trtexec` announces it in `[TensorRT v<NV_TENSORRT_VERSION>]`.
///
/// `NV_TENSORRT_VERSION` is `major*1000 + minor*100 + patch` before TensorRT 10 and
/// `major*10000 + minor*100 + patch` from 10 on (shared/reference/jetson/trtexec.md §3), so a tag of
/// 100000 or more is a 10.x+ release: `8502` → 8.5.2, `100300` → 10.3.0.
public struct TensorRTRelease: Sendable, Equatable, Comparable, CustomStringConvertible {
  public var major: Int
  public var minor: Int
  public var patch: Int

  public init(major: Int, minor: Int, patch: Int) {
    self.major = major
    self.minor = minor
    self.patch = patch
  }

  public init(tag: Int) {
    if tag >= 100_000 {
      self.init(major: tag / 10_000, minor: tag / 100 % 100, patch: tag % 100)
    } else {
      self.init(major: tag / 1000, minor: tag / 100 % 10, patch: tag % 100)
    }
  }

  public var description: String { "\(major).\(minor).\(patch)" }

  public static func < (a: TensorRTRelease, b: TensorRTRelease) -> Bool {
    (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch)
  }
}
