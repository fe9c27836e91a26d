import Foundation
import TQCStream

/// Where a stream comes from.
enum StreamOrigin {
    case bundledSample
    /// From Files (`fileImporter`): a security-scoped URL.
    case file(URL)
    /// HTTP(S): played while it downloads.
    case remote(URL)
}

/// The bytes of one stream turned into packets: a `PacketSource` for the decode loop, plus
/// how to start and cancel the transfer. Files are read by the decode thread itself as it
/// needs packets; a download runs in a task that pushes bytes as they arrive (waiting while
/// `PushPacketSource`'s bounded queue is full), so playback starts once the prebuffer is full,
/// long before the whole stream has arrived, and a long stream never piles up in memory.
///
/// A seek (`SeekPlan`, with the header read earlier) starts at the planned packet: a file is
/// read from its byte offset, a download asks for `Range: bytes=<offset>-`.
final class StreamInput: @unchecked Sendable {
    /// Bytes gathered from URLSession's byte stream before they are handed to the reader: a
    /// stereo tq64 packet is 729 bytes, so 1 KiB adds at most one packet (46 ms) of latency.
    static let networkFlushBytes = 1024
    static let fileReadBytes = 64 * 1024

    let name: String
    let source: any PacketSource
    private let startTransfer: () -> Void
    private let cancelTransfer: () -> Void

    private init(name: String, source: any PacketSource, start: @escaping () -> Void = {},
                 cancel: @escaping () -> Void = {}) {
        self.name = name
        self.source = source
        startTransfer = start
        cancelTransfer = cancel
    }

    func start() {
        startTransfer()
    }

    func cancel() {
        cancelTransfer()
    }

    /// A streaming-mode reader (damage is skipped and concealed, never fatal) that refuses
    /// codes made for other weights than the bundled model's. With `seek` (and the stream's
    /// `header`, known from an earlier session) the reader joins at the planned packet.
    static func make(_ origin: StreamOrigin, expectedFingerprint: [UInt8]?, seek: SeekPlan? = nil,
                     header: StreamHeader? = nil) throws -> StreamInput {
        switch origin {
        case .bundledSample:
            let url = try AppResources.url(AppResources.sampleName, AppResources.streamExtension)
            return try file(url, securityScoped: false, expectedFingerprint: expectedFingerprint, seek: seek,
                            header: header)
        case let .file(url):
            return try file(url, securityScoped: true, expectedFingerprint: expectedFingerprint, seek: seek,
                            header: header)
        case let .remote(url):
            return try remote(url, expectedFingerprint: expectedFingerprint, seek: seek, header: header)
        }
    }

    private static func reader(_ name: String, expectedFingerprint: [UInt8]?, seek: SeekPlan?,
                               header: StreamHeader?) throws -> StreamReader {
        if let seek, let header {
            return try seek.reader(header: header, expectedFingerprint: expectedFingerprint, path: name)
        }
        return try StreamReader(strict: false, expectedFingerprint: expectedFingerprint, path: name)
    }

    private static func file(_ url: URL, securityScoped: Bool, expectedFingerprint: [UInt8]?, seek: SeekPlan?,
                             header: StreamHeader?) throws -> StreamInput {
        let file = try OpenFile(url: url, securityScoped: securityScoped)
        let reader = try reader(url.lastPathComponent, expectedFingerprint: expectedFingerprint, seek: seek,
                                header: header)
        if let seek, header != nil {
            try file.seek(to: seek.byteOffset)
        }
        // The closure keeps the file open until the decode loop lets go of the source.
        let source = ReaderPacketSource(reader: reader) {
            try file.read(upTo: StreamInput.fileReadBytes)
        }
        return StreamInput(name: url.lastPathComponent, source: source)
    }

    private static func remote(_ url: URL, expectedFingerprint: [UInt8]?, seek: SeekPlan?,
                               header: StreamHeader?) throws -> StreamInput {
        let reader = try reader(url.lastPathComponent, expectedFingerprint: expectedFingerprint, seek: seek,
                                header: header)
        let source = PushPacketSource(reader: reader)
        let transfer = Download(url: url, from: header == nil ? 0 : (seek?.byteOffset ?? 0), into: source)
        return StreamInput(name: url.absoluteString, source: source, start: { transfer.start() },
                           cancel: { transfer.cancel() })
    }
}

/// A file being read; closed (and its security scope released) when the last user lets go.
private final class OpenFile {
    private let url: URL
    private let handle: FileHandle
    private let scoped: Bool

    init(url: URL, securityScoped: Bool) throws {
        self.url = url
        scoped = securityScoped && url.startAccessingSecurityScopedResource()
        do {
            handle = try FileHandle(forReadingFrom: url)
        } catch {
            if scoped {
                url.stopAccessingSecurityScopedResource()
            }
            throw error
        }
    }

    deinit {
        try? handle.close()
        if scoped {
            url.stopAccessingSecurityScopedResource()
        }
    }

    func seek(to offset: Int) throws {
        try handle.seek(toOffset: UInt64(offset))
    }

    /// Up to `count` bytes, or nil at the end of the file.
    func read(upTo count: Int) throws -> [UInt8]? {
        guard let data = try handle.read(upToCount: count), !data.isEmpty else {
            return nil
        }
        return [UInt8](data)
    }
}

/// An HTTP(S) download pushed into a `PushPacketSource` as the bytes arrive, from byte
/// `offset` on (a seek: `Range` request, or skip that much of a 200 body).
private final class Download: @unchecked Sendable {
    private let url: URL
    private let offset: Int
    private let source: PushPacketSource
    private let lock = NSLock()
    private var task: Task<Void, Never>?

    init(url: URL, from offset: Int, into source: PushPacketSource) {
        self.url = url
        self.offset = offset
        self.source = source
    }

    func start() {
        let url = self.url
        let offset = self.offset
        let source = self.source
        let task = Task.detached(priority: .userInitiated) {
            do {
                var request = URLRequest(url: url)
                if offset > 0 {
                    request.setValue(RangeResponse.requestHeader(from: offset), forHTTPHeaderField: "Range")
                }
                let (bytes, response) = try await URLSession.shared.bytes(for: request)
                let http = response as? HTTPURLResponse
                var skip = try RangeResponse.bytesToSkip(status: http?.statusCode ?? 200, requestedOffset: offset,
                                                         contentRange: http?.value(forHTTPHeaderField: "Content-Range"),
                                                         path: url.lastPathComponent)
                var chunk: [UInt8] = []
                chunk.reserveCapacity(StreamInput.networkFlushBytes)
                for try await byte in bytes {
                    if skip > 0 {
                        skip -= 1
                        continue
                    }
                    chunk.append(byte)
                    if chunk.count >= StreamInput.networkFlushBytes {
                        // suspends while the decode thread is far enough ahead (bounded queue)
                        guard await source.write(chunk) else {
                            return // the stream failed or playback stopped: stop downloading
                        }
                        chunk.removeAll(keepingCapacity: true)
                    }
                }
                _ = await source.write(chunk)
                source.finish()
            } catch {
                source.fail(error) // after cancel() this changes nothing
            }
        }
        lock.lock()
        self.task = task
        lock.unlock()
    }

    func cancel() {
        lock.lock()
        let task = self.task
        lock.unlock()
        task?.cancel()
        source.cancel()
    }
}
