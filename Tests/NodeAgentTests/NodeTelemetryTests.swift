import Testing
@testable import NodeAgent

@Suite("Telemetry as Prometheus text")
struct NodeTelemetryTests {
  @Test("the AGX Orin tree's rails, GPU load, memory and temperatures become these exact lines")
  func agxOrinMetrics() throws {
    let root = try #require(NodeAgentFixtures.root(forTree: "agx-orin-64gb-r36.4.3"))
    let text = NodeTelemetry.read(from: root).prometheusText()
    // Rails: in*_input mV x curr*_input mA / 1e6 (5000 mV x 478 mA = 2.39 W); NC and channel 7 skipped.
    // GPU: device/load 900 per mille. Memory: MemTotal/MemAvailable kB x 1024. Thermal: milli-°C / 1000,
    // cv0 at -256 °C (offline) and PMIC-Die skipped. Budget: pmode:0002 is MODE_30W in the tree's nvpmodel.conf.
    #expect(text == """
      # HELP edgeml_node_power_watts Power drawn on an INA3221-monitored rail, in watts (bus mV x shunt mA).
      # TYPE edgeml_node_power_watts gauge
      edgeml_node_power_watts{rail="VDD_GPU_SOC"} 2.39
      edgeml_node_power_watts{rail="VDD_CPU_CV"} 0.795
      edgeml_node_power_watts{rail="VIN_SYS_5V0"} 3.52
      # HELP edgeml_node_power_budget_watts Power budget of the active nvpmodel mode, in watts (none for MAXN).
      # TYPE edgeml_node_power_budget_watts gauge
      edgeml_node_power_budget_watts{mode="MODE_30W"} 30.0
      # HELP edgeml_node_gpu_load_ratio GPU load from devfreq, 0 to 1.
      # TYPE edgeml_node_gpu_load_ratio gauge
      edgeml_node_gpu_load_ratio{gpu="ga10b"} 0.9
      # HELP edgeml_node_memory_bytes Memory from /proc/meminfo (MemTotal, MemAvailable), in bytes.
      # TYPE edgeml_node_memory_bytes gauge
      edgeml_node_memory_bytes{kind="total"} 65892536320
      edgeml_node_memory_bytes{kind="available"} 63109644288
      # HELP edgeml_node_temperature_celsius Thermal zone temperature in degrees Celsius.
      # TYPE edgeml_node_temperature_celsius gauge
      edgeml_node_temperature_celsius{zone="cpu"} 47.5
      edgeml_node_temperature_celsius{zone="gpu"} 46.0
      edgeml_node_temperature_celsius{zone="tj"} 48.25

      """)
  }

  @Test("a tree without sensors exposes only memory and its power mode's budget")
  func memoryOnly() throws {
    let root = try #require(NodeAgentFixtures.root(forTree: "orin-nano-8gb-r36.4.0"))
    let telemetry = NodeTelemetry.read(from: root)
    #expect(telemetry.rails.isEmpty && telemetry.gpus.isEmpty && telemetry.temperatures.isEmpty)
    #expect(telemetry.memoryTotalBytes == Int64(7_990_587_392))  // MemTotal 7803308 kB
    #expect(telemetry.prometheusText().split(separator: "\n").filter { !$0.hasPrefix("#") } == [
      "edgeml_node_power_budget_watts{mode=\"15W\"} 15.0",
      "edgeml_node_memory_bytes{kind=\"total\"} 7990587392", "edgeml_node_memory_bytes{kind=\"available\"} 6404702208",
    ])
  }

  @Test("a capped nvpmodel mode's name gives its budget; MAXN and unknown names give none", arguments: [
    ("MODE_30W", 30.0), ("15W", 15.0), ("MODE_50W", 50.0), ("7W", 7.0), ("MAXN", nil), ("MAXN_SUPER", nil), ("W", nil), ("0W", nil),
  ] as [(String, Double?)])
  func powerBudget(mode: String, watts: Double?) {
    var telemetry = NodeTelemetry()
    telemetry.powerMode = mode
    #expect(telemetry.powerBudgetWatts == watts)
    #expect(telemetry.prometheusText().contains("edgeml_node_power_budget_watts") == (watts != nil))
  }

  @Test("label values are escaped as the text format requires")
  func escaping() {
    var telemetry = NodeTelemetry()
    telemetry.temperatures = [.init(zone: "a\"b\\c", celsius: 1)]
    #expect(telemetry.prometheusText().contains(#"edgeml_node_temperature_celsius{zone="a\"b\\c"} 1.0"#))
  }
}
