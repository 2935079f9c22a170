import EdgeMLVocabulary
import Testing
@testable import NodeAgent

@Suite("Parsers of Jetson identity files")
struct ParserTests {
  @Test("nv_tegra_release first lines give major.revision", arguments: [
    ("# R35 (release), REVISION: 2.1, GCID: 32398013, BOARD: t186ref, EABI: aarch64, DATE: Sun Jan 22 03:18:23 UTC 2023\n", "35.2.1"),
    ("# R35 (release), REVISION: 4.1, GCID: 33958178, BOARD: t186ref, EABI: aarch64, DATE: Tue Aug  1 19:57:35 UTC 2023", "35.4.1"),
    ("# R36 (release), REVISION: 4.3, GCID: 38968081, BOARD: generic, EABI: aarch64, DATE: Wed Jan  8 01:49:37 UTC 2025\n# KERNEL_VARIANT: oot\n", "36.4.3"),
  ])
  func l4tParses(_ line: String, _ expected: String) {
    #expect(NvTegraRelease.l4t(fromFileText: line) == expected)
  }

  @Test("malformed nv_tegra_release lines give nothing", arguments: [
    "", "R36 (release), REVISION: 4.3", "# R36 (release), REVISION: 4", "# R36 (release) REVISION: 4.3",
    "# Rxx (release), REVISION: 4.3, GCID: 1", "# R36 (release), REVISION: 4.x, GCID: 1", "# R36 (release), REVISION: .3, GCID: 1",
    "\n# R36 (release), REVISION: 4.3, GCID: 1",
  ])
  func l4tRejects(_ text: String) {
    #expect(NvTegraRelease.l4t(fromFileText: text) == nil)
  }

  @Test("nvpmodel status and conf give the active mode's name")
  func nvpmodel() {
    #expect(Nvpmodel.modeID(fromStatus: "pmode:0000\n") == 0)
    #expect(Nvpmodel.modeID(fromStatus: "pmode:0003 fmode:quiet\n") == 3)
    #expect(Nvpmodel.modeID(fromStatus: "fmode:quiet\n") == nil)
    #expect(Nvpmodel.modeID(fromStatus: "pmode:abc") == nil)
    let conf = """
      < PARAM TYPE=FILE NAME=CPU_ONLINE >
      CORE_0 /sys/devices/system/cpu/cpu0/online
      < POWER_MODEL ID=0 NAME=MAXN >
      CPU_ONLINE CORE_0 1
      < POWER_MODEL ID=2 NAME=MAXN_SUPER >
      < POWER_MODEL ID=5 >
      < PM_CONFIG DEFAULT=2 >
      """
    #expect(Nvpmodel.modeNames(fromConf: conf) == [0: "MAXN", 2: "MAXN_SUPER"])
  }

  @Test("part numbers come from board and module entries; -super is dropped")
  func partNumbers() {
    #expect(NodeFacts.partNumbers(in: ["nvidia,p3768-0000+p3767-0005-super", "nvidia,tegra234"]) == ["p3768-0000", "p3767-0005"])
    #expect(NodeFacts.partNumbers(in: ["nvidia,p3737-0000+p3701-0000", "nvidia,tegra234", "nvidia,tegra23x"]) == ["p3737-0000", "p3701-0000"])
    #expect(NodeFacts.partNumbers(in: ["nvidia,tegra194", "nvidia,p12-34"]).isEmpty)
  }

  @Test("a module whose identifier names no memory size is sized by MemTotal", arguments: [
    (30536 * 1024, "agx-orin-32gb"), (62839 * 1024, "agx-orin-64gb"), (70 * 1024 * 1024, nil), (10 * 1024 * 1024, nil),
  ] as [(Int, String?)])
  func sizedByMemory(_ memTotalKiB: Int, _ expected: String?) throws {
    let family = try #require(JetsonTables.familyByPartNumber["p3701-0000"])
    #expect(JetsonTables.module(of: family, memTotalKiB: memTotalKiB) == expected)
  }

  @Test("the SoC is the tegraNNN entry and CUDA is read from cuda.version first, as the contract says")
  func socAndCUDA() throws {
    let tree = try TemporaryTree()
    try tree.write("/proc/device-tree/compatible", Array("nvidia,p3737-0000+p3701-0000\0nvidia,tegra234\0nvidia,tegra23x\0".utf8))
    try tree.write("/proc/meminfo", "MemTotal:       31268980 kB\nMemAvailable:   1 kB\n")
    try tree.write("/usr/local/cuda/version.json", #"{"cuda": {"name": "CUDA SDK", "version": "12.2.1"}, "cuda_nvcc": {"version": "12.6.68"}}"#)
    let report = NodeFacts.read(from: tree.root)
    #expect(report.facts.soc == "tegra234" && report.facts.gpuArch == "sm_87")
    #expect(report.facts.module == "agx-orin-32gb")
    #expect(report.facts.cuda == "12.2")
    #expect(report.facts.memoryMiB == 30536)
  }

  @Test("several TensorRT libraries: the newest wins, with a warning; plugin libraries do not count")
  func tensorRTVersions() throws {
    let tree = try TemporaryTree()
    for name in ["libnvinfer.so.8.5.2", "libnvinfer.so.10.3.0", "libnvinfer.so.10", "libnvinfer_plugin.so.10.9.0", "libnvinfer.so"] {
      try tree.write("/usr/lib/aarch64-linux-gnu/\(name)", "")
    }
    let report = NodeFacts.read(from: tree.root)
    #expect(report.facts.tensorRT == "10.3.0")
    #expect(report.warnings.contains(FactWarning(file: "/usr/lib/aarch64-linux-gnu", problem: "several TensorRT versions; using the newest")))
  }

  @Test("a fact that is not a valid label value is left out and reported")
  func invalidValue() {
    let facts = NodeFacts(module: "orin-nx-16gb", powerMode: "MODE 30W")
    #expect(NodeLabels.labels(for: facts) == ["edgeml.io/jetson.module": "orin-nx-16gb"])
    #expect(NodeLabels.invalidValues(for: facts).map(\.key) == ["edgeml.io/power.mode"])
    #expect(!NodeLabels.isValidLabelValue("-x") && !NodeLabels.isValidLabelValue(String(repeating: "a", count: 64)))
    #expect(NodeLabels.isValidLabelValue("") && NodeLabels.isValidLabelValue("6.0-DP"))
  }
}
