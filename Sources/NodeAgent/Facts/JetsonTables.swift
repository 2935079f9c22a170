/// The lookup tables that turn raw Jetson identifiers into our names.
///
/// Sources are jetson-stats (rbonghi/jetson_stats @ f41d5cad, jtop 7.2.0,
/// `jtop/core/jetson_variables.py`), summarised with citations in
/// `shared/reference/jetson/node-facts.md` §2–3.
enum JetsonTables {
  /// Module part number → the CRD's `jetson.modules` enum name.
  ///
  /// jetson_variables.py `MODULE_NAME_TABLE`: p3701-0005 "AGX Orin (64GB ram)", p3701-0004 "(32GB
  /// ram)", p3767-0000 "Orin NX (16GB ram)", p3767-0001 "(8GB ram)", p3767-0003 "Orin Nano (8GB ram)",
  /// p3767-0004 "(4GB ram)", p3767-0005 "Orin Nano (Developer kit)" (8 GB, node-facts.md §1),
  /// p3668-0000/0001 Xavier NX (8 GB), p3668-0003 "Xavier NX (16GB ram)", p2888-0003/0004 and
  /// -0008 "AGX Xavier (32 GB ram)", p2888-0005 "(64 GB ram)". p3701-0000 ("AGX Orin", no size) is
  /// not here: its size comes from MemTotal (`family(forPartNumber:)`). p2888-0001 (16 GB) and
  /// -0006 (8 GB) have no enum name and are reported as unknown.
  static let moduleByPartNumber: [String: String] = [
    "p3701-0005": "agx-orin-64gb", "p3701-0004": "agx-orin-32gb",
    "p3767-0000": "orin-nx-16gb", "p3767-0001": "orin-nx-8gb",
    "p3767-0003": "orin-nano-8gb", "p3767-0004": "orin-nano-4gb", "p3767-0005": "orin-nano-8gb",
    "p3668-0000": "xavier-nx-8gb", "p3668-0001": "xavier-nx-8gb", "p3668-0003": "xavier-nx-16gb",
    "p2888-0003": "agx-xavier-32gb", "p2888-0004": "agx-xavier-32gb", "p2888-0008": "agx-xavier-32gb",
    "p2888-0005": "agx-xavier-64gb",
  ]

  /// A module family whose memory size the identifier does not say, with the sizes it ships in.
  struct Family: Equatable {
    var prefix: String
    var sizesGB: [Int]
  }

  /// Part numbers that name a family but not its memory (JS: `p3701-0000` "NVIDIA Jetson AGX Orin").
  static let familyByPartNumber: [String: Family] = [
    "p3701-0000": Family(prefix: "agx-orin", sizesGB: [32, 64]),
  ]

  /// `/proc/device-tree/model` substrings → family (node-facts.md §1 table: devkit model strings on
  /// L4T 35 and 36). Checked in order: "AGX Orin" before "Orin".
  static let familyByModel: [(substring: String, family: Family)] = [
    ("AGX Orin", Family(prefix: "agx-orin", sizesGB: [32, 64])),
    ("Orin NX", Family(prefix: "orin-nx", sizesGB: [8, 16])),
    ("Orin Nano", Family(prefix: "orin-nano", sizesGB: [4, 8])),
    ("Xavier NX", Family(prefix: "xavier-nx", sizesGB: [8, 16])),
    ("AGX Xavier", Family(prefix: "agx-xavier", sizesGB: [32, 64])),
  ]

  /// The smallest size of the family that holds `memTotalKiB`; nil when none does.
  ///
  /// MemTotal is always below the product size (firmware carve-outs: a JP6 Orin Nano 8GB reports
  /// 7620 MB, an AGX Orin 32GB 30536 MB, node-facts.md §3), and above half of it.
  static func module(of family: Family, memTotalKiB: Int) -> String? {
    for size in family.sizesGB.sorted() where memTotalKiB <= size * 1024 * 1024 {
      guard memTotalKiB > size * 1024 * 1024 / 2 else { return nil }
      return "\(family.prefix)-\(size)gb"
    }
    return nil
  }

  /// SoC → CUDA compute capability as `sm_XY` (jetson_variables.py `CUDA_TABLE`: tegra234 8.7,
  /// tegra194 7.2).
  static let gpuArchBySoC: [String: String] = ["tegra234": "sm_87", "tegra194": "sm_72"]

  /// L4T → JetPack (jetson_variables.py `NVIDIA_JETPACK`, node-facts.md §2). JetPack names with a
  /// space or parentheses ("6.0 DP", "6.1 (rev1)") are written as valid label values.
  static let jetpackByL4T: [String: String] = [
    "35.2.1": "5.1", "35.3.1": "5.1.1", "35.4.1": "5.1.2", "35.5.0": "5.1.3", "35.6.0": "5.1.4",
    "35.6.1": "5.1.5", "35.6.2": "5.1.5", "35.6.3": "5.1.5", "35.6.4": "5.1.6",
    "36.2.0": "6.0-DP", "36.3.0": "6.0", "36.4.0": "6.1", "36.4.2": "6.1-rev1", "36.4.3": "6.2",
    "36.4.4": "6.2.1", "36.4.7": "6.2.1", "36.5.0": "6.2.2",
  ]
}
