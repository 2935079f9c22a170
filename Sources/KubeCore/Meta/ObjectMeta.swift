/// The `metadata` of every Kubernetes object (`metav1.ObjectMeta`).
///
/// The fields controllers read and write are typed; `managedFields` stays raw JSON because only the
/// API server interprets it. Fields this type does not model are kept, and unchanged values keep their
/// original text and key order, so reading and writing back never drops or reshuffles data.
public struct ObjectMeta: Sendable, Equatable {
  /// The object's name, unique per kind and namespace.
  public var name: String?
  /// A prefix the server completes with random characters when `name` is empty.
  public var generateName: String?
  /// The namespace; nil for cluster-scoped objects.
  public var namespace: String?
  /// The server-assigned identity, different for each incarnation of a name.
  public var uid: String?
  /// The opaque version for optimistic concurrency and watch resumption.
  public var resourceVersion: String?
  /// Incremented by the server on each spec change.
  public var generation: Int64?
  /// When the object was created (server-set).
  public var creationTimestamp: Timestamp?
  /// Set when deletion was requested and finalizers are pending.
  public var deletionTimestamp: Timestamp?
  /// The grace period that applies to the pending deletion.
  public var deletionGracePeriodSeconds: Int64?
  /// Labels, selectable with `LabelSelector`.
  public var labels: [String: String]?
  /// Annotations: non-identifying metadata.
  public var annotations: [String: String]?
  /// Owners, for garbage collection.
  public var ownerReferences: [OwnerReference]?
  /// Finalizers that must be removed before the object disappears.
  public var finalizers: [String]?
  /// Server-side apply bookkeeping, kept as is.
  public var managedFields: JSONValue?
  private var original: JSONObject

  /// Creates metadata for a new object.
  public init(name: String? = nil, namespace: String? = nil, labels: [String: String]? = nil, annotations: [String: String]? = nil) {
    self.name = name
    self.namespace = namespace
    self.labels = labels
    self.annotations = annotations
    self.original = JSONObject()
  }

  /// Reads `metadata`.
  ///
  /// - Throws: `MetaDecodingError` naming the field (`metadata.labels.app`) that has the wrong type or
  ///   an invalid timestamp.
  public init(json: JSONValue) throws(MetaDecodingError) {
    let reader = try MetaReader(json, path: "metadata")
    name = try reader.string("name")
    generateName = try reader.string("generateName")
    namespace = try reader.string("namespace")
    uid = try reader.string("uid")
    resourceVersion = try reader.string("resourceVersion")
    generation = try reader.int64("generation")
    creationTimestamp = try reader.timestamp("creationTimestamp")
    deletionTimestamp = try reader.timestamp("deletionTimestamp")
    deletionGracePeriodSeconds = try reader.int64("deletionGracePeriodSeconds")
    labels = try reader.stringMap("labels")
    annotations = try reader.stringMap("annotations")
    finalizers = try reader.stringArray("finalizers")
    if let references = try reader.array("ownerReferences") {
      var parsed: [OwnerReference] = []
      for (i, reference) in references.enumerated() {
        parsed.append(try OwnerReference(json: reference, path: reader.child("ownerReferences") + "[\(i)]"))
      }
      ownerReferences = parsed
    }
    managedFields = reader.object["managedFields"]
    original = reader.object
  }

  /// The metadata as JSON, unknown fields included.
  public var json: JSONValue {
    var writer = MetaWriter(original)
    writer.set("name", name)
    writer.set("generateName", generateName)
    writer.set("namespace", namespace)
    writer.set("uid", uid)
    writer.set("resourceVersion", resourceVersion)
    writer.set("generation", generation)
    writer.set("creationTimestamp", creationTimestamp)
    writer.set("deletionTimestamp", deletionTimestamp)
    writer.set("deletionGracePeriodSeconds", deletionGracePeriodSeconds)
    writer.set("labels", labels)
    writer.set("annotations", annotations)
    writer.set("ownerReferences", ownerReferences.map { JSONValue.array($0.map(\.json)) })
    writer.set("finalizers", finalizers)
    writer.set("managedFields", managedFields)
    return writer.json
  }

  /// Equal when their JSON is equal: typed fields and every kept unknown field, in any key order.
  public static func == (lhs: ObjectMeta, rhs: ObjectMeta) -> Bool { lhs.json == rhs.json }
}
