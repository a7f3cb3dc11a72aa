import CCurl

#if canImport(Glibc)
    import Glibc
#endif

/// Why a delivery failed, in words fit for the delivery list: what the far side answered or
/// why it could not be reached, never a local path or a secret.
package struct DeliveryError: Error, Sendable, Hashable, CustomStringConvertible {
    package enum Code: String, Sendable {
        /// The far side answered, and refused (an SMTP 4xx/5xx, an HTTP status outside 2xx).
        case refused
        /// It could not be reached, or the exchange broke off or timed out.
        case unreachable
        /// The destination is not one Lockbox may deliver to (scheme, address, size).
        case notAllowed
    }

    package var code: Code
    package var detail: String

    package init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    package var description: String { detail }
}

/// One libcurl easy handle for one transfer. libcurl blocks: call from a thread that may block.
final class CurlTransfer {
    private let handle: UnsafeMutableRawPointer
    private var lists: [UnsafeMutablePointer<curl_slist>] = []

    private static let initialized: Bool = {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK
    }()

    init() throws(DeliveryError) {
        guard Self.initialized, let handle = curl_easy_init() else {
            throw DeliveryError(.unreachable, "the transfer library could not start")
        }
        self.handle = handle
        set(CURLOPT_NOSIGNAL, 1)
        set(CURLOPT_FOLLOWLOCATION, 0)
        // No proxy from the environment (http_proxy, ALL_PROXY): a proxy would resolve the
        // host itself, around the address Lockbox checked.
        set(CURLOPT_PROXY, "")
    }

    /// Sets an option that must hold; the transfer is refused when libcurl does not take it.
    func require(_ option: CURLoption, _ value: String) throws(DeliveryError) {
        let code = value.withCString { lockbox_curl_set_string(handle, option, $0) }
        guard code == CURLE_OK else { throw DeliveryError(.notAllowed, "the transfer library refused a setting") }
    }

    func require(_ option: CURLoption, list values: [String]) throws(DeliveryError) {
        var list: UnsafeMutablePointer<curl_slist>?
        for value in values { list = curl_slist_append(list, value) }
        guard let list else { throw DeliveryError(.notAllowed, "the transfer library refused a setting") }
        lists.append(list)
        guard lockbox_curl_set_slist(handle, option, list) == CURLE_OK else {
            throw DeliveryError(.notAllowed, "the transfer library refused a setting")
        }
    }

    deinit {
        curl_easy_cleanup(handle)
        for list in lists { curl_slist_free_all(list) }
    }

    func set(_ option: CURLoption, _ value: Int) {
        _ = lockbox_curl_set_long(handle, option, value)
    }

    func set(_ option: CURLoption, _ value: String) {
        // libcurl copies string options (since 7.17).
        _ = value.withCString { lockbox_curl_set_string(handle, option, $0) }
    }

    func set(_ option: CURLoption, list values: [String]) {
        var list: UnsafeMutablePointer<curl_slist>?
        for value in values { list = curl_slist_append(list, value) }
        guard let list else { return }
        lists.append(list)
        _ = lockbox_curl_set_slist(handle, option, list)
    }

    func setBody(_ bytes: [UInt8]) {
        _ = lockbox_curl_set_offset(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bytes.count))
        bytes.withUnsafeBufferPointer { buffer in
            _ = lockbox_curl_set_pointer(
                handle,
                CURLOPT_COPYPOSTFIELDS,
                UnsafeMutableRawPointer(mutating: buffer.baseAddress)
            )
        }
    }

    /// Runs the transfer, uploading `upload` through libcurl's read callback when given; any
    /// response body is read and dropped. Returns the protocol's last response code.
    func perform(upload: [UInt8]? = nil) throws(DeliveryError) -> Int {
        let source = UploadSource(upload ?? [])
        let unmanaged = Unmanaged.passRetained(source)
        defer { unmanaged.release() }
        if upload != nil {
            set(CURLOPT_UPLOAD, 1)
            _ = lockbox_curl_set_callback(handle, CURLOPT_READFUNCTION, uploadCallback)
            _ = lockbox_curl_set_pointer(handle, CURLOPT_READDATA, unmanaged.toOpaque())
        }
        _ = lockbox_curl_set_callback(handle, CURLOPT_WRITEFUNCTION, discardCallback)
        let code = curl_easy_perform(handle)
        let response = lockbox_curl_response_code(handle)
        guard code == CURLE_OK else {
            let reason = String(cString: curl_easy_strerror(code))
            if response >= 400 { throw DeliveryError(.refused, "answered \(response) (\(reason))") }
            throw DeliveryError(.unreachable, reason)
        }
        return response
    }
}

private final class UploadSource {
    let bytes: [UInt8]
    var offset = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }
}

private let uploadCallback: lockbox_curl_data_callback = { buffer, size, count, userdata in
    guard let buffer, let userdata else { return 0 }
    let source = Unmanaged<UploadSource>.fromOpaque(userdata).takeUnretainedValue()
    let n = min(size * count, source.bytes.count - source.offset)
    guard n > 0 else { return 0 }
    source.bytes.withUnsafeBufferPointer { bytes in
        UnsafeMutableRawPointer(buffer).copyMemory(from: bytes.baseAddress! + source.offset, byteCount: n)
    }
    source.offset += n
    return n
}

private let discardCallback: lockbox_curl_data_callback = { _, size, count, _ in size * count }
