/// What the node agent knows about one Jetson: the facts behind the `edgeml.io/*` node labels.
///
/// A nil property is a fact that could not be read; `NodeFacts.read(from:)` says why in its
/// warnings. See docs/edgemodel-contracts.md §1 for where each fact comes from.
public struct NodeFacts: Sendable, Equatable {
  /// The CRD's module name, e.g. `orin-nx-16gb`.
  public var module: String?
  /// The SoC, e.g. `tegra234`.
  public var soc: String?
  /// The GPU's CUDA compute capability as `sm_XY`, e.g. `sm_87`.
  public var gpuArch: String?
  /// The L4T release, e.g. `36.4.3`.
  public var l4t: String?
  /// The JetPack release for that L4T, e.g. `6.2`.
  public var jetpack: String?
  /// TensorRT as `major.minor.patch`, e.g. `10.3.0`.
  public var tensorRT: String?
  /// CUDA as `major.minor`, e.g. `12.6`.
  public var cuda: String?
  /// Deep Learning Accelerator cores (0 on Orin Nano).
  public var dlaCores: Int?
  /// `MemTotal` in KiB, as `/proc/meminfo` reports it.
  public var memTotalKiB: Int?
  /// The nvpmodel power mode's name, e.g. `MAXN` or `15W`.
  public var powerMode: String?
  /// Whether the ODM production-mode fuse (secure boot) is burnt.
  public var secureBoot: Bool?

  public init(module: String? = nil, soc: String? = nil, gpuArch: String? = nil, l4t: String? = nil, jetpack: String? = nil,
              tensorRT: String? = nil, cuda: String? = nil, dlaCores: Int? = nil, memTotalKiB: Int? = nil,
              powerMode: String? = nil, secureBoot: Bool? = nil) {
    self.module = module; self.soc = soc; self.gpuArch = gpuArch; self.l4t = l4t; self.jetpack = jetpack
    self.tensorRT = tensorRT; self.cuda = cuda; self.dlaCores = dlaCores; self.memTotalKiB = memTotalKiB
    self.powerMode = powerMode; self.secureBoot = secureBoot
  }

  /// `MemTotal` in MiB, rounded down.
  public var memoryMiB: Int? { memTotalKiB.map { $0 / 1024 } }
}

/// The facts read from one root, with the problems met on the way.
public struct NodeFactsReport: Sendable, Equatable {
  public var facts: NodeFacts
  /// One entry per fact that could not be read (its label is left out).
  public var warnings: [FactWarning]
}
