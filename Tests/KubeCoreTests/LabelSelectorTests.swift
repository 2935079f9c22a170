import Testing
@testable import KubeCore

/// One row of a text table: an input and what it must give (a canonical form or an error message).
struct TextCase: Sendable, CustomStringConvertible {
  var text: String
  var expected: String
  var description: String { text }
}

@Test("Valid label selectors parse to apimachinery's canonical string", arguments: [
  TextCase(text: "", expected: ""),
  TextCase(text: "x=a", expected: "x=a"),
  TextCase(text: "x==a", expected: "x==a"),
  TextCase(text: "x!=a", expected: "x!=a"),
  TextCase(text: "x=", expected: "x="),
  TextCase(text: "y,x", expected: "x,y"),
  TextCase(text: "!x", expected: "!x"),
  TextCase(text: " x in ( c, a,b ) ", expected: "x in (a,b,c)"),
  TextCase(text: "x notin (a)", expected: "x notin (a)"),
  TextCase(text: "x in (foo,,baz),y,z notin ()", expected: "x in (,baz,foo),y,z notin ()"),
  TextCase(text: "x in (a,a,b)", expected: "x in (a,b)"),
  TextCase(text: "in in (in, notin)", expected: "in in (in,notin)"),
  TextCase(text: "x>1,y<2", expected: "x>1,y<2"),
  TextCase(text: "app.kubernetes.io/name=web,tier!=db", expected: "app.kubernetes.io/name=web,tier!=db"),
  // TestSelectorParse's good strings (k8s.io/apimachinery/pkg/labels/selector_test.go): spaces vanish.
  TextCase(text: "x=a,y=b,z=c", expected: "x=a,y=b,z=c"),
  TextCase(text: "x= ", expected: "x="),
  TextCase(text: "x=,z= ", expected: "x=,z="),
  TextCase(text: "x= ,z= ", expected: "x=,z="),
  TextCase(text: "x>1,z<5", expected: "x>1,z<5"),
  TextCase(text: "x=a,a=x", expected: "a=x,x=a"),
])
func labelSelectorCanonical(_ c: TextCase) throws {
  let selector = try LabelSelector.parse(c.text)
  #expect(selector.description == c.expected)
  #expect(try LabelSelector.parse(selector.description) == selector)
}

private let nameRegex =
  "(e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"

@Test("Malformed label selectors are rejected with apimachinery's message", arguments: [
  TextCase(text: "app:monolith", expected: "unable to parse requirement: <nil>: Invalid value: \"app:monolith\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character \(nameRegex)"),
  TextCase(text: "x==a==b", expected: "found '==', expected: ',' or 'end of string'"),
  TextCase(text: "x=a b", expected: "found 'b', expected: ',' or 'end of string'"),
  TextCase(text: "x y", expected: "unable to parse requirement: found 'y', expected: in, notin, =, ==, !=, gt, lt"),
  TextCase(text: ",x", expected: "found ',', expected: !, identifier, or 'end of string'"),
  TextCase(text: "x,", expected: "found '', expected: identifier after ','"),
  TextCase(text: "x in a", expected: "unable to parse requirement: found 'a' expected: '('"),
  TextCase(text: "x in (a", expected: "unable to parse requirement: found '', expected: ',' or ')'"),
  TextCase(text: "x in (=)", expected: "unable to parse requirement: found '=', expected: ',', ')' or identifier"),
  TextCase(text: "x=(", expected: "unable to parse requirement: found '(', expected: identifier"),
  TextCase(text: "!", expected: "unable to parse requirement: found '', expected: identifier"),
  TextCase(text: "!x=a", expected: "found '=', expected: ',' or 'end of string'"),
  TextCase(text: "x=a_", expected: "unable to parse requirement: values[0][x]: Invalid value: \"a_\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"),
  TextCase(text: "x>a", expected: "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer"),
  TextCase(text: "/x", expected: "unable to parse requirement: <nil>: Invalid value: \"/x\": prefix part must be non-empty"),
  TextCase(text: "a/b/c", expected: "unable to parse requirement: <nil>: Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character \(nameRegex) with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"),
  TextCase(text: "Ex.com/x", expected: "unable to parse requirement: <nil>: Invalid value: \"Ex.com/x\": prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"),
  TextCase(text: "ex.com/", expected: "unable to parse requirement: <nil>: Invalid value: \"ex.com/\": name part must be non-empty; name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character \(nameRegex)"),
  TextCase(text: String(repeating: "k", count: 64), expected: "unable to parse requirement: <nil>: Invalid value: \"\(String(repeating: "k", count: 64))\": name part must be no more than 63 characters"),
  TextCase(text: "x=" + String(repeating: "v", count: 64), expected: "unable to parse requirement: values[0][x]: Invalid value: \"\(String(repeating: "v", count: 64))\": must be no more than 63 characters"),
])
func malformedLabelSelector(_ c: TextCase) {
  #expect(throws: LabelSelectorError(c.expected)) { try LabelSelector.parse(c.text) }
}

@Test("Label selectors match labels the way the API server filters lists")
func labelSelectorMatching() throws {
  let labels = ["app": "web", "tier": "frontend", "replicas": "3"]
  let expectations: [(String, Bool)] = [
    ("", true), ("app=web", true), ("app==api", false), ("app!=api", true), ("missing!=x", true),
    ("app in (web,api)", true), ("app notin (web)", false), ("missing notin (x)", true), ("missing in (x)", false),
    ("app", true), ("!app", false), ("!missing", true), ("replicas>2", true), ("replicas<3", false), ("app>1", false),
    ("app=web,tier=backend", false),
  ]
  for (text, expected) in expectations {
    #expect(try LabelSelector.parse(text).matches(labels) == expected, "\(text)")
  }
  #expect(try LabelSelector.parse("").isEmpty)
}

@Test("A metav1.LabelSelector object converts like LabelSelectorAsSelector")
func labelSelectorFromJSON() throws {
  let json = try JSONValue(parsing: #"{"matchLabels":{"b":"2","a":"1"},"matchExpressions":[{"key":"c","operator":"In","values":["y","x"]},{"key":"d","operator":"DoesNotExist"}]}"#)
  let selector = try LabelSelector(json: json)
  #expect(selector.description == "a=1,b=2,c in (x,y),!d")
  #expect(selector.matches(["a": "1", "b": "2", "c": "x"]))
  #expect(!selector.matches(["a": "1", "b": "2", "c": "x", "d": ""]))
  #expect(try LabelSelector(json: .object([:])).isEmpty)
  #expect(try !LabelSelector(json: .null).matches([:]))
  #expect(try !LabelSelector(json: .null).isEmpty)
}

@Test("Malformed metav1.LabelSelector objects are rejected", arguments: [
  (#"{"matchExpressions":[{"key":"a","operator":"Gt","values":["1"]}]}"#, #""Gt" is not a valid label selector operator"#),
  (#"{"matchExpressions":[{"key":"a","operator":"In"}]}"#, "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty"),
  (#"{"matchExpressions":[{"key":"a","operator":"Exists","values":["x"]}]}"#, #"values: Invalid value: []string{"x"}: values set must be empty for exists and does not exist"#),
  (#"{"matchLabels":{"a b":"x"}}"#, "key: Invalid value: \"a b\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character \(nameRegex)"),
  (#"{"matchLabels":{"a":1}}"#, "matchLabels.a must be a string"),
  (#"{"matchLabels":[]}"#, "matchLabels must be an object, not array"),
  (#""x""#, "label selector must be an object, not string"),
])
func malformedLabelSelectorJSON(_ text: String, _ message: String) throws {
  let json = try JSONValue(parsing: text)
  #expect(throws: LabelSelectorError(message)) { try LabelSelector(json: json) }
}
