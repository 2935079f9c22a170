import KubeCore
import NIOCore

/// Writes a JSON response body straight into the response's `ByteBuffer`.
///
/// A LIST of 10,000 pods is 33 MB. Serialising it whole into an array and copying that into the
/// buffer grows a second 33 MB array by doubling (each step a fresh allocation, a copy and new
/// pages) and then copies it again. An answer made of stored objects (`EncodedBody`) is written
/// from each object's shared encoding, with the buffer sized for the whole body first, so a LIST
/// copies bytes and builds no objects. Any other JSON answer has its two outer levels written by
/// hand and each member below them serialised into one small scratch array that is reused.
enum JSONBodyWriter {
  /// Containers this many levels deep or less are opened here; deeper values are serialised whole.
  static let splitDepth = 1

  static func write(_ value: JSONValue, into buffer: inout ByteBuffer) {
    var scratch: [UInt8] = []
    scratch.reserveCapacity(8 * 1024)
    if case .object(let o) = value, let items = o["items"]?.arrayValue {
      // A guess of the encoded size (a pod is 1.5-3 KB) saves the buffer's first regrowths.
      buffer.reserveCapacity(minimumWritableBytes: 1024 + items.count * 2048)
    }
    write(value, depth: 0, into: &buffer, scratch: &scratch)
  }

  /// Writes an answer made of stored objects from their shared encodings.
  static func write(_ body: EncodedBody, into buffer: inout ByteBuffer) {
    let form = body.form
    switch body.shape {
    case .object(let stored):
      let members = stored.members
      buffer.reserveCapacity(minimumWritableBytes: form.objectHead.count + members.count + 2)
      writeObject(members, form: form, into: &buffer)
    case .list(let members, let items):
      // Each item's encoding is made (or taken) first, so the buffer is sized once for all of them.
      let encoded = items.map(\.members)
      let perItem = form.itemsCarryType ? form.objectHead.count + 2 : 3
      buffer.reserveCapacity(minimumWritableBytes: 1024 + encoded.reduce(0) { $0 + $1.count + perItem })
      var scratch: [UInt8] = []
      buffer.writeInteger(UInt8(ascii: "{"))
      for (i, (key, value)) in members.enumerated() {
        if i > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
        serialise(.string(key), into: &buffer, scratch: &scratch)
        buffer.writeInteger(UInt8(ascii: ":"))
        guard key == "items" else {
          serialise(value, into: &buffer, scratch: &scratch)
          continue
        }
        buffer.writeInteger(UInt8(ascii: "["))
        for j in encoded.indices {
          if j > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
          if form.itemsCarryType {
            writeObject(encoded[j], form: form, into: &buffer)
          } else {
            buffer.writeInteger(UInt8(ascii: "{"))
            buffer.writeBytes(encoded[j])
            buffer.writeInteger(UInt8(ascii: "}"))
          }
        }
        buffer.writeInteger(UInt8(ascii: "]"))
      }
      buffer.writeInteger(UInt8(ascii: "}"))
    }
  }

  /// `ServedForm.writeObject`, into a `ByteBuffer`.
  private static func writeObject(_ members: [UInt8], form: ServedForm, into buffer: inout ByteBuffer) {
    buffer.writeBytes(form.objectHead)
    if !members.isEmpty {
      buffer.writeInteger(UInt8(ascii: ","))
      buffer.writeBytes(members)
    }
    buffer.writeInteger(UInt8(ascii: "}"))
  }

  private static func write(_ value: JSONValue, depth: Int, into buffer: inout ByteBuffer, scratch: inout [UInt8]) {
    switch value {
    case .array(let elements) where depth <= splitDepth:
      buffer.writeInteger(UInt8(ascii: "["))
      for i in elements.indices {
        if i > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
        write(elements[i], depth: depth + 1, into: &buffer, scratch: &scratch)
      }
      buffer.writeInteger(UInt8(ascii: "]"))
    case .object(let members) where depth <= splitDepth:
      buffer.writeInteger(UInt8(ascii: "{"))
      var first = true
      for (key, member) in members {
        if !first { buffer.writeInteger(UInt8(ascii: ",")) }
        first = false
        serialise(.string(key), into: &buffer, scratch: &scratch)
        buffer.writeInteger(UInt8(ascii: ":"))
        write(member, depth: depth + 1, into: &buffer, scratch: &scratch)
      }
      buffer.writeInteger(UInt8(ascii: "}"))
    default:
      serialise(value, into: &buffer, scratch: &scratch)
    }
  }

  private static func serialise(_ value: JSONValue, into buffer: inout ByteBuffer, scratch: inout [UInt8]) {
    scratch.removeAll(keepingCapacity: true)
    JSONSerializer.write(value, into: &scratch)
    buffer.writeBytes(scratch)
  }
}

extension APIResponse {
  /// The body as the HTTP layer sends it, for a JSON answer (nil for a watch or a stream).
  public var wireBytes: [UInt8]? {
    var buffer = ByteBufferAllocator().buffer(capacity: 0)
    switch payload {
    case .encoded(let encoded): JSONBodyWriter.write(encoded, into: &buffer)
    case .body(.json(let value)): JSONBodyWriter.write(value, into: &buffer)
    case .body(.bytes(let bytes)): return bytes
    case .body(.watch), .body(.stream): return nil
    }
    return buffer.readBytes(length: buffer.readableBytes)
  }
}
