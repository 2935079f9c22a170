import Testing
@testable import KubeCore

@Test("Timestamps parse RFC 3339 and print Kubernetes' Time and MicroTime forms", arguments: [
  ("2026-11-25T12:00:00Z", "2026-11-25T12:00:00Z", "2026-11-25T12:00:00.000000Z"),
  ("2026-11-25T12:00:00.123456789Z", "2026-11-25T12:00:00Z", "2026-11-25T12:00:00.123456Z"),
  ("2026-11-25T13:30:00+01:30", "2026-11-25T12:00:00Z", "2026-11-25T12:00:00.000000Z"),
  ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000000Z"),
  ("1969-12-31T23:59:59Z", "1969-12-31T23:59:59Z", "1969-12-31T23:59:59.000000Z"),
  ("2024-02-29T23:59:59.5-00:00", "2024-02-29T23:59:59Z", "2024-02-29T23:59:59.500000Z"),
])
func timestampForms(_ text: String, _ time: String, _ micro: String) throws {
  let timestamp = try Timestamp(rfc3339: text)
  #expect(timestamp.rfc3339 == time)
  #expect(timestamp.rfc3339Micro == micro)
}

@Test("Malformed timestamps are rejected", arguments: [
  "", "2026-11-25", "2026-11-25 12:00:00Z", "2026-13-01T00:00:00Z", "2025-02-29T00:00:00Z", "2026-11-25T24:00:00Z",
  "2026-11-25T12:00:00", "2026-11-25T12:00:00.Z", "2026-11-25T12:00:00+1:00", "2026-11-25T12:00:00Zjunk", "x026-11-25T12:00:00Z",
])
func malformedTimestamp(_ text: String) {
  #expect(throws: TimestampError(text: text)) { try Timestamp(rfc3339: text) }
}

@Test("ObjectMeta reads typed fields and writes back every field it did not change")
func objectMetaRoundTrip() throws {
  let text = #"""
    {"name":"web","namespace":"prod","uid":"u-1","resourceVersion":"42","generation":3,
     "creationTimestamp":"2026-11-25T13:00:00+01:00","labels":{"z":"1","a":"2"},"annotations":{"note":"x"},
     "ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-1","uid":"u-0","controller":true,"futureField":7}],
     "finalizers":["edgeml.io/cleanup"],"managedFields":[{"manager":"kubectl"}],"selfLink":"/kept","deletionTimestamp":null}
    """#
  let json = try JSONValue(parsing: text)
  var meta = try ObjectMeta(json: json)
  #expect(meta.name == "web")
  #expect(meta.generation == 3)
  #expect(meta.labels == ["z": "1", "a": "2"])
  #expect(meta.ownerReferences?.first?.controller == true)
  #expect(meta.creationTimestamp?.rfc3339 == "2026-11-25T12:00:00Z")
  #expect(meta.json.serializedString() == json.serializedString())

  meta.labels?["m"] = "3"
  meta.finalizers = nil
  let written = meta.json
  #expect(written["labels"]?.objectValue?.keys == ["z", "a", "m"])
  #expect(written["finalizers"] == nil)
  #expect(written["selfLink"] == "/kept")
  #expect(written["ownerReferences"]?.arrayValue?.first?["futureField"] == 7)
}

@Test("Conditions, owner references and type metadata keep unknown fields")
func conditionRoundTrip() throws {
  let json = try JSONValue(parsing: #"{"type":"Ready","status":"True","observedGeneration":2,"lastTransitionTime":"2026-11-25T12:00:00Z","reason":"Built","message":"ok","extra":{"a":[1,2]}}"#)
  var condition = try Condition(json: json)
  #expect(condition.json == json)
  condition.status = "False"
  #expect(condition.json["status"] == "False")
  #expect(condition.json["extra"] == json["extra"])
  let fresh = Condition(type: "Ready", status: "True", lastTransitionTime: Timestamp(secondsSinceEpoch: 0))
  #expect(fresh.json.serializedString() == #"{"type":"Ready","status":"True","lastTransitionTime":"1970-01-01T00:00:00Z"}"#)

  let object = try JSONValue(parsing: #"{"apiVersion":"v1","kind":"Pod","spec":{}}"#)
  let typeMeta = try TypeMeta(json: object)
  #expect(typeMeta.kind == "Pod")
  #expect(typeMeta.json == object)
  #expect(OwnerReference(apiVersion: "v1", kind: "Pod", name: "p", uid: "u").json.serializedString()
    == #"{"apiVersion":"v1","kind":"Pod","name":"p","uid":"u"}"#)
}

@Test("Metadata of the wrong shape is rejected with the field path", arguments: [
  (#"{"name":1}"#, "metadata.name: expected string, got integer"),
  (#"{"labels":{"a":true}}"#, "metadata.labels.a: expected string, got boolean"),
  (#"{"generation":"1"}"#, "metadata.generation: expected integer, got string"),
  (#"{"creationTimestamp":"yesterday"}"#, #"metadata.creationTimestamp: parsing time "yesterday" as RFC 3339: invalid timestamp"#),
  (#"{"ownerReferences":[{"kind":"Pod"}]}"#, "metadata.ownerReferences[0].apiVersion: Required value"),
  (#"{"finalizers":[1]}"#, "metadata.finalizers[0]: expected string, got integer"),
  (#"[]"#, "metadata: expected object, got array"),
])
func malformedObjectMeta(_ text: String, _ message: String) throws {
  let json = try JSONValue(parsing: text)
  #expect(throws: (any Error).self) { try ObjectMeta(json: json) }
  do {
    _ = try ObjectMeta(json: json)
  } catch {
    #expect(error.description == message)
  }
}

@Test("setting a condition moves its transition time only when its status changes, as meta.SetStatusCondition does")
func setStatusCondition() throws {
  let t0 = Timestamp(secondsSinceEpoch: 1_800_000_000), t1 = Timestamp(secondsSinceEpoch: 1_800_000_060)
  var conditions: [Condition] = []
  #expect(Condition.set(Condition(type: "Ready", status: "False", observedGeneration: 1, reason: "Building", message: "0/1"),
                        in: &conditions, now: t0))
  #expect(conditions.first?.lastTransitionTime == t0)
  // Same status, new reason, message and generation: those change, the transition time does not.
  #expect(Condition.set(Condition(type: "Ready", status: "False", observedGeneration: 2, reason: "Unschedulable", message: "no GPU"),
                        in: &conditions, now: t1))
  let ready = try #require(Condition.find("Ready", in: conditions))
  #expect(ready.lastTransitionTime == t0 && ready.reason == "Unschedulable" && ready.observedGeneration == 2)
  // Nothing new: reported unchanged.
  #expect(!Condition.set(ready, in: &conditions, now: t1))
  // The status flips: now it moves.
  Condition.set(Condition(type: "Ready", status: "True", observedGeneration: 2, reason: "Ready"), in: &conditions, now: t1)
  #expect(Condition.find("Ready", in: conditions)?.lastTransitionTime == t1)
  // Another type is added beside it; the first keeps its place.
  Condition.set(Condition(type: "Available", status: "True"), in: &conditions, now: t1)
  #expect(conditions.map(\.type) == ["Ready", "Available"])
}
