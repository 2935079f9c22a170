internal import CCurl
import Synchronization

/// One libcurl easy handle and what it collects. Created on any thread, then only touched on the
/// loop thread until it completes (`CurlMultiLoop` guarantees it), which is why it is
/// `@unchecked Sendable`.
final class CurlTransfer: @unchecked Sendable {
  let handle: UnsafeMutableRawPointer
  /// Set by `CurlMultiLoop.cancel` from any thread: a cancel that reaches the loop before the
  /// transfer itself must not be lost.
  let cancelRequested = Atomic<Bool>(false)
  private var headerList: UnsafeMutablePointer<curl_slist>?
  private var requestBody: [UInt8]
  private var blobs: [UnsafeMutableRawPointer] = []
  var status = 0
  var responseHeaders: [(String, String)] = []
  var responseBody: [UInt8] = []
  /// Streaming consumers get body bytes as they arrive instead of at the end.
  var onData: (@Sendable ([UInt8]) -> Void)?
  var onComplete: (@Sendable (Result<HTTPResponse, TransportError>) -> Void)?
  /// libcurl writes error details here during the transfer, so it must outlive any one call.
  private let errorBuffer: UnsafeMutablePointer<CChar> = {
    let p = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
    p.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    return p
  }()

  init(request: HTTPRequest, tls: TLSSettings, userAgent: String) throws(TransportError) {
    guard let h = ccurl_easy_init() else { throw TransportError.setupFailed("curl_easy_init returned NULL") }
    handle = UnsafeMutableRawPointer(h)
    requestBody = request.body
    try configure(request: request, tls: tls, userAgent: userAgent)
  }

  deinit {
    ccurl_easy_cleanup(handle)
    if let headerList { ccurl_slist_free_all(headerList) }
    for b in blobs { b.deallocate() }
    errorBuffer.deallocate()
  }

  private func check(_ code: CURLcode, _ what: String) throws(TransportError) {
    guard code == CURLE_OK else {
      throw TransportError.setupFailed("\(what): \(String(cString: ccurl_easy_strerror(code)))")
    }
  }

  private func blob(_ bytes: [UInt8]) -> UnsafeMutablePointer<curl_blob> {
    // CURL_BLOB_COPY: libcurl copies the data, we only keep the struct alive until cleanup.
    let data = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
    bytes.withUnsafeBytes { data.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
    let b = UnsafeMutablePointer<curl_blob>.allocate(capacity: 1)
    b.initialize(to: curl_blob(data: data, len: bytes.count, flags: UInt32(CURL_BLOB_COPY)))
    blobs.append(data)
    blobs.append(UnsafeMutableRawPointer(b))
    return b
  }

  private func configure(request: HTTPRequest, tls: TLSSettings, userAgent: String) throws(TransportError) {
    let h = OpaquePointer(handle)
    try check(ccurl_easy_setopt_str(UnsafeMutableRawPointer(h), CURLOPT_URL, request.url), "URL")
    try check(ccurl_easy_setopt_str(UnsafeMutableRawPointer(h), CURLOPT_CUSTOMREQUEST, request.method), "method")
    if request.method == "HEAD" { try check(ccurl_easy_setopt_long(UnsafeMutableRawPointer(h), CURLOPT_NOBODY, 1), "HEAD") }
    try check(ccurl_easy_setopt_str(UnsafeMutableRawPointer(h), CURLOPT_USERAGENT, userAgent), "user agent")
    try check(ccurl_easy_setopt_str(UnsafeMutableRawPointer(h), CURLOPT_ACCEPT_ENCODING, ""), "gzip")
    try check(ccurl_easy_setopt_long(UnsafeMutableRawPointer(h), CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_2TLS)), "HTTP/2")
    try check(ccurl_easy_setopt_long(UnsafeMutableRawPointer(h), CURLOPT_NOSIGNAL, 1), "nosignal")
    try check(ccurl_easy_setopt_ptr(UnsafeMutableRawPointer(h), CURLOPT_ERRORBUFFER, errorBuffer), "error buffer")
    try check(ccurl_easy_setopt_long(UnsafeMutableRawPointer(h), CURLOPT_CONNECTTIMEOUT_MS, 10_000), "connect timeout")
    if let t = request.timeout {
      let ms = Int(t.components.seconds) * 1000 + Int(t.components.attoseconds / 1_000_000_000_000_000)
      try check(ccurl_easy_setopt_long(UnsafeMutableRawPointer(h), CURLOPT_TIMEOUT_MS, max(ms, 1)), "timeout")
    }
    if !requestBody.isEmpty || ["POST", "PUT", "PATCH"].contains(request.method) {
      try check(ccurl_easy_setopt_off(UnsafeMutableRawPointer(h), CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(requestBody.count)), "body size")
      // COPYPOSTFIELDS: libcurl keeps its own copy, so no pointer of ours must outlive this call.
      if requestBody.isEmpty {
        try check(ccurl_easy_setopt_str(UnsafeMutableRawPointer(h), CURLOPT_COPYPOSTFIELDS, ""), "body")
      } else {
        try check(requestBody.withUnsafeMutableBytes { ccurl_easy_setopt_ptr(UnsafeMutableRawPointer(h), CURLOPT_COPYPOSTFIELDS, $0.baseAddress) }, "body")
      }
    }
    var list: UnsafeMutablePointer<curl_slist>? = nil
    for (name, value) in request.headers { list = ccurl_slist_append(list, "\(name): \(value)") }
    list = ccurl_slist_append(list, "Expect:")   // no 100-continue round trip
    headerList = list
    try check(ccurl_easy_setopt_slist(UnsafeMutableRawPointer(h), CURLOPT_HTTPHEADER, list), "headers")
    // TLS: verification on unless the kubeconfig says otherwise.
    if tls.insecureSkipVerify {
      try check(ccurl_easy_setopt_long(UnsafeMutableRawPointer(h), CURLOPT_SSL_VERIFYPEER, 0), "verify peer")
      try check(ccurl_easy_setopt_long(UnsafeMutableRawPointer(h), CURLOPT_SSL_VERIFYHOST, 0), "verify host")
    }
    if let ca = tls.certificateAuthorityPEM {
      try check(ccurl_easy_setopt_blob(UnsafeMutableRawPointer(h), CURLOPT_CAINFO_BLOB, blob(ca)), "CA bundle")
    }
    if let cert = tls.clientCertificatePEM, let key = tls.clientKeyPEM {
      try check(ccurl_easy_setopt_blob(UnsafeMutableRawPointer(h), CURLOPT_SSLCERT_BLOB, blob(cert)), "client certificate")
      try check(ccurl_easy_setopt_str(UnsafeMutableRawPointer(h), CURLOPT_SSLCERTTYPE, "PEM"), "client certificate type")
      try check(ccurl_easy_setopt_blob(UnsafeMutableRawPointer(h), CURLOPT_SSLKEY_BLOB, blob(key)), "client key")
      try check(ccurl_easy_setopt_str(UnsafeMutableRawPointer(h), CURLOPT_SSLKEYTYPE, "PEM"), "client key type")
    }
    let me = Unmanaged.passUnretained(self).toOpaque()
    try check(ccurl_easy_setopt_write(UnsafeMutableRawPointer(h), curlWriteCallback), "write callback")
    try check(ccurl_easy_setopt_ptr(UnsafeMutableRawPointer(h), CURLOPT_WRITEDATA, me), "write data")
    try check(ccurl_easy_setopt_header(UnsafeMutableRawPointer(h), curlHeaderCallback), "header callback")
    try check(ccurl_easy_setopt_ptr(UnsafeMutableRawPointer(h), CURLOPT_HEADERDATA, me), "header data")
    try check(ccurl_easy_setopt_ptr(UnsafeMutableRawPointer(h), CURLOPT_PRIVATE, me), "private")
  }

  func received(_ bytes: UnsafeBufferPointer<UInt8>) {
    if let onData { onData(Array(bytes)) } else { responseBody.append(contentsOf: bytes) }
  }

  func receivedHeader(_ line: String) {
    let trimmed = line.trimmingWhitespace()
    if trimmed.hasPrefix("HTTP/") {
      // A new status line (after a redirect or a 100 Continue) starts a new header block.
      responseHeaders = []
      let parts = trimmed.split(separator: " ")
      if parts.count > 1, let code = Int(parts[1]) { status = code }
      return
    }
    guard let colon = trimmed.firstIndex(of: ":") else { return }
    let name = trimmed[..<colon].lowercased()
    let value = trimmed[trimmed.index(after: colon)...].trimmingWhitespace()
    responseHeaders.append((name, value))
  }

  func finish(code: CURLcode) {
    let callback = onComplete
    onComplete = nil
    if code == CURLE_OK {
      callback?(.success(HTTPResponse(status: status, headers: responseHeaders, body: responseBody)))
    } else {
      let detail = String(cString: UnsafePointer(errorBuffer))
      let message = detail.isEmpty ? String(cString: ccurl_easy_strerror(code)) : detail
      callback?(.failure(.curl(code: Int(code.rawValue), message: message)))
    }
  }

  func cancel() {
    let callback = onComplete
    onComplete = nil
    callback?(.failure(.cancelled))
  }
}

private let curlWriteCallback: ccurl_data_callback = { ptr, size, count, userdata in
  guard let ptr, let userdata else { return 0 }
  let n = size * count
  let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
  ptr.withMemoryRebound(to: UInt8.self, capacity: n) { transfer.received(UnsafeBufferPointer(start: $0, count: n)) }
  return n
}

private let curlHeaderCallback: ccurl_data_callback = { ptr, size, count, userdata in
  guard let ptr, let userdata else { return 0 }
  let n = size * count
  let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
  let line = ptr.withMemoryRebound(to: UInt8.self, capacity: n) { String(decoding: UnsafeBufferPointer(start: $0, count: n), as: UTF8.self) }
  transfer.receivedHeader(line)
  return n
}
