internal import CYAML

/// One libyaml parse event, copied into Swift values so no C memory outlives the call that made it.
struct YAMLEvent {
  enum Kind {
    case streamStart, streamEnd, documentStart, documentEnd
    case alias(anchor: String)
    case scalar(value: String, anchor: String?, tag: String?, isPlain: Bool, isImplicit: Bool)
    case sequenceStart(anchor: String?, tag: String?)
    case sequenceEnd
    case mappingStart(anchor: String?, tag: String?)
    case mappingEnd
  }

  var kind: Kind
  /// 1-based line and column of the event's start.
  var line: Int
  var column: Int
}

/// Owns a `yaml_parser_t` and the input bytes it reads; freed in `deinit` (STYLE.md §10).
final class LibYAMLParser {
  private let parser: UnsafeMutablePointer<yaml_parser_t>
  private let input: UnsafeMutableBufferPointer<UInt8>

  init(_ text: String) throws(YAMLError) {
    parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
    let bytes = Array(text.utf8)
    input = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(bytes.count, 1))
    _ = input.initialize(from: bytes)
    guard yaml_parser_initialize(parser) != 0 else {
      parser.deallocate()
      input.deallocate()
      throw YAMLError(message: "cannot initialize the YAML parser (out of memory)", line: 1, column: 1)
    }
    yaml_parser_set_encoding(parser, YAML_UTF8_ENCODING)
    yaml_parser_set_input_string(parser, input.baseAddress, bytes.count)
  }

  deinit {
    yaml_parser_delete(parser)
    parser.deallocate()
    input.deallocate()
  }

  private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
    guard let pointer else { return nil }
    return String(cString: pointer)
  }

  /// The next event, or the scanner/parser error at libyaml's `problem_mark`.
  func next() throws(YAMLError) -> YAMLEvent {
    var event = yaml_event_t()
    guard yaml_parser_parse(parser, &event) != 0 else {
      let problem = parser.pointee.problem.map { String(cString: $0) } ?? "unknown problem parsing YAML content"
      let mark = parser.pointee.problem_mark
      throw YAMLError(message: problem, line: mark.line + 1, column: mark.column + 1)
    }
    defer { yaml_event_delete(&event) }
    let kind: YAMLEvent.Kind
    switch event.type {
    case YAML_STREAM_START_EVENT: kind = .streamStart
    case YAML_STREAM_END_EVENT: kind = .streamEnd
    case YAML_DOCUMENT_START_EVENT: kind = .documentStart
    case YAML_DOCUMENT_END_EVENT: kind = .documentEnd
    case YAML_ALIAS_EVENT: kind = .alias(anchor: LibYAMLParser.string(event.data.alias.anchor) ?? "")
    case YAML_SCALAR_EVENT:
      let scalar = event.data.scalar
      let value = scalar.value.map { String(decoding: UnsafeBufferPointer(start: $0, count: scalar.length), as: UTF8.self) } ?? ""
      kind = .scalar(
        value: value, anchor: LibYAMLParser.string(scalar.anchor), tag: LibYAMLParser.string(scalar.tag),
        isPlain: scalar.style == YAML_PLAIN_SCALAR_STYLE, isImplicit: scalar.plain_implicit != 0)
    case YAML_SEQUENCE_START_EVENT:
      let start = event.data.sequence_start
      kind = .sequenceStart(anchor: LibYAMLParser.string(start.anchor), tag: LibYAMLParser.string(start.tag))
    case YAML_SEQUENCE_END_EVENT: kind = .sequenceEnd
    case YAML_MAPPING_START_EVENT:
      let start = event.data.mapping_start
      kind = .mappingStart(anchor: LibYAMLParser.string(start.anchor), tag: LibYAMLParser.string(start.tag))
    case YAML_MAPPING_END_EVENT: kind = .mappingEnd
    default:
      throw YAMLError(message: "unexpected YAML event", line: event.start_mark.line + 1, column: event.start_mark.column + 1)
    }
    return YAMLEvent(kind: kind, line: event.start_mark.line + 1, column: event.start_mark.column + 1)
  }
}
