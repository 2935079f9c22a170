import Foundation
import KubeCore

extension NodeFacts {
  /// Host paths the facts come from (docs/edgemodel-contracts.md §1).
  public enum Paths {
    public static let compatible = "/proc/device-tree/compatible"
    public static let model = "/proc/device-tree/model"
    public static let nvTegraRelease = "/etc/nv_tegra_release"
    public static let libraries = "/usr/lib/aarch64-linux-gnu"
    public static let cudaVersionJSON = "/usr/local/cuda/version.json"
    public static let cudaVersionText = "/usr/local/cuda/version.txt"
    public static let platformDevices = "/sys/devices/platform"
    public static let meminfo = "/proc/meminfo"
    public static let nvpmodelStatus = "/var/lib/nvpmodel/status"
    public static let nvpmodelConf = "/etc/nvpmodel.conf"
    public static let odmProductionMode = "/sys/devices/platform/tegra-fuse/odm_production_mode"
  }

  /// Reads every fact from the host files under `root`.
  ///
  /// Pure apart from reading files: no clock, no logger, no network. A missing or malformed file
  /// never throws; it adds a warning and leaves that fact nil.
  public static func read(from root: HostRoot) -> NodeFactsReport {
    var warnings: [FactWarning] = []
    func warn(_ file: String, _ problem: String) { warnings.append(FactWarning(file: file, problem: problem)) }
    var facts = NodeFacts()

    facts.memTotalKiB = readMemTotal(root, warn)
    let compatible = readCompatible(root, warn)
    facts.module = readModule(root, compatible: compatible, memTotalKiB: facts.memTotalKiB, warn)
    if let compatible {
      // The SoC is the `nvidia,tegraNNN` entry. jetson-stats takes the last comma field of the whole
      // file, which on an L4T R35 AGX Orin (`…\0nvidia,tegra234\0nvidia,tegra23x\0`, node-facts.md
      // §1) would be the family `tegra23x`, so only digits are accepted after `tegra`.
      facts.soc = compatible.compactMap { entry -> String? in
        let name = entry.split(separator: ",").last.map(String.init) ?? entry
        return name.hasPrefix("tegra") && NvTegraRelease.isNumber(name.dropFirst(5)[...]) ? name : nil
      }.last
      if facts.soc == nil { warn(Paths.compatible, "no nvidia,tegraNNN entry") }
    }
    if let soc = facts.soc {
      facts.gpuArch = JetsonTables.gpuArchBySoC[soc]
      if facts.gpuArch == nil { warn(Paths.compatible, "no CUDA compute capability known for SoC \(soc)") }
    }

    if let text = root.text(Paths.nvTegraRelease) {
      facts.l4t = NvTegraRelease.l4t(fromFileText: text)
      if facts.l4t == nil { warn(Paths.nvTegraRelease, "first line is not '# R<major> (release), REVISION: <minor>.<patch>, …'") }
    } else {
      warn(Paths.nvTegraRelease, "missing")
    }
    if let l4t = facts.l4t {
      facts.jetpack = JetsonTables.jetpackByL4T[l4t]
      if facts.jetpack == nil { warn(Paths.nvTegraRelease, "no JetPack release known for L4T \(l4t)") }
    }

    facts.tensorRT = readTensorRT(root, warn)
    facts.cuda = readCUDA(root, warn)
    facts.dlaCores = readDLACores(root, warn)
    facts.powerMode = readPowerMode(root, warn)
    facts.secureBoot = readSecureBoot(root, warn)
    return NodeFactsReport(facts: facts, warnings: warnings)
  }

  typealias Warn = (String, String) -> Void

  /// The NUL-separated entries of the compatible property, nil (with a warning) when it is missing.
  static func readCompatible(_ root: HostRoot, _ warn: Warn) -> [String]? {
    guard let bytes = root.bytes(Paths.compatible) else { warn(Paths.compatible, "missing"); return nil }
    let entries = bytes.split(separator: 0).compactMap { String(validating: $0, as: UTF8.self) }
    guard !entries.isEmpty else { warn(Paths.compatible, "empty"); return nil }
    return entries
  }

  /// Part numbers (`pNNNN-NNNN`) named in compatible entries, most specific first: `nvidia,p3768-0000+p3767-0005`
  /// names the carrier board and the module; `-super` (Orin Nano Super device trees) is dropped.
  static func partNumbers(in compatible: [String]) -> [String] {
    var numbers: [String] = []
    for entry in compatible {
      let name = entry.split(separator: ",", maxSplits: 1).last.map(String.init) ?? entry
      for piece in name.split(separator: "+") {
        var piece = piece
        if piece.hasSuffix("-super") { piece = piece.dropLast("-super".count) }
        let fields = piece.dropFirst().split(separator: "-", omittingEmptySubsequences: false)
        if piece.first == "p", fields.count == 2, fields.allSatisfy({ $0.count == 4 && NvTegraRelease.isNumber($0) }) {
          numbers.append(String(piece))
        }
      }
    }
    return numbers
  }

  static func readModule(_ root: HostRoot, compatible: [String]?, memTotalKiB: Int?, _ warn: Warn) -> String? {
    var family: JetsonTables.Family?
    if let compatible {
      let numbers = partNumbers(in: compatible)
      if let module = numbers.lazy.compactMap({ JetsonTables.moduleByPartNumber[$0] }).first { return module }
      family = numbers.lazy.compactMap({ JetsonTables.familyByPartNumber[$0] }).first
      if family == nil {
        warn(Paths.compatible, numbers.isEmpty ? "no part number" : "no module name known for \(numbers.joined(separator: ", "))")
      }
    }
    if family == nil {
      guard let model = root.value(Paths.model) else { warn(Paths.model, "missing"); return nil }
      family = JetsonTables.familyByModel.first(where: { model.contains($0.substring) })?.family
      guard family != nil else { warn(Paths.model, "no module family known for '\(model)'"); return nil }
    }
    guard let family else { return nil }
    guard let memTotalKiB else {
      warn(Paths.meminfo, "MemTotal needed to tell the \(family.prefix) memory size apart")
      return nil
    }
    guard let module = JetsonTables.module(of: family, memTotalKiB: memTotalKiB) else {
      warn(Paths.meminfo, "MemTotal \(memTotalKiB) kB matches no \(family.prefix) size")
      return nil
    }
    return module
  }

  /// `MemTotal:  15662268 kB` (proc(5)).
  static func readMemTotal(_ root: HostRoot, _ warn: Warn) -> Int? {
    guard let text = root.text(Paths.meminfo) else { warn(Paths.meminfo, "missing"); return nil }
    guard let kib = Meminfo.parse(text)["MemTotal"] else { warn(Paths.meminfo, "no 'MemTotal: N kB' line"); return nil }
    return kib
  }

  /// The newest `libnvinfer.so.<major>.<minor>.<patch>` (the versioned file the `.so.<major>`
  /// symlink points at; jetson-stats asks the loaded library instead, node-facts.md §2).
  static func readTensorRT(_ root: HostRoot, _ warn: Warn) -> String? {
    guard root.exists(Paths.libraries) else { warn(Paths.libraries, "missing"); return nil }
    let prefix = "libnvinfer.so."
    let versions = root.entries(Paths.libraries).compactMap { name -> [Int]? in
      guard name.hasPrefix(prefix) else { return nil }
      let fields = name.dropFirst(prefix.count).split(separator: ".", omittingEmptySubsequences: false)
      guard fields.count == 3, fields.allSatisfy(NvTegraRelease.isNumber) else { return nil }
      return fields.compactMap { Int($0) }
    }
    guard let newest = versions.max(by: { $0.lexicographicallyPrecedes($1) }) else {
      warn(Paths.libraries, "no libnvinfer.so.<major>.<minor>.<patch>")
      return nil
    }
    if versions.count > 1 { warn(Paths.libraries, "several TensorRT versions; using the newest") }
    return newest.map(String.init).joined(separator: ".")
  }

  /// CUDA `major.minor` from `version.json` (`cuda.version`, else `cuda_nvcc.version`, which
  /// dusty-nv/jetson-containers reads), else `version.txt` (`CUDA Version 11.4.315`, the regex of
  /// jetson-stats `jetson_libraries.get_cuda`).
  static func readCUDA(_ root: HostRoot, _ warn: Warn) -> String? {
    if let bytes = root.bytes(Paths.cudaVersionJSON) {
      let json = try? JSONValue(parsing: bytes)
      let version = json?[path: ["cuda", "version"]]?.stringValue ?? json?[path: ["cuda_nvcc", "version"]]?.stringValue
      if let version, let short = majorMinor(version) { return short }
      warn(Paths.cudaVersionJSON, "no cuda.version or cuda_nvcc.version")
    }
    guard let text = root.text(Paths.cudaVersionText) else {
      warn(Paths.cudaVersionText, "missing")
      return nil
    }
    for line in text.split(separator: "\n") where line.hasPrefix("CUDA Version ") {
      if let short = majorMinor(String(line.dropFirst("CUDA Version ".count))) { return short }
    }
    warn(Paths.cudaVersionText, "no 'CUDA Version X.Y.Z' line")
    return nil
  }

  static func majorMinor(_ version: String) -> String? {
    let fields = version.trimmingCharacters(in: .whitespaces).split(separator: ".", omittingEmptySubsequences: false)
    guard fields.count >= 2, NvTegraRelease.isNumber(fields[0]), NvTegraRelease.isNumber(fields[1]) else { return nil }
    return "\(fields[0]).\(fields[1])"
  }

  /// `nvdla<N>` devices among the host1x children, e.g.
  /// `/sys/devices/platform/13e40000.host1x/15880000.nvdla0` (the DLA clock caps named in NVIDIA's
  /// nvpmodel confs, node-facts.md §4). A host1x bus without nvdla children is 0 cores (Orin Nano).
  static func readDLACores(_ root: HostRoot, _ warn: Warn) -> Int? {
    guard root.exists(Paths.platformDevices) else { warn(Paths.platformDevices, "missing"); return nil }
    let buses = root.entries(Paths.platformDevices).filter { $0 == "host1x" || $0.hasSuffix(".host1x") }
    guard !buses.isEmpty else { warn(Paths.platformDevices, "no host1x device"); return nil }
    var cores = 0
    for bus in buses {
      for child in root.entries(Paths.platformDevices + "/" + bus) {
        let name = child.split(separator: ".").last ?? ""
        if name.hasPrefix("nvdla"), NvTegraRelease.isNumber(name.dropFirst(5)) { cores += 1 }
      }
    }
    return cores
  }

  static func readPowerMode(_ root: HostRoot, _ warn: Warn) -> String? {
    guard let status = root.text(Paths.nvpmodelStatus) else { warn(Paths.nvpmodelStatus, "missing"); return nil }
    guard let id = Nvpmodel.modeID(fromStatus: status) else { warn(Paths.nvpmodelStatus, "no 'pmode:NNNN' field"); return nil }
    guard let conf = root.text(Paths.nvpmodelConf) else { warn(Paths.nvpmodelConf, "missing"); return nil }
    guard let name = Nvpmodel.modeNames(fromConf: conf)[id] else {
      warn(Paths.nvpmodelConf, "no '< POWER_MODEL ID=\(id) NAME=… >'")
      return nil
    }
    return name
  }

  /// The fuse reads `0x00000001` when burnt (an L4T OTA script's MODE_FUSED; a T234 guide prints `1`).
  static func readSecureBoot(_ root: HostRoot, _ warn: Warn) -> Bool? {
    guard let text = root.value(Paths.odmProductionMode) else { warn(Paths.odmProductionMode, "missing"); return nil }
    let value = text.lowercased().hasPrefix("0x") ? Int(text.dropFirst(2), radix: 16) : Int(text)
    guard let value else { warn(Paths.odmProductionMode, "not a number: '\(text)'"); return nil }
    return value != 0
  }
}

/// `/proc/meminfo` lines `Key:   value kB` (proc(5)); values in KiB.
enum Meminfo {
  static func parse(_ text: String) -> [String: Int] {
    var values: [String: Int] = [:]
    for line in text.split(separator: "\n") {
      guard let colon = line.firstIndex(of: ":") else { continue }
      let fields = line[line.index(after: colon)...].split(separator: " ")
      guard let number = fields.first.flatMap({ Int($0) }), fields.count == 1 || fields.dropFirst().first == "kB" else { continue }
      values[String(line[..<colon])] = number
    }
    return values
  }
}
