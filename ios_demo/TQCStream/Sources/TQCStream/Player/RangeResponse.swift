/// How a player joins a stream at a byte offset over HTTP (a seek): it asks for
/// `Range: bytes=<offset>-`, and the server answers 206 with the bytes from there, or 200 with
/// the whole stream (no range support), in which case the first `offset` bytes are skipped.
public enum RangeResponse {
    /// The `Range` header value for bytes from `offset` to the end.
    public static func requestHeader(from offset: Int) -> String {
        "bytes=\(max(0, offset))-"
    }

    /// Bytes of the response body to skip before the requested offset.
    /// - Parameters:
    ///   - status: the HTTP status code.
    ///   - contentRange: the `Content-Range` header of a 206 (`bytes 1234-5678/9999`).
    /// - Throws: `io_error` for a status that is neither 200 nor 206, or a 206 that starts
    ///   elsewhere than asked.
    public static func bytesToSkip(status: Int, requestedOffset: Int, contentRange: String?,
                                   path: String? = nil) throws -> Int {
        switch status {
        case 200:
            return requestedOffset // the server sent everything: skip to the offset
        case 206:
            guard let contentRange, let start = firstByte(of: contentRange) else {
                throw TQCError(.ioError, "HTTP 206 without a usable Content-Range (got \(contentRange ?? "none")), "
                    + "expected bytes \(requestedOffset)-", path: path, offset: requestedOffset)
            }
            guard start == requestedOffset else {
                throw TQCError(.ioError, "HTTP 206 starts at byte \(start), expected \(requestedOffset)", path: path,
                               offset: requestedOffset)
            }
            return 0
        default:
            throw TQCError(.ioError, "HTTP status \(status) for bytes \(requestedOffset)-, expected 200 or 206",
                           path: path, offset: requestedOffset)
        }
    }

    /// 1234 from "bytes 1234-5678/9999".
    static func firstByte(of contentRange: String) -> Int? {
        let parts = contentRange.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bytes",
              let dash = parts[1].firstIndex(of: "-") else {
            return nil
        }
        return Int(parts[1][..<dash])
    }
}
