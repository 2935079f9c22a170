/// One kind of simulated Jetson node: a module on one L4T release, with the facts a kubelet reports
/// and the facts the `trtexec` double models.
///
/// Facts come from shared/reference/jetson/node-facts.md §3 (compute capability, DLA cores, RAM) and
/// NVIDIA's L4T release notes (TensorRT, CUDA, kernel). `memoryMiB` is an approximate `MemTotal`
/// (less than the product name's RAM: the carve-outs). `baseBuildSeconds` is a documented guess for
/// building a small detector (YOLO-class ONNX, fp16) with trtexec; public reports only agree on the
/// order, AGX Orin fastest and Orin Nano slowest, with Xavier on TensorRT 8.5 behind the Orins.
public struct NodeKind: Sendable, Hashable {
  /// The name used in fleet specs (`orin-nx-16gb=3`) and as the node-name prefix.
  public var name: String
  /// The module name of the EdgeModel CRD enum (docs/edgemodel-contracts.md §1).
  public var module: String
  /// The NodeAgent fixture tree that describes this node's sysfs and procfs.
  public var fixture: String
  public var l4t: String
  public var tensorRT: String
  public var cuda: String
  /// CUDA compute capability, e.g. `8.7`.
  public var computeCapability: String
  public var dlaCores: Int
  public var cpuCores: Int
  public var memoryMiB: Int
  public var kernelVersion: String
  public var osImage: String
  /// Seconds a typical engine build takes on this module at speed factor 1.
  public var baseBuildSeconds: Double

  /// `sm_87` for compute capability 8.7.
  public var gpuArch: String { "sm_" + computeCapability.replacingOccurrences(of: ".", with: "") }

  public init(name: String, module: String, fixture: String, l4t: String, tensorRT: String, cuda: String,
              computeCapability: String, dlaCores: Int, cpuCores: Int, memoryMiB: Int, kernelVersion: String,
              osImage: String, baseBuildSeconds: Double) {
    self.name = name; self.module = module; self.fixture = fixture; self.l4t = l4t; self.tensorRT = tensorRT
    self.cuda = cuda; self.computeCapability = computeCapability; self.dlaCores = dlaCores; self.cpuCores = cpuCores
    self.memoryMiB = memoryMiB; self.kernelVersion = kernelVersion; self.osImage = osImage; self.baseBuildSeconds = baseBuildSeconds
  }
}

extension NodeKind {
  // JetPack 6 (L4T R36) ships Ubuntu 22.04 and kernel 5.15; JetPack 5 (R35) Ubuntu 20.04 and kernel 5.10.
  private static let jammy = "Ubuntu 22.04.5 LTS", focal = "Ubuntu 20.04.6 LTS"

  /// Orin NX 16GB on JetPack 6.2 (L4T 36.4.3).
  public static let orinNX16 = NodeKind(
    name: "orin-nx-16gb", module: "orin-nx-16gb", fixture: "orin-nx-16gb-r36.4.3", l4t: "36.4.3", tensorRT: "10.3.0",
    cuda: "12.6", computeCapability: "8.7", dlaCores: 2, cpuCores: 8, memoryMiB: 15_388, kernelVersion: "5.15.148-tegra",
    osImage: jammy, baseBuildSeconds: 150)
  /// AGX Orin 64GB on JetPack 6.2 (L4T 36.4.3).
  public static let agxOrin64 = NodeKind(
    name: "agx-orin-64gb", module: "agx-orin-64gb", fixture: "agx-orin-64gb-r36.4.3", l4t: "36.4.3", tensorRT: "10.3.0",
    cuda: "12.6", computeCapability: "8.7", dlaCores: 2, cpuCores: 12, memoryMiB: 62_841, kernelVersion: "5.15.148-tegra",
    osImage: jammy, baseBuildSeconds: 90)
  /// Orin Nano 8GB on JetPack 6.1 (L4T 36.4.0); no DLA.
  public static let orinNano8 = NodeKind(
    name: "orin-nano-8gb", module: "orin-nano-8gb", fixture: "orin-nano-8gb-r36.4.0", l4t: "36.4.0", tensorRT: "10.3.0",
    cuda: "12.6", computeCapability: "8.7", dlaCores: 0, cpuCores: 6, memoryMiB: 7_620, kernelVersion: "5.15.148-tegra",
    osImage: jammy, baseBuildSeconds: 300)
  /// Xavier NX 8GB on JetPack 5.1.4 (L4T 35.6.0).
  public static let xavierNX8 = NodeKind(
    name: "xavier-nx-8gb", module: "xavier-nx-8gb", fixture: "xavier-nx-8gb-r35.6.0", l4t: "35.6.0", tensorRT: "8.5.2",
    cuda: "11.4", computeCapability: "7.2", dlaCores: 2, cpuCores: 6, memoryMiB: 6_854, kernelVersion: "5.10.216-tegra",
    osImage: focal, baseBuildSeconds: 360)
  /// Orin NX 16GB still on JetPack 5.1.2 (L4T 35.4.1).
  public static let orinNX16R35 = NodeKind(
    name: "orin-nx-16gb-r35.4.1", module: "orin-nx-16gb", fixture: "orin-nx-16gb-r35.4.1", l4t: "35.4.1", tensorRT: "8.5.2",
    cuda: "11.4", computeCapability: "8.7", dlaCores: 2, cpuCores: 8, memoryMiB: 15_388, kernelVersion: "5.10.120-tegra",
    osImage: focal, baseBuildSeconds: 180)

  /// Every kind the simulator knows, by `name`.
  public static let catalogue: [NodeKind] = [orinNX16, agxOrin64, orinNano8, xavierNX8, orinNX16R35]

  /// Looks a kind up by its `name` or its fixture name.
  public static func named(_ name: String) -> NodeKind? {
    catalogue.first { $0.name == name || $0.fixture == name }
  }
}
