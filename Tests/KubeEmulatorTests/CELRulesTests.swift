import KubeCore
import Testing
@testable import CEL
@testable import KubeEmulator

/// A root schema whose `spec` carries `rules`, with a few typed fields.
func celSchema(specRules: [JSONValue], fieldRules: JSONValue? = nil, extraSpec: JSONObject = [:]) -> JSONValue {
  var replicas: JSONValue = ["type": "integer"]
  if let fieldRules { replicas["x-kubernetes-validations"] = fieldRules }
  var props: JSONObject = [
    "replicas": replicas,
    "minReplicas": ["type": "integer"],
    "modelRef": ["type": "string"],
    "precision": ["type": "string", "enum": ["fp16", "int8"]],
    "calibration": ["type": "object", "properties": ["dataset": ["type": "string"]]],
    "steps": ["type": "array", "maxItems": 20, "items": ["type": "object", "properties": ["setWeight": ["type": "integer"]]]],
    "items": ["type": "array", "items": ["type": "integer"]],
  ]
  for (k, v) in extraSpec { props[k] = v }
  return ["type": "object", "properties": [
    "spec": ["type": "object", "x-kubernetes-validations": .array(specRules), "properties": .object(props)],
  ]]
}

func celObject(_ spec: JSONValue) -> JSONValue {
  ["apiVersion": "edgeml.io/v1alpha1", "kind": "EdgeModel", "metadata": ["name": "m1", "namespace": "default"], "spec": spec]
}

/// One rule, one object, the exact errors kube-apiserver would list.
struct RuleCase: Sendable, CustomTestStringConvertible {
  var name: String
  var rules: [JSONValue]
  var spec: JSONValue
  var errors: [String]
  var testDescription: String { name }
}

let ruleCases: [RuleCase] = [
  RuleCase(name: "a passing rule adds no error",
           rules: [["rule": "self.minReplicas <= self.replicas", "message": "replicas must be at least minReplicas"]],
           spec: ["replicas": 3, "minReplicas": 1], errors: []),
  RuleCase(name: "a failing rule on an object prints \"object\" and the message",
           rules: [["rule": "self.minReplicas <= self.replicas", "message": "replicas must be at least minReplicas"]],
           spec: ["replicas": 1, "minReplicas": 2], errors: ["spec: Invalid value: \"object\": replicas must be at least minReplicas"]),
  RuleCase(name: "without a message the rule itself is quoted",
           rules: [["rule": "self.minReplicas <= self.replicas"]],
           spec: ["replicas": 1, "minReplicas": 2], errors: ["spec: Invalid value: \"object\": failed rule: self.minReplicas <= self.replicas"]),
  RuleCase(name: "int8 precision needs calibration",
           rules: [["rule": "self.precision != 'int8' || has(self.calibration)", "message": "int8 precision needs calibration"]],
           spec: ["precision": "int8"], errors: ["spec: Invalid value: \"object\": int8 precision needs calibration"]),
  // not `'replicas ' + string(self.replicas)`: string() has no size estimate, so upstream refuses that
  // concatenation at CRD creation (kubernetes/kubernetes#124234); format() is accepted
  RuleCase(name: "messageExpression builds the message from the object",
           rules: [["rule": "self.replicas <= 10", "message": "too many", "messageExpression": "'replicas %d is over 10'.format([self.replicas])"]],
           spec: ["replicas": 12], errors: ["spec: Invalid value: \"object\": replicas 12 is over 10"]),
  RuleCase(name: "a messageExpression that fails falls back to message",
           rules: [["rule": "self.replicas <= 10", "message": "too many", "messageExpression": "'replicas %d'.format([self.replicas / 0])"]],
           spec: ["replicas": 12], errors: ["spec: Invalid value: \"object\": too many"]),
  RuleCase(name: "reason FieldValueForbidden gives a Forbidden error",
           rules: [["rule": "!has(self.replicas)", "message": "DaemonSet mode forbids replicas", "reason": "FieldValueForbidden"]],
           spec: ["replicas": 2], errors: ["spec: Forbidden: DaemonSet mode forbids replicas"]),
  RuleCase(name: "reason FieldValueRequired gives a Required error",
           rules: [["rule": "has(self.modelRef)", "message": "modelRef is required", "reason": "FieldValueRequired"]],
           spec: [:], errors: ["spec: Required value: modelRef is required"]),
  RuleCase(name: "fieldPath points the error at the field",
           rules: [["rule": "self.steps.all(s, s.setWeight <= 100)", "message": "setWeight must be at most 100", "fieldPath": ".steps"]],
           spec: ["steps": [["setWeight": 120]]], errors: ["spec.steps: Invalid value: \"object\": setWeight must be at most 100"]),
  RuleCase(name: "canary weights never decrease",
           rules: [["rule": "self.steps.all(s, s.setWeight >= 0 && s.setWeight <= 100) && (size(self.steps) < 2 || self.steps.map(s, s.setWeight).isSorted())",
                    "message": "setWeight steps must be between 0 and 100 and never decrease"]],
           spec: ["steps": [["setWeight": 50], ["setWeight": 20]]],
           errors: ["spec: Invalid value: \"object\": setWeight steps must be between 0 and 100 and never decrease"]),
  RuleCase(name: "a runtime error names the rule",
           rules: [["rule": "self.modelRef.startsWith('oci://')"]],
           spec: ["replicas": 1], errors: ["spec: Invalid value: \"object\": no such key: modelRef evaluating rule: self.modelRef.startsWith('oci://')"]),
  RuleCase(name: "rules are not run when a value has the wrong type",
           rules: [["rule": "self.replicas > 100"]],
           spec: ["replicas": "three"],
           errors: ["spec.replicas: Invalid value: \"string\": spec.replicas in body must be of type integer: \"string\"",
                    "<nil>: Invalid value: \"null\": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation"]),
  RuleCase(name: "rules are not run when a value is not one of the enum's",
           rules: [["rule": "self.replicas > 100"]],
           spec: ["precision": "fp8"],
           errors: ["spec.precision: Unsupported value: \"fp8\": supported values: \"fp16\", \"int8\"",
                    "<nil>: Invalid value: \"null\": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation"]),
  RuleCase(name: "the root sees apiVersion, kind and metadata.name",
           rules: [["rule": "true"]], spec: [:], errors: []),
]

@Suite("CEL validation rules on custom resources")
struct CELRulesTests {
  @Test("A rule's failure reads exactly as kube-apiserver prints it", arguments: ruleCases)
  func errorFormat(_ c: RuleCase) {
    let schema = StructuralSchema(celSchema(specRules: c.rules))
    #expect(CELRules.checkCompiles(schema.root, path: "x").isEmpty)
    #expect(schema.validate(celObject(c.spec), old: nil).map(\.description) == c.errors)
  }

  @Test("A rule on a scalar field prints the value itself")
  func scalarRule() {
    let schema = StructuralSchema(celSchema(specRules: [], fieldRules: [["rule": "self % 2 == 0", "message": "must be even"]]))
    #expect(schema.validate(celObject(["replicas": 3]), old: nil).map(\.description) == ["spec.replicas: Invalid value: 3: must be even"])
    #expect(schema.validate(celObject(["replicas": 4]), old: nil).isEmpty)
  }

  @Test("A root rule can read metadata.name and the kind")
  func rootRule() {
    var root = celSchema(specRules: [])
    root["x-kubernetes-validations"] = [["rule": "self.metadata.name.startsWith('m') && self.kind == 'EdgeModel'", "message": "bad name"]]
    #expect(CELRules.checkCompiles(root, path: "x").isEmpty)
    #expect(StructuralSchema(root).validate(celObject([:]), old: nil).isEmpty)
    var other = celObject([:]); other["metadata"] = ["name": "x1"]
    #expect(StructuralSchema(root).validate(other, old: nil).map(\.description) == ["<nil>: Invalid value: \"object\": bad name"])
  }

  @Test("Property names that are CEL keywords or hold dashes are reached by their escaped names")
  func escapedNames() {
    let rules: [JSONValue] = [["rule": "self.__namespace__ == 'edge' && self.x__dash__prop > 0 && self.a__dot__b == 'c'", "message": "escaped"]]
    let schema = StructuralSchema(celSchema(specRules: rules, extraSpec: [
      "namespace": ["type": "string"], "x-prop": ["type": "integer"], "a.b": ["type": "string"]]))
    #expect(CELRules.checkCompiles(schema.root, path: "x").isEmpty)
    #expect(schema.validate(celObject(["namespace": "edge", "x-prop": 1, "a.b": "c"]), old: nil).isEmpty)
    #expect(schema.validate(celObject(["namespace": "edge", "x-prop": 0, "a.b": "c"]), old: nil).map(\.description) == ["spec: Invalid value: \"object\": escaped"])
    let misspelt = CELRules.checkCompiles(celSchema(specRules: [["rule": "self.namespace == 'a'"]], extraSpec: ["namespace": ["type": "string"]]), path: "x")
    #expect(misspelt.first?.detail.contains("reserved identifier: namespace") == true)
  }

  @Test("An embedded resource's kind and metadata.name are visible to rules")
  func embeddedResource() {
    let template: JSONValue = ["type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true,
                               "x-kubernetes-validations": [["rule": "self.kind == 'Pod' && self.metadata.name != ''", "message": "a named Pod"]]]
    let schema = StructuralSchema(celSchema(specRules: [], extraSpec: ["template": template]))
    #expect(CELRules.checkCompiles(schema.root, path: "x").isEmpty)
    #expect(schema.validate(celObject(["template": ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": "p"]]]), old: nil).isEmpty)
    #expect(schema.validate(celObject(["template": ["apiVersion": "v1", "kind": "Job", "metadata": ["name": "p"]]]), old: nil).map(\.description)
            == ["spec.template: Invalid value: \"object\": a named Pod"])
  }

  @Test("Set and map lists compare without order and merge on +, as the CRD docs say", arguments: [
    ("self.tags == ['b', 'a']", true),
    ("['b', 'a'] == self.tags", false),
    ("size(self.tags + ['a', 'c']) == 3", true),
    ("(self.tags + ['c']) == ['c', 'b', 'a']", true),
    ("self.ports == [{'name': 'grpc', 'port': 9000}, {'name': 'http', 'port': 80}]", true),
    ("size(self.ports + [{'name': 'http', 'port': 8080}]) == 2", true),
    ("(self.ports + [{'name': 'http', 'port': 8080}]).exists(p, p.name == 'http' && p.port == 8080)", true),
    ("(self.ports + [{'name': 'http', 'port': 8080}])[0].port == 8080", true),
    ("self.plain == [2, 1]", false),
  ])
  func listTypes(_ rule: String, _ holds: Bool) {
    let schema = StructuralSchema(celSchema(specRules: [["rule": .string(rule), "message": "no"]], extraSpec: [
      "tags": ["type": "array", "maxItems": 10, "x-kubernetes-list-type": "set", "items": ["type": "string", "maxLength": 10]],
      "plain": ["type": "array", "maxItems": 10, "items": ["type": "integer"]],
      "ports": ["type": "array", "maxItems": 10, "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                "items": ["type": "object", "required": ["name"], "properties": ["name": ["type": "string", "maxLength": 10], "port": ["type": "integer"]]]],
    ]))
    #expect(CELRules.checkCompiles(schema.root, path: "x").isEmpty)
    let object = celObject(["tags": ["a", "b"], "plain": [1, 2],
                            "ports": [["name": "http", "port": 80], ["name": "grpc", "port": 9000]]])
    #expect(schema.validate(object, old: nil).isEmpty == holds)
  }

  @Test("Fields kept by x-kubernetes-preserve-unknown-fields are not visible to rules")
  func unknownFieldsInvisible() {
    var root = celSchema(specRules: [["rule": "!has(self.extra)", "message": "extra is visible"]])
    root["properties"]?["spec"]?["x-kubernetes-preserve-unknown-fields"] = true
    #expect(StructuralSchema(root).validate(celObject(["extra": 1]), old: nil).isEmpty)
  }

  @Test("A transition rule runs only on updates, against the old value")
  func transitionRules() {
    let rules: JSONValue = [["rule": "self == oldSelf", "message": "modelRef is immutable"]]
    let schema = StructuralSchema(celSchema(specRules: [], extraSpec: ["modelRef": ["type": "string", "x-kubernetes-validations": rules]]))
    let v1 = celObject(["modelRef": "oci://a"]), v2 = celObject(["modelRef": "oci://b"])
    #expect(schema.validate(v1, old: nil).isEmpty)                      // create: no oldSelf, rule skipped
    #expect(schema.validate(v1, old: v1).isEmpty)                       // unchanged
    #expect(schema.validate(v2, old: v1).map(\.description) == ["spec.modelRef: Invalid value: \"oci://b\": modelRef is immutable"])
    #expect(schema.validate(v2, old: celObject([:])).isEmpty)           // newly set: no old value for the field
  }

  @Test("An update that leaves a failing value unchanged is not refused for it (ratcheting); a changed one is")
  func ratcheting() {
    let schema = StructuralSchema(celSchema(specRules: [["rule": "self.replicas <= 5", "message": "at most 5"]]))
    let legacy = celObject(["replicas": 9])
    #expect(schema.validate(legacy, old: nil).map(\.description) == ["spec: Invalid value: \"object\": at most 5"])
    #expect(schema.validate(legacy, old: legacy).isEmpty)
    #expect(schema.validate(celObject(["replicas": 8]), old: legacy).map(\.description) == ["spec: Invalid value: \"object\": at most 5"])
  }

  @Test("optionalOldSelf runs the rule on create with oldSelf as an optional")
  func optionalOldSelf() {
    let rules: JSONValue = [["rule": "!oldSelf.hasValue() || self >= oldSelf.value()", "message": "replicas may only grow", "optionalOldSelf": true]]
    let schema = StructuralSchema(celSchema(specRules: [], fieldRules: rules))
    #expect(CELRules.checkCompiles(schema.root, path: "x").isEmpty)
    #expect(schema.validate(celObject(["replicas": 3]), old: nil).isEmpty)
    #expect(schema.validate(celObject(["replicas": 2]), old: celObject(["replicas": 3])).map(\.description) == ["spec.replicas: Invalid value: 2: replicas may only grow"])
  }

  @Test("fieldPath must name a field of the schema", arguments: [
    (".steps", true), (".calibration.dataset", true), (".calibration['dataset']", true),
    (".nope", false), (".steps[0]", false), ("steps", false),
  ])
  func fieldPathChecked(_ fieldPath: String, _ valid: Bool) {
    let errors = CELRules.checkCompiles(celSchema(specRules: [["rule": "true", "fieldPath": .string(fieldPath)]]), path: "x")
    #expect(errors.isEmpty == valid)
    if !valid {
      #expect(errors.first?.description == "x.properties[spec].x-kubernetes-validations[0].fieldPath: Invalid value: \(fieldPath.goQuoted): fieldPath must be a valid path")
    }
  }

  @Test("A rule that does not compile is reported on its rule path with cel-go's message", arguments: [
    ("self.replicas == true", "found no matching overload for '_==_' applied to '(int, bool)'"),
    ("self.nonExistingField > 0", "undefined field 'nonExistingField'"),
    ("self.replicas.startsWith('a')", "found no matching overload for 'startsWith' applied to 'int.(string)'"),
    ("self.modelRef.matches('[')", "invalid matches argument"),
    ("nosuch(self)", "undeclared reference to 'nosuch'"),
    ("self.replicas +", "Syntax error"),
    ("self.replicas", "cel expression must evaluate to a bool"),
  ])
  func compileErrors(_ rule: String, _ message: String) throws {
    let errors = CELRules.checkCompiles(celSchema(specRules: [["rule": .string(rule)]]), path: "spec.versions[0].schema.openAPIV3Schema")
    let error = try #require(errors.first)
    #expect(errors.count == 1)
    #expect(error.field == "spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule")
    #expect(error.description.contains(message), "\(error.description)")
    #expect(error.value?.hasPrefix("apiextensions.ValidationRule{Rule:") == true)
  }

  @Test("A rule over a huge input stops at the per-call cost limit instead of running long")
  func costLimit() {
    let schema = StructuralSchema(celSchema(specRules: [["rule": "self.items.all(x, self.items.all(y, x + y >= 0))"]]))
    let items = JSONValue.array((0..<3000).map { JSONValue($0) })
    let errors = schema.validate(celObject(["items": items]), old: nil).map(\.description)
    #expect(errors == ["spec: Invalid value: \"object\": 'operation cancelled: actual cost limit exceeded': no further validation rules will be run due to call cost exceeds limit for rule: self.items.all(x, self.items.all(y, x + y >= 0))"])
  }

  @Test("A single-pass rule over a long list fails with the cost error, never silently passes")
  func costLimitLongList() {
    let program = try? CELProgram.compile("self.all(x, x >= 0)", variables: ["self": .list(.int)])
    let list = CELValue.list(Array(repeating: .int(1), count: 600_000))
    #expect(throws: CELEvalError.costLimitExceeded) { try program?.evaluate(["self": list]) }
    #expect(throws: Never.self) { try program?.evaluate(["self": .list(Array(repeating: .int(1), count: 1000))]) }
  }
}

/// The cost examples of the Kubernetes CRD documentation ("Resource use by validation functions").
struct CostCase: Sendable, CustomTestStringConvertible {
  var name: String
  var schema: JSONValue
  var rejected: Bool
  var testDescription: String { name }
}

let costCases: [CostCase] = [
  CostCase(name: "contains() on every string of an unbounded list is refused",
           schema: ["type": "array", "items": ["type": "string"], "x-kubernetes-validations": [["rule": "self.all(x, x.contains('a string'))"]]],
           rejected: true),
  CostCase(name: "the same rule with maxItems and maxLength is accepted",
           schema: ["type": "array", "maxItems": 25, "items": ["type": "string", "maxLength": 10],
                    "x-kubernetes-validations": [["rule": "self.all(x, x.contains('a string'))"]]],
           rejected: false),
  CostCase(name: "the rule on the items counts once per item",
           schema: ["type": "array", "maxItems": 25, "items": ["type": "string", "maxLength": 10,
                    "x-kubernetes-validations": [["rule": "self.contains('a string')"]]]],
           rejected: false),
  CostCase(name: "a regex on every string of an unbounded list is refused",
           schema: ["type": "array", "items": ["type": "string"], "x-kubernetes-validations": [["rule": "self.all(x, x.matches('^[a-z]+$'))"]]],
           rejected: true),
  CostCase(name: "a regex on a bounded string is accepted",
           schema: ["type": "string", "maxLength": 253, "x-kubernetes-validations": [["rule": "self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')"]]],
           rejected: false),
  CostCase(name: "a constant-time check over an unbounded list of integers is accepted",
           schema: ["type": "array", "items": ["type": "integer"], "x-kubernetes-validations": [["rule": "self.all(x, x == 5)"]]],
           rejected: false),
  CostCase(name: "the same check on every inner list of a nested unbounded list is refused",
           schema: ["type": "array", "items": ["type": "array", "items": ["type": "integer"],
                    "x-kubernetes-validations": [["rule": "self.all(x, x == 5)"]]]],
           rejected: true),
]

@Suite("CEL rule cost at CRD creation")
struct CELStaticCostTests {
  @Test("Rules that could be too expensive are refused when the CRD is written, as the docs' examples", arguments: costCases)
  func staticCost(_ c: CostCase) {
    let root: JSONValue = ["type": "object", "properties": ["foo": c.schema]]
    let errors = CELRules.checkCompiles(root, path: "spec.validation.openAPIV3Schema").map(\.description)
    if c.rejected {
      // an expression over 100x the per-rule limit also passes the schema's total (100,000,000), which
      // upstream reports too: the rule, the rule again as a contributor, and the total
      #expect(errors.count == 3)
      #expect(errors.first?.hasSuffix("x-kubernetes-validations[0].rule: Forbidden: estimated rule cost exceeds budget by factor of more than 100x (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)") == true, "\(errors)")
    } else {
      #expect(errors.isEmpty)
    }
  }

  @Test("Many affordable rules are refused together when the schema's total passes 100,000,000")
  func totalCost() {
    let rules = JSONValue.array(Array(repeating: ["rule": "self.all(x, x == 5)"], count: 25))
    let root: JSONValue = ["type": "object", "properties": ["foo": ["type": "array", "items": ["type": "integer"], "x-kubernetes-validations": rules]]]
    let errors = CELRules.checkCompiles(root, path: "spec.versions[0].schema.openAPIV3Schema").map(\.description)
    #expect(errors.count == 5)
    #expect(errors.first?.hasSuffix("].rule: Forbidden: contributed to estimated rule cost total exceeding cost limit for entire OpenAPIv3 schema") == true)
    #expect(errors.last?.hasPrefix("spec.versions[0].schema.openAPIV3Schema: Forbidden: x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema exceeds budget by factor of 1.") == true, "\(errors)")
    #expect(CELRules.checkCompiles(["type": "object", "properties": ["foo": ["type": "array", "maxItems": 100, "items": ["type": "integer"],
                                                                           "x-kubernetes-validations": rules]]], path: "x").isEmpty)
  }

  @Test("oldSelf is refused inside a list whose items cannot be matched to old items")
  func uncorrelatableOldSelf() {
    let root: JSONValue = ["type": "object", "properties": ["foo": ["type": "array", "maxItems": 5, "items": [
      "type": "string", "maxLength": 5, "x-kubernetes-validations": [["rule": "self == oldSelf"]]]]]]
    let errors = CELRules.checkCompiles(root, path: "spec.validation.openAPIV3Schema").map(\.description)
    #expect(errors == ["spec.validation.openAPIV3Schema.properties[foo].items.x-kubernetes-validations[0].rule: Invalid value: \"self == oldSelf\": oldSelf cannot be used on the uncorrelatable portion of the schema within spec.validation.openAPIV3Schema.properties[foo]"])
  }
}

@Suite("CEL rules through the API server")
struct CELAPIServerTests {
  func crd(rule: String, message: String = "") -> JSONValue {
    var r: JSONValue = ["rule": .string(rule)]
    if !message.isEmpty { r["message"] = .string(message) }
    return [
      "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
      "metadata": ["name": "widgets.edgeml.io"],
      "spec": [
        "group": "edgeml.io", "scope": "Namespaced",
        "names": ["plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"],
        "versions": [[
          "name": "v1alpha1", "served": true, "storage": true,
          "schema": ["openAPIV3Schema": ["type": "object", "properties": [
            "spec": ["type": "object", "x-kubernetes-validations": [r],
                     "properties": ["replicas": ["type": "integer"], "modelRef": ["type": "string"]]],
          ]]],
        ]],
      ],
    ]
  }

  let crdPath = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
  let widgets = "/apis/edgeml.io/v1alpha1/namespaces/default/widgets"

  @Test("A CRD whose rule does not compile is rejected with 422 and the compile error")
  func rejectsUncompilableRule() {
    let server = makeServer()
    let (code, body) = server.call("POST", crdPath, crd(rule: "self.replicas == true"))
    #expect(code == 422)
    let message = body["message"]?.stringValue ?? ""
    #expect(message.hasPrefix("CustomResourceDefinition.apiextensions.k8s.io \"widgets.edgeml.io\" is invalid: spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule: Invalid value: apiextensions.ValidationRule{Rule:\"self.replicas == true\""), "\(message)")
    #expect(message.contains("compilation failed: ERROR: <input>:1:15: found no matching overload for '_==_' applied to '(int, bool)'"), "\(message)")
  }

  @Test("Objects that break a CRD's rule are refused with the rule's message; others are stored")
  func enforcesRules() {
    let server = makeServer()
    let (code, _) = server.call("POST", crdPath, crd(rule: "self.replicas <= 5", message: "at most 5 replicas"))
    #expect(code == 201)
    let bad: JSONValue = ["apiVersion": "edgeml.io/v1alpha1", "kind": "Widget", "metadata": ["name": "w1"], "spec": ["replicas": 7]]
    let (badCode, badBody) = server.call("POST", widgets, bad)
    #expect(badCode == 422)
    #expect(badBody["message"]?.stringValue == "Widget.edgeml.io \"w1\" is invalid: spec: Invalid value: \"object\": at most 5 replicas")
    var good = bad; good["spec"] = ["replicas": 2]
    #expect(server.call("POST", widgets, good).0 == 201)
  }

  @Test("A transition rule stops an update that changes an immutable field")
  func transitionThroughServer() {
    let server = makeServer()
    #expect(server.call("POST", crdPath, crd(rule: "self.modelRef == oldSelf.modelRef", message: "modelRef is immutable")).0 == 201)
    let w: JSONValue = ["apiVersion": "edgeml.io/v1alpha1", "kind": "Widget", "metadata": ["name": "w1"], "spec": ["modelRef": "a"]]
    var (created, stored) = server.call("POST", widgets, w)
    #expect(created == 201)
    stored["spec"] = ["modelRef": "b"]
    let w2 = stored
    let (code, body) = server.call("PUT", widgets + "/w1", w2)
    #expect(code == 422)
    #expect(body["message"]?.stringValue == "Widget.edgeml.io \"w1\" is invalid: spec: Invalid value: \"object\": modelRef is immutable")
  }
}
