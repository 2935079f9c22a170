import KubeCore

/// Which names a CustomResourceDefinition may serve, decided against the other CRDs of its group.
///
/// apiextensions-apiserver's naming controller (`pkg/controller/status/naming_controller.go`,
/// `calculateNamesAndConditions`, `equalToAcceptedOrFresh`): every name the CRD asks for (plural,
/// singular, short names, kind, list kind) is accepted when it is already the CRD's own accepted name
/// or when no CRD of the group has accepted it yet — resources (plural, singular, short names) and
/// kinds (kind, list kind) are two separate pools. A name in use keeps the previously accepted one and
/// sets NamesAccepted=False; when several conflict, the last checked gives the reason.
struct CRDNames {
  /// The names the CRD serves (`status.acceptedNames`), as JSON.
  var accepted: JSONObject
  /// NamesAccepted: True/NoConflicts, or False with `PluralConflict`, `SingularConflict`,
  /// `ShortNamesConflict`, `KindConflict` or `ListKindConflict` and `"name" is already in use`.
  var isAccepted: Bool
  var reason: String
  var message: String

  /// Decides the names of `crd` given the CRDs stored (`crds`, the CRD itself may be among them).
  init(for crd: JSONValue, among crds: [JSONValue]) {
    let group = crd[path: ["spec", "group"]]?.stringValue ?? ""
    var resources: Set<String> = [], kinds: Set<String> = []
    for other in crds where other[path: ["spec", "group"]]?.stringValue == group {
      // the CRD's own accepted names count too, as upstream lists the whole group
      let names = other[path: ["status", "acceptedNames"]] ?? [:]
      for key in ["plural", "singular"] { resources.insert(names[key]?.stringValue ?? "") }
      for short in names["shortNames"]?.arrayValue ?? [] { resources.insert(short.stringValue ?? "") }
      for key in ["kind", "listKind"] { kinds.insert(names[key]?.stringValue ?? "") }
    }
    let requested = CRDNames.requested(crd)
    let current = crd[path: ["status", "acceptedNames"]]?.objectValue ?? ["plural": "", "kind": ""]
    var accepted = current
    var conflict: (reason: String, message: String)?

    func take(_ key: String, pool: Set<String>, reason: String) {
      let wanted = requested[key]?.stringValue ?? ""
      let had = current[key]?.stringValue ?? ""
      if wanted == had || !pool.contains(wanted) {
        accepted[key] = wanted.isEmpty && key != "plural" && key != "kind" ? nil : .string(wanted)
      } else {
        conflict = (reason, "\"\(wanted)\" is already in use")
      }
    }
    take("plural", pool: resources, reason: "PluralConflict")
    take("singular", pool: resources, reason: "SingularConflict")
    let wantedShort = (requested["shortNames"]?.arrayValue ?? []).compactMap(\.stringValue)
    let hadShort = (current["shortNames"]?.arrayValue ?? []).compactMap(\.stringValue)
    if wantedShort != hadShort {
      let taken = wantedShort.filter { !hadShort.contains($0) && resources.contains($0) }
      if taken.isEmpty {
        accepted["shortNames"] = wantedShort.isEmpty ? nil : .array(wantedShort.map { .string($0) })
      } else {
        // utilerrors.NewAggregate: one error as it is, several as "[a, b]"
        var messages: [String] = []
        for short in taken where !messages.contains("\"\(short)\" is already in use") { messages.append("\"\(short)\" is already in use") }
        conflict = ("ShortNamesConflict", messages.count == 1 ? messages[0] : "[" + messages.joined(separator: ", ") + "]")
      }
    }
    take("kind", pool: kinds, reason: "KindConflict")
    take("listKind", pool: kinds, reason: "ListKindConflict")
    accepted["categories"] = requested["categories"]

    self.accepted = accepted
    isAccepted = conflict == nil
    reason = conflict?.reason ?? "NoConflicts"
    message = conflict?.message ?? "no conflicts found"
  }

  /// `spec.names` with upstream's defaults: singular is the lower-cased kind, listKind kind + "List"
  /// (apiextensions-apiserver `pkg/apis/apiextensions/v1/defaults.go`).
  static func requested(_ crd: JSONValue) -> JSONObject {
    var names = crd[path: ["spec", "names"]]?.objectValue ?? JSONObject()
    let kind = names["kind"]?.stringValue ?? ""
    if (names["singular"]?.stringValue ?? "").isEmpty { names["singular"] = .string(kind.lowercased()) }
    if (names["listKind"]?.stringValue ?? "").isEmpty, !kind.isEmpty { names["listKind"] = .string(kind + "List") }
    return names
  }
}
