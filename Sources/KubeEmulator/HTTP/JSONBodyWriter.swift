import KubeCore
import NIOCore

/// Writes a JSON response body straight into the response's `ByteBuffer`.
///
/// A LIST of 10,000 pods is 25 MB. Serialising it whole into an array and copying that into the
/// buffer grows a second 25 MB array by doubling (each step a fresh allocation, a copy and new
/// pages) and then copies it again. Here the two outer levels (the list object and its `items`)
/// are written by hand and each member below them is serialised into one small scratch array that
/// is reused, then appended to the buffer, which grows in place; the buffer is sized from the
/// number of items up front. A LIST whose items come already encoded (`APIResponse.encodedItems`)
/// has those bytes copied in instead.
enum JSONBodyWriter {
  /// Containers this many levels deep or less are opened here; deeper values are serialised whole.
  static let splitDepth = 1

  static func write(_ value: JSONValue, encodedItems: [[UInt8]]? = nil, into buffer: inout ByteBuffer) {
    var scratch: [UInt8] = []
    scratch.reserveCapacity(8 * 1024)
    var encoded: [[UInt8]]? = nil
    if case .object(let o) = value, let items = o["items"]?.arrayValue {
      if let encodedItems, encodedItems.count == items.count {
        encoded = encodedItems
        buffer.reserveCapacity(minimumWritableBytes: 1024 + encodedItems.reduce(0) { $0 + $1.count + 1 })
      } else {
        // A guess of the encoded size (a pod is 1.5-3 KB) saves the buffer's first regrowths.
        buffer.reserveCapacity(minimumWritableBytes: 1024 + items.count * 2048)
      }
    }
    write(value, depth: 0, encodedItems: encoded, into: &buffer, scratch: &scratch)
  }

  private static func write(_ value: JSONValue, depth: Int, encodedItems: [[UInt8]]?, into buffer: inout ByteBuffer, scratch: inout [UInt8]) {
    switch value {
    case .array(let elements) where depth <= splitDepth:
      buffer.writeInteger(UInt8(ascii: "["))
      for i in elements.indices {
        if i > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
        write(elements[i], depth: depth + 1, encodedItems: nil, into: &buffer, scratch: &scratch)
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
        if depth == 0, key == "items", let encodedItems {
          buffer.writeInteger(UInt8(ascii: "["))
          for i in encodedItems.indices {
            if i > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
            buffer.writeBytes(encodedItems[i])
          }
          buffer.writeInteger(UInt8(ascii: "]"))
        } else {
          write(member, depth: depth + 1, encodedItems: nil, into: &buffer, scratch: &scratch)
        }
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
