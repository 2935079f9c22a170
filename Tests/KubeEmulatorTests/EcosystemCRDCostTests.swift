import Foundation
import KubeCore
import Testing
import YAML
@testable import KubeEmulator

/// The CRDs of `Tests/Fixtures/crds/` (Gateway API v1.6.1, Traefik v3, prometheus-operator; provenance
/// in the README there), read from the repository.
enum EcosystemCRDs {
  static let files = ["gateway-api-v1.6.1/gateway.networking.k8s.io_gatewayclasses.yaml",
                      "gateway-api-v1.6.1/gateway.networking.k8s.io_gateways.yaml",
                      "gateway-api-v1.6.1/gateway.networking.k8s.io_httproutes.yaml",
                      "gateway-api-v1.6.1/gateway.networking.k8s.io_referencegrants.yaml",
                      "prometheus-operator/monitoring.coreos.com_podmonitors.yaml",
                      "prometheus-operator/monitoring.coreos.com_prometheusrules.yaml",
                      "prometheus-operator/monitoring.coreos.com_servicemonitors.yaml",
                      "traefik-v3/traefik.io_ingressroutes.yaml",
                      "traefik-v3/traefik.io_middlewares.yaml",
                      "traefik-v3/traefik.io_traefikservices.yaml"]

  static func load(_ file: String) throws -> JSONValue {
    let url = PatchFixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/crds/" + file)
    let text = try String(contentsOf: url, encoding: .utf8)
    return try #require(try YAML.parseDocuments(text).first { $0 != .null }, "\(file) holds no document")
  }

  /// The schema node of version `version` at `path`: property names, `[]` for a list's items.
  static func node(_ crd: JSONValue, version: String, _ path: [String]) throws -> JSONValue {
    let v = try #require(crd[path: ["spec", "versions"]]?.arrayValue?.first { $0["name"]?.stringValue == version })
    var node = try #require(v[path: ["schema", "openAPIV3Schema"]])
    for step in path {
      node = try #require(step == "[]" ? node["items"] : node[path: ["properties", step]], "no \(step) in \(path)")
    }
    return node
  }
}

/// One rule of an ecosystem CRD and the cost upstream's estimator gives one evaluation of it.
struct RuleCostCase: Sendable, CustomTestStringConvertible {
  var name: String
  var file: String
  var path: [String]
  var rule: Int
  var cost: UInt64
  var testDescription: String { name }
}

// Each cost below is derived by hand from the upstream algorithm: cel-go v0.26.0 `checker/cost.go`
// (identifier and field selection 1, list literal 10, `&&`/`?:` add their operands only, equality a
// tenth of the shorter operand's size, rounded up, `matches` ⌈0.1 × (size + 1)⌉ × ⌈0.25 × pattern⌉,
// `in` over a list its size; macros as the comprehensions of `parser/macro.go`), k8s.io/apiserver
// v0.36 `pkg/cel/library/cost.go` (`split` ⌈0.2 × size⌉), and the sizes of `pkg/cel/common/schemas.go`
// (a string's maxLength × 4, an integer field 0, a map key 0).
let gatewayRuleCosts: [RuleCostCase] = [
  // (self.type in ['Exact','PathPrefix']) ? self.value.matches(r"""^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$""") : true
  //   condition: self.type 1+1, the list literal 10, `in` the list's 2 elements        = 14
  //   matches: self.value 1+1; value has maxLength 1024, so 4096 bytes:
  //            ⌈0.1 × 4097⌉ = 410 times ⌈0.25 × 54⌉ = 14 (the pattern has 54 characters) = 5742
  //   ?: the condition plus the dearer branch                                           = 5756
  // In the CRD it sits below rules (maxItems 16) and matches (maxItems 64): 1024 × 5756 = 5,894,144,
  // under the 10,000,000 a rule may cost.
  RuleCostCase(name: "HTTPRoute: a path match's value matches the path grammar", file: "gateway-api-v1.6.1/gateway.networking.k8s.io_httproutes.yaml",
               path: ["spec", "rules", "[]", "matches", "[]", "path"], rule: 10, cost: 5756),
  // (self.type in ['Exact','PathPrefix']) ? !self.value.contains('//') : true
  //   condition 14; contains: self.value 2, ⌈0.1 × 4096⌉ × ⌈0.1 × 2⌉ = 410 × 1 = 410; `!` 1  = 14 + 413
  RuleCostCase(name: "HTTPRoute: a path match's value has no '//'", file: "gateway-api-v1.6.1/gateway.networking.k8s.io_httproutes.yaml",
               path: ["spec", "rules", "[]", "matches", "[]", "path"], rule: 1, cost: 427),
  // self.all(l1, self.exists_one(l2, l1.name == l2.name)) on listeners (maxItems 64; name maxLength 253)
  //   predicate: l1.name 2, l2.name 2, equality ⌈0.1 × 1012⌉ = 102                       = 106
  //   exists_one: range 1, result @result == 1 = 2, per element p + 2: 3 + 64 × 108     = 6915
  //   all: range 1, result 1, per element @not_strictly_false 2 + && 1 + p: 2 + 64 × 6918 = 442,754
  RuleCostCase(name: "Gateway: listener names are unique", file: "gateway-api-v1.6.1/gateway.networking.k8s.io_gateways.yaml",
               path: ["spec", "listeners"], rule: 4, cost: 442_754),
  // self.all(t1, self.exists_one(t2, t1.port == t2.port)) on perPort (maxItems 64)
  //   predicate: 2 + 2, equality of two integer fields ⌈0.1 × 0⌉ = 0                    = 4
  //   exists_one 3 + 64 × 6 = 387; all 2 + 64 × (3 + 387)                               = 24,962
  RuleCostCase(name: "Gateway: TLS per-port settings name each port once", file: "gateway-api-v1.6.1/gateway.networking.k8s.io_gateways.yaml",
               path: ["spec", "tls", "frontend", "perPort"], rule: 0, cost: 24_962),
  // self.all(key, key.matches(r"""^([a-z0-9]…[A-Za-z0-9]$""")) on annotations (maxProperties 16)
  //   a map key is declared as a string without a bound: its size is 0, so
  //   matches costs ⌈0.1 × (0 + 1)⌉ × ⌈0.25 × 114⌉ = 1 × 29; with key 1                = 30
  //   all: 2 + 16 × (3 + 30)                                                             = 530
  RuleCostCase(name: "Gateway: annotation keys are qualified names", file: "gateway-api-v1.6.1/gateway.networking.k8s.io_gateways.yaml",
               path: ["spec", "infrastructure", "annotations"], rule: 0, cost: 530),
  // self.all(key, key.split("/")[0].size() < 253) on annotations (maxProperties 16)
  //   split: key 1, ⌈0.2 × 0⌉ = 0; [0]: 1 + 1 + 0; size() 1; `<` on integers 1            = 4
  //   all: 2 + 16 × (3 + 4)                                                              = 114
  RuleCostCase(name: "Gateway: annotation key prefixes are at most 253 characters", file: "gateway-api-v1.6.1/gateway.networking.k8s.io_gateways.yaml",
               path: ["spec", "infrastructure", "annotations"], rule: 1, cost: 114),
]

@Suite("Static cost of the ecosystem CRDs' rules")
struct EcosystemCRDCostTests {
  let crdPath = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
  let advice = "(try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)"

  @Test("Every ecosystem CRD is accepted and Established", arguments: EcosystemCRDs.files)
  func installs(_ file: String) throws {
    let server = makeServer()
    let crd = try EcosystemCRDs.load(file)
    let (code, body) = server.call("POST", crdPath, crd)
    #expect(code == 201, "\(body["message"]?.stringValue ?? "")")
    let name = try #require(crd[path: ["metadata", "name"]]?.stringValue)
    let (_, stored) = server.call("GET", crdPath + "/" + name)
    let established = stored[path: ["status", "conditions"]]?.arrayValue?.first { $0["type"]?.stringValue == "Established" }
    #expect(established?["status"]?.stringValue == "True")
  }

  /// A CRD whose one rule is `rule`, on a copy of `node` stripped of its other rules, placed as the
  /// items of a list of at most `maxItems`: so the rule may run `maxItems` times, and its estimated
  /// cost is `maxItems` × one evaluation's.
  func probe(node: JSONValue, rule: JSONValue, maxItems: UInt64) -> JSONValue {
    func stripped(_ s: JSONValue) -> JSONValue {
      guard case .object(var o) = s else { return s }
      o["x-kubernetes-validations"] = nil
      for key in ["items", "additionalProperties"] { if let child = o[key] { o[key] = stripped(child) } }
      if case .object(var props)? = o["properties"] {
        for (k, v) in props { props[k] = stripped(v) }
        o["properties"] = .object(props)
      }
      return .object(o)
    }
    var items = stripped(node)
    items["x-kubernetes-validations"] = [rule]
    return [
      "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
      "metadata": ["name": "probes.cost.edgeml.io"],
      "spec": [
        "group": "cost.edgeml.io", "scope": "Namespaced",
        "names": ["plural": "probes", "singular": "probe", "kind": "Probe", "listKind": "ProbeList"],
        "versions": [[
          "name": "v1", "served": true, "storage": true,
          "schema": ["openAPIV3Schema": ["type": "object", "properties": [
            "spec": ["type": "object", "properties": ["probe": ["type": "array", "maxItems": JSONValue(Int(maxItems)), "items": items]]],
          ]]],
        ]],
      ],
    ]
  }

  @Test("A Gateway API rule costs what upstream's estimator gives it", arguments: gatewayRuleCosts)
  func ruleCost(_ c: RuleCostCase) throws {
    let crd = try EcosystemCRDs.load(c.file)
    let node = try EcosystemCRDs.node(crd, version: "v1", c.path)
    let rule = try #require(node["x-kubernetes-validations"]?.arrayValue?[c.rule])
    // The error for a rule over the limit prints cost/limit with six decimals when under 1.5x: run the
    // rule just often enough to pass 10,000,000, and the factor shows the cost to the unit.
    let times = 10_000_000 / c.cost + 1
    let (code, body) = makeServer().call("POST", crdPath, probe(node: node, rule: rule, maxItems: times))
    #expect(code == 422)
    let factor = String(format: "%f", Double(c.cost * times) / 10_000_000)
    let field = "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[probe].items.x-kubernetes-validations[0].rule"
    #expect(body["message"]?.stringValue == "CustomResourceDefinition.apiextensions.k8s.io \"probes.cost.edgeml.io\" is invalid: "
            + "\(field): Forbidden: estimated rule cost exceeds budget by factor of \(factor)x \(advice)")
    // one run fewer stays under the limit
    #expect(makeServer().call("POST", crdPath, probe(node: node, rule: rule, maxItems: times - 1)).0 == 201)
  }

  @Test("HTTPRoute without maxItems on rules and matches is refused, with upstream's messages")
  func unboundedHTTPRoute() throws {
    var crd = try EcosystemCRDs.load("gateway-api-v1.6.1/gateway.networking.k8s.io_httproutes.yaml")
    let versions = try #require(crd[path: ["spec", "versions"]]?.arrayValue)
    let v1 = try #require(versions.firstIndex { $0["name"]?.stringValue == "v1" })
    let spec = ["spec", "versions"]
    var version = versions[v1]
    let rules = ["schema", "openAPIV3Schema", "properties", "spec", "properties", "rules"]
    version[path: rules + ["maxItems"]] = nil
    version[path: rules + ["items", "properties", "matches", "maxItems"]] = nil
    var all = versions
    all[v1] = version
    crd[path: spec] = .array(all)
    let (code, body) = makeServer().call("POST", crdPath, crd)
    #expect(code == 422)
    let message = body["message"]?.stringValue ?? ""
    // Below an unbounded list a rule may run as often as its node fits in a request: a path match
    // serialises to at least {} (no required fields), so 3 MiB / 3 = 1,048,576 times.
    let path = "spec.versions[\(v1)].schema.openAPIV3Schema.properties[spec].properties[rules].items.properties[matches].items.properties[path]"
    // the pattern rule: 5756 × 1,048,576 = 6,035,603,456, over 100 times the limit
    #expect(message.contains("\(path).x-kubernetes-validations[10].rule: Forbidden: estimated rule cost exceeds budget by factor of more than 100x \(advice)"), "\(message)")
    // the '//' rule: 427 × 1,048,576 = 447,741,952, 44.8 times the limit
    #expect(message.contains("\(path).x-kubernetes-validations[1].rule: Forbidden: estimated rule cost exceeds budget by factor of 44.8x \(advice)"), "\(message)")
    #expect(message.contains("\(path).x-kubernetes-validations[10].rule: Forbidden: contributed to estimated rule cost total exceeding cost limit for entire OpenAPIv3 schema"))
    #expect(message.contains("spec.versions[\(v1)].schema.openAPIV3Schema: Forbidden: x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema exceeds budget by factor of more than 100x \(advice)"))
  }
}
