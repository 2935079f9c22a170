internal import CYAML

/// Owns a `yaml_emitter_t` writing into a Swift byte array; freed in `deinit` (STYLE.md §10).
///
/// libyaml calls the write handler with the emitter's `data` pointer, which refers back to this object
/// through `Unmanaged` (unretained: the emitter never outlives its owner).
final class LibYAMLEmitter {
  enum ScalarStyle { case plain, doubleQuoted, literal }

  private let emitter: UnsafeMutablePointer<yaml_emitter_t>
  private(set) var output: [UInt8] = []
  private(set) var failed = false

  init() throws(YAMLError) {
    emitter = UnsafeMutablePointer<yaml_emitter_t>.allocate(capacity: 1)
    guard yaml_emitter_initialize(emitter) != 0 else {
      emitter.deallocate()
      throw YAMLError(message: "cannot initialize the YAML emitter (out of memory)", line: 1, column: 1)
    }
    yaml_emitter_set_output(emitter, { data, buffer, size in
      guard let data, let buffer else { return 0 }
      let owner = Unmanaged<LibYAMLEmitter>.fromOpaque(data).takeUnretainedValue()
      owner.output.append(contentsOf: UnsafeBufferPointer(start: buffer, count: size))
      return 1
    }, Unmanaged.passUnretained(self).toOpaque())
    yaml_emitter_set_indent(emitter, 2)
    yaml_emitter_set_width(emitter, -1)
    yaml_emitter_set_unicode(emitter, 1)
  }

  deinit {
    yaml_emitter_delete(emitter)
    emitter.deallocate()
  }

  /// Emits an event that an initializer filled in; libyaml takes ownership of it.
  private func emit(_ initialize: (UnsafeMutablePointer<yaml_event_t>) -> Int32) {
    guard !failed else { return }
    var event = yaml_event_t()
    guard initialize(&event) != 0, yaml_emitter_emit(emitter, &event) != 0 else {
      failed = true
      return
    }
  }

  func streamStart() { emit { yaml_stream_start_event_initialize($0, YAML_UTF8_ENCODING) } }
  func streamEnd() { emit { yaml_stream_end_event_initialize($0) } }
  func documentStart(implicit: Bool) { emit { yaml_document_start_event_initialize($0, nil, nil, nil, implicit ? 1 : 0) } }
  func documentEnd() { emit { yaml_document_end_event_initialize($0, 1) } }
  func mappingStart() { emit { yaml_mapping_start_event_initialize($0, nil, nil, 1, YAML_BLOCK_MAPPING_STYLE) } }
  func mappingEnd() { emit { yaml_mapping_end_event_initialize($0) } }
  func sequenceStart() { emit { yaml_sequence_start_event_initialize($0, nil, nil, 1, YAML_BLOCK_SEQUENCE_STYLE) } }
  func sequenceEnd() { emit { yaml_sequence_end_event_initialize($0) } }

  func scalar(_ text: String, style: ScalarStyle) {
    let cStyle: yaml_scalar_style_t
    switch style {
    case .plain: cStyle = YAML_PLAIN_SCALAR_STYLE
    case .doubleQuoted: cStyle = YAML_DOUBLE_QUOTED_SCALAR_STYLE
    case .literal: cStyle = YAML_LITERAL_SCALAR_STYLE
    }
    var bytes = Array(text.utf8)
    let count = Int32(clamping: bytes.count)
    bytes.withUnsafeMutableBufferPointer { buffer in
      emit { yaml_scalar_event_initialize($0, nil, nil, buffer.baseAddress, count, 1, 1, cStyle) }
    }
  }
}
