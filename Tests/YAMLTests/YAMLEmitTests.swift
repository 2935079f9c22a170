import KubeCore
import Testing
@testable import YAML

@Test("Emitted YAML is block style with 2-space indentation, as kubectl prints it")
func yamlEmitBlockStyle() throws {
  let value = try JSONValue(parsing: #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","labels":{}},"spec":{"containers":[{"name":"c","ports":[{"containerPort":80}]}],"tolerations":[]}}"#)
  #expect(YAML.emit(value) == """
    apiVersion: v1
    kind: Pod
    metadata:
      name: web
      labels: {}
    spec:
      containers:
      - name: c
        ports:
        - containerPort: 80
      tolerations: []

    """)
}

@Test("Strings that would read back as another type are quoted", arguments: [
  "true", "false", "yes", "no", "y", "n", "on", "off", "null", "~", "", "123", "0x1F", "0777", "1e3", ".5", ".inf",
  "-.inf", ".nan", "1_000", "2026-11-25", "12:30:45", "<<",
])
func yamlEmitQuotes(_ text: String) throws {
  let emitted = YAML.emit(["k": .string(text)])
  #expect(emitted == "k: \"\(text)\"\n")
  #expect(try YAML.parse(emitted) == ["k": .string(text)])
}

@Test("Plain strings stay plain and awkward ones are quoted by libyaml", arguments: [
  ("hello", "k: hello\n"), ("a: b", "k: 'a: b'\n"), ("- x", "k: '- x'\n"), ("#x", "k: '#x'\n"), (" lead", "k: ' lead'\n"),
  ("nginx:1.27", "k: nginx:1.27\n"), ("café", "k: café\n"),
])
func yamlEmitPlain(_ text: String, _ expected: String) throws {
  #expect(YAML.emit(["k": .string(text)]) == expected)
  #expect(try YAML.parse(expected) == ["k": .string(text)])
}

@Test("Multi-line strings become literal blocks")
func yamlEmitLiteral() throws {
  let value: JSONValue = ["script": "echo one\necho two\n"]
  #expect(YAML.emit(value) == "script: |\n  echo one\n  echo two\n")
  #expect(try YAML.parse(YAML.emit(value)) == value)
  let awkward: JSONValue = ["s": "trailing  \nspace"]
  #expect(try YAML.parse(YAML.emit(awkward)) == awkward)
}

@Test("Numbers keep their JSON text, null and booleans are plain, keys can be sorted")
func yamlEmitScalars() throws {
  let value = try JSONValue(parsing: #"{"b":9223372036854775807,"a":1.5e3,"c":null,"d":false}"#)
  #expect(YAML.emit(value) == "b: 9223372036854775807\na: 1.5e3\nc: null\nd: false\n")
  #expect(YAML.emit(value, sortKeys: true) == "a: 1.5e3\nb: 9223372036854775807\nc: null\nd: false\n")
  #expect(YAML.emit("plain") == "plain\n")
  #expect(YAML.emit([]) == "[]\n")
}

@Test("Parsing what was emitted gives the value back")
func yamlEmitRoundTrip() throws {
  let value = try JSONValue(parsing: #"{"s":["a","true","",null,{"x":{"y":[[1,2],[]]}}],"n":-3,"f":0.25,"t":"2026-11-25T12:00:00Z","u":"ünïcode ✓"}"#)
  #expect(try YAML.parse(YAML.emit(value)) == value)
  #expect(try YAML.parse(YAML.emit(value, sortKeys: true)) == value)
}
