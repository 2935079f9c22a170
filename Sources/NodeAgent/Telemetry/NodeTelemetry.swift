import Foundation

/// One reading of a Jetson's power rails, GPU load, memory and temperatures.
///
/// Read fresh on every Prometheus scrape (`read(from:)` is cheap: a few dozen small sysfs files).
/// Where each value comes from follows jetson-stats (rbonghi/jetson_stats, jtop/core/`power.py`,
/// `gpu.py`, `temperature.py`, `memory.py`), summarised in node-facts.md §5.
public struct NodeTelemetry: Sendable, Equatable {
  /// One INA3221 channel: its label, bus voltage in mV, current in mA.
  public struct Rail: Sendable, Equatable {
    public var name: String
    public var millivolts: Int
    public var milliamperes: Int
    /// Power in watts: mV × mA / 1000 is mW (jetson-stats `power.py`), / 1000 again is W.
    public var watts: Double { Double(millivolts * milliamperes) / 1_000_000 }
  }

  /// One GPU's load (devfreq `device/load` is per mille: 900 → 0.9).
  public struct GPULoad: Sendable, Equatable {
    public var gpu: String
    public var ratio: Double
  }

  /// One thermal zone, named as jetson-stats names it (the type up to the first `-` or `_`).
  public struct Temperature: Sendable, Equatable {
    public var zone: String
    public var celsius: Double
  }

  public var rails: [Rail] = []
  public var gpus: [GPULoad] = []
  /// `MemTotal` and `MemAvailable` in bytes.
  public var memoryTotalBytes: Int64?
  public var memoryAvailableBytes: Int64?
  public var temperatures: [Temperature] = []
  /// The active nvpmodel power mode's name (`MODE_30W`, `15W`, `MAXN`), nil when unknown.
  public var powerMode: String?

  /// The power budget the active mode names, in watts: NVIDIA names capped modes by their budget
  /// (`MODE_15W`, `10W`, `25W`; node-facts.md §4, from the `nvpmodel_p3701_0000.conf` and
  /// `nvpmodel_p3767_*.conf` files) and uncapped ones `MAXN` or `MAXN_SUPER`, which have none.
  public var powerBudgetWatts: Double? {
    guard let mode = powerMode, mode.hasSuffix("W") else { return nil }
    let digits = mode.dropLast().reversed().prefix(while: \.isNumber).reversed()
    guard !digits.isEmpty, let watts = Int(String(digits)), watts > 0 else { return nil }
    return Double(watts)
  }

  public init() {}

  /// Reads every sensor under `root`; a missing or malformed file drops that one value.
  public static func read(from root: HostRoot) -> NodeTelemetry {
    var telemetry = NodeTelemetry()
    telemetry.rails = readRails(root)
    telemetry.gpus = readGPULoads(root)
    if let text = root.text("/proc/meminfo") {
      let meminfo = Meminfo.parse(text)
      telemetry.memoryTotalBytes = meminfo["MemTotal"].map { Int64($0) * 1024 }
      telemetry.memoryAvailableBytes = meminfo["MemAvailable"].map { Int64($0) * 1024 }
    }
    telemetry.temperatures = readTemperatures(root)
    telemetry.powerMode = NodeFacts.readPowerMode(root) { _, _ in }
    return telemetry
  }

  /// INA3221 channels: every `/sys/bus/i2c/devices/<dev>` whose `name` contains `ina3221`, then its
  /// `hwmon/hwmonN/` directory with `inN_label`, `inN_input` (mV) and `currN_input` (mA). Channels
  /// labelled `NC` (not connected) and channel 7 ("sum of shunt voltages") are skipped, as
  /// jetson-stats `power.py` does.
  static func readRails(_ root: HostRoot) -> [Rail] {
    var rails: [Rail] = []
    let devices = "/sys/bus/i2c/devices"
    for device in root.entries(devices) where root.value("\(devices)/\(device)/name")?.contains("ina3221") == true {
      for hwmon in root.entries("\(devices)/\(device)/hwmon") where hwmon.hasPrefix("hwmon") {
        let dir = "\(devices)/\(device)/hwmon/\(hwmon)"
        let channels = root.entries(dir).compactMap { file -> Int? in
          guard file.hasPrefix("in"), file.hasSuffix("_label") else { return nil }
          return Int(file.dropFirst(2).dropLast("_label".count))
        }.sorted()
        for channel in channels where channel != 7 {
          guard let label = root.value("\(dir)/in\(channel)_label"), !label.isEmpty, label != "NC",
                let millivolts = root.value("\(dir)/in\(channel)_input").flatMap({ Int($0) }),
                let milliamperes = root.value("\(dir)/curr\(channel)_input").flatMap({ Int($0) }) else { continue }
          rails.append(Rail(name: label, millivolts: millivolts, milliamperes: milliamperes))
        }
      }
    }
    return rails
  }

  /// devfreq devices whose `device/of_node/name` is a Jetson GPU (`gv11b`, `gp10b`, `ga10b`, `gb10b`,
  /// or containing `gpu`), with their `device/load` (jetson-stats `gpu.py`).
  static func readGPULoads(_ root: HostRoot) -> [GPULoad] {
    let devfreq = "/sys/class/devfreq"
    return root.entries(devfreq).compactMap { entry in
      guard let name = root.value("\(devfreq)/\(entry)/device/of_node/name"),
            ["gv11b", "gp10b", "ga10b", "gb10b"].contains(name) || name.contains("gpu"),
            let perMille = root.value("\(devfreq)/\(entry)/device/load").flatMap({ Int($0) }) else { return nil }
      return GPULoad(gpu: name, ratio: Double(perMille) / 1000)
    }
  }

  /// `/sys/devices/virtual/thermal/thermal_zone*/{type,temp}`, temp in milli-°C. Skips `PMIC`
  /// zones and offline sensors (-256 °C), as jetson-stats `temperature.py` does; a zone name seen
  /// twice keeps its first reading so no series is duplicated.
  static func readTemperatures(_ root: HostRoot) -> [Temperature] {
    let thermal = "/sys/devices/virtual/thermal"
    var seen = Set<String>()
    let zones = root.entries(thermal).filter { $0.hasPrefix("thermal_zone") }
      .sorted { (Int($0.dropFirst(12)) ?? 0) < (Int($1.dropFirst(12)) ?? 0) }
    return zones.compactMap { zone in
      guard let type = root.value("\(thermal)/\(zone)/type"),
            let milli = root.value("\(thermal)/\(zone)/temp").flatMap({ Int($0) }) else { return nil }
      let name = String(type.prefix(while: { $0 != "-" && $0 != "_" }))
      guard !name.isEmpty, !name.contains("PMIC"), milli != -256_000, seen.insert(name).inserted else { return nil }
      return Temperature(zone: name, celsius: Double(milli) / 1000)
    }
  }
}
