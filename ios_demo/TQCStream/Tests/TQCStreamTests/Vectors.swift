import Foundation
import XCTest
@testable import TQCStream

/// The repository's golden vectors, tests/vectors (see its README.md). Expectations always
/// come from these files (the same ones tests/test_bitstream.py and the Java tests read),
/// never from copies.
///
/// Where they are, first match wins: the environment variable TQC_VECTORS; relative to this
/// source file (`#filePath`, so `swift test` works from any working directory); the first
/// folder at or above the working directory that holds tests/vectors (a package copied
/// elsewhere but run from inside the repository). When none holds manifest.json, every test
/// that needs them fails with one line naming the places looked at: missing vectors are a
/// broken checkout, not a reason to skip.
enum Vectors {
    struct NotFound: Error, CustomStringConvertible {
        let looked: [String]

        var description: String {
            "golden vectors not found: no manifest.json in " + looked.joined(separator: ", ")
                + " (set TQC_VECTORS=<repo>/tests/vectors)"
        }
    }

    static let located: Result<URL, NotFound> = {
        var candidates: [URL] = []
        if let override = ProcessInfo.processInfo.environment["TQC_VECTORS"], !override.isEmpty {
            candidates.append(URL(fileURLWithPath: override, isDirectory: true))
        } else {
            // <repo>/ios_demo/TQCStream/Tests/TQCStreamTests/Vectors.swift: the repository is five levels up.
            var url = URL(fileURLWithPath: #filePath)
            for _ in 0..<5 {
                url.deleteLastPathComponent()
            }
            candidates.append(inRepository(url))
            var folder = URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
            while true {
                candidates.append(inRepository(folder))
                let parent = folder.deletingLastPathComponent()
                if parent.path == folder.path {
                    break
                }
                folder = parent
            }
        }
        for candidate in candidates
            where FileManager.default.fileExists(atPath: candidate.appendingPathComponent("manifest.json").path) {
            return .success(candidate)
        }
        return .failure(NotFound(looked: candidates.map(\.path)))
    }()

    private static func inRepository(_ root: URL) -> URL {
        root.appendingPathComponent("tests", isDirectory: true).appendingPathComponent("vectors", isDirectory: true)
    }

    /// tests/vectors, or `NotFound` (a test failure naming where it looked).
    static func directory() throws -> URL {
        try located.get()
    }

    /// The repository root (for the exporter's example manifests in build/coreml).
    static func repositoryRoot() throws -> URL {
        try directory().deletingLastPathComponent().deletingLastPathComponent()
    }

    static func url(_ relative: String) throws -> URL {
        try directory().appendingPathComponent(relative)
    }

    static func bytes(_ relative: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: url(relative)))
    }

    /// tests/vectors/manifest.json: every valid vector and every damage case.
    static func index() throws -> VectorIndex {
        try JSONDecoder().decode(VectorIndex.self, from: Data(contentsOf: url("manifest.json")))
    }

    /// A valid vector's JSON, e.g. "valid/mono_tq64.json".
    static func vector(_ relative: String) throws -> ValidVector {
        try JSONDecoder().decode(ValidVector.self, from: Data(contentsOf: url(relative)))
    }

    /// The `.tqc` beside a valid vector's JSON (its `file` is relative to the JSON's folder).
    static func streamBytes(of relative: String, _ vector: ValidVector) throws -> [UInt8] {
        let file = try url(relative).deletingLastPathComponent().appendingPathComponent(vector.file)
        return [UInt8](try Data(contentsOf: file))
    }

    /// A header from a vector JSON's `header` (Python's `StreamHeader.from_dict`).
    static func header(_ h: VectorHeader) throws -> StreamHeader {
        guard let fingerprint = bytesFromHex(h.fingerprint) else {
            throw TQCError(.invalidArgument, "fingerprint is not hex: \(h.fingerprint)")
        }
        return try StreamHeader(channels: h.channels, nQ: h.nQ, fingerprint: fingerprint, sampleRate: h.sampleRate,
                                hopLength: h.hopLength, codebookSize: h.codebookSize, bits: h.bits,
                                framesPerPacket: h.framesPerPacket, totalSamples: h.totalSamples)
    }

    /// Feed `data` split at `cuts` (sorted positions), then finish; collect the packets.
    static func feedAll(_ reader: StreamReader, _ data: [UInt8], cuts: [Int]) throws -> [Packet] {
        var out: [Packet] = []
        var previous = 0
        for cut in cuts + [data.count] {
            out += try reader.feed(data[previous..<cut])
            previous = cut
        }
        out += try reader.finish()
        return out
    }

    /// Cut positions: none (whole), every byte (bytes), or random pieces from a seed.
    static func cuts(_ mode: FeedMode, length: Int, seed: UInt64) -> [Int] {
        switch mode {
        case .whole:
            return []
        case .bytes:
            return length > 1 ? Array(1..<length) : []
        case .pieces:
            guard length > 1 else {
                return []
            }
            var rng = SplitMix64(seed: seed)
            let n = 1 + Int.random(in: 0..<min(40, length - 1), using: &rng)
            var set = Set<Int>()
            while set.count < n {
                set.insert(Int.random(in: 1..<length, using: &rng))
            }
            return set.sorted()
        }
    }

    /// A stable seed from a name (String.hashValue changes from run to run).
    static func seed(_ name: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325 // FNV-1a
        for b in name.utf8 {
            h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3
        }
        return h
    }

    /// Packets' codes joined along frames: codes[c][q][f].
    static func concat(_ packets: [Packet], channels: Int, nQ: Int) -> [[[Int]]] {
        var out = Array(repeating: Array(repeating: [Int](), count: nQ), count: channels)
        for p in packets {
            for c in 0..<channels {
                for q in 0..<nQ {
                    out[c][q] += p.row(channel: c, codebook: q).map { Int($0) }
                }
            }
        }
        return out
    }

    /// Frames `range` of codes[c][q][f].
    static func slice(_ codes: [[[Int]]], _ range: Range<Int>) -> [[[Int]]] {
        codes.map { channel in channel.map { Array($0[range]) } }
    }
}

enum FeedMode: String, CaseIterable {
    case whole, pieces, bytes
}

/// A seeded generator (the standard library has none), for reproducible splits and codes.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

// MARK: - the JSON of tests/vectors (keys as tests/vectors/README.md lists them)

struct VectorIndex: Decodable {
    let formatVersion: Int
    let policy: VectorPolicy
    let valid: [String]
    let cases: [DamageCase]

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version"
        case policy = "policy"
        case valid = "valid"
        case cases = "cases"
    }
}

/// The constants every player shares (docs/bitstream.md, concealment policy and seeking).
struct VectorPolicy: Decodable {
    let maxConcealFrames: Int
    let fadeSamples: Int
    let seekPrerollFrames: Int

    enum CodingKeys: String, CodingKey {
        case maxConcealFrames = "max_conceal_frames"
        case fadeSamples = "fade_samples"
        case seekPrerollFrames = "seek_preroll_frames"
    }
}

/// A damaged vector's concealment plan: steps `["decode", seq, frames]`, `["conceal", frames]`,
/// `["reset"]`, and the output frames before any total_samples cap.
struct ConcealmentExpectation: Decodable {
    let plan: [ConcealmentPlanner.Step]
    let outputFrames: Int

    enum CodingKeys: String, CodingKey {
        case plan = "plan"
        case outputFrames = "output_frames"
    }
}

extension ConcealmentPlanner.Step: Decodable {
    public init(from decoder: Decoder) throws {
        var step = try decoder.unkeyedContainer()
        let kind = try step.decode(String.self)
        switch kind {
        case "decode":
            self = .decode(sequence: try step.decode(Int.self), frames: try step.decode(Int.self))
        case "conceal":
            self = .conceal(frames: try step.decode(Int.self))
        case "reset":
            self = .reset
        default:
            throw DecodingError.dataCorruptedError(in: step, debugDescription: "unknown plan step \(kind)")
        }
        guard step.isAtEnd else {
            throw DecodingError.dataCorruptedError(in: step, debugDescription: "extra values in a \(kind) step")
        }
    }
}

struct DamageCase: Decodable {
    let file: String
    let description: String
    let reference: String
    /// Where each recovered packet's frames start in the reference's codes (null when fatal).
    let referenceFrames: [Int]?
    let headerFrom: String?
    let expectedFingerprint: String?
    let strict: ExpectedError?
    let streaming: StreamingExpectation
    /// The plan of the streaming reader's packets (null when streaming is fatal).
    let concealment: ConcealmentExpectation?

    enum CodingKeys: String, CodingKey {
        case file = "file"
        case description = "description"
        case reference = "reference"
        case referenceFrames = "reference_frames"
        case headerFrom = "header_from"
        case expectedFingerprint = "expected_fingerprint"
        case strict = "strict"
        case streaming = "streaming"
        case concealment = "concealment"
    }
}

struct ExpectedError: Decodable, CustomStringConvertible {
    let kind: String
    let offset: Int
    let packet: Int?

    enum CodingKeys: String, CodingKey {
        case kind = "kind"
        case offset = "offset"
        case packet = "packet"
    }

    var description: String {
        "\(kind)@\(offset)/\(packet.map { String($0) } ?? "none")"
    }
}

struct StreamingExpectation: Decodable {
    let fatal: ExpectedError?
    let recovered: [Int]
    let events: [ExpectedError]

    enum CodingKeys: String, CodingKey {
        case fatal = "fatal"
        case recovered = "recovered"
        case events = "events"
    }
}

struct ValidVector: Decodable {
    let file: String
    let description: String
    let header: VectorHeader
    let frames: Int
    let size: Int
    let packets: [VectorPacket]
    let bitrate: VectorBitrate
    let codes: [[[Int]]]

    enum CodingKeys: String, CodingKey {
        case file = "file"
        case description = "description"
        case header = "header"
        case frames = "frames"
        case size = "size"
        case packets = "packets"
        case bitrate = "bitrate"
        case codes = "codes"
    }
}

struct VectorHeader: Decodable {
    let version: Int
    let sampleRate: Int
    let hopLength: Int
    let codebookSize: Int
    let channels: Int
    let nQ: Int
    let bits: Int
    let framesPerPacket: Int
    let totalSamples: UInt64?
    let fingerprint: String

    enum CodingKeys: String, CodingKey {
        case version = "version"
        case sampleRate = "sample_rate"
        case hopLength = "hop_length"
        case codebookSize = "codebook_size"
        case channels = "channels"
        case nQ = "n_q"
        case bits = "bits"
        case framesPerPacket = "frames_per_packet"
        case totalSamples = "total_samples"
        case fingerprint = "fingerprint"
    }
}

struct VectorPacket: Decodable {
    let sequence: Int
    let offset: Int
    let frames: Int

    enum CodingKeys: String, CodingKey {
        case sequence = "sequence"
        case offset = "offset"
        case frames = "frames"
    }
}

struct VectorBitrate: Decodable {
    let streamBps: Double
    let streamBpsPerChannel: Double
    let codeBps: Double
    let overhead: Double

    enum CodingKeys: String, CodingKey {
        case streamBps = "stream_bps"
        case streamBpsPerChannel = "stream_bps_per_channel"
        case codeBps = "code_bps"
        case overhead = "overhead"
    }
}

// MARK: - a writer for tests (the app only reads)

/// Packets exactly as docs/bitstream.md lays them out.
enum TestStreams {
    /// One packet of codes[c][q][f], frame-major, LSB-first, CRC over identity bytes + packet.
    static func packet(_ h: StreamHeader, sequence: Int, codes: [[[Int]]]) -> [UInt8] {
        let frames = codes[0][0].count
        var flat: [Int32] = []
        flat.reserveCapacity(frames * h.codesPerFrame)
        for f in 0..<frames {
            for c in 0..<h.channels {
                for q in 0..<h.nQ {
                    flat.append(Int32(codes[c][q][f]))
                }
            }
        }
        var p: [UInt8] = [0xA5, 0x5A, UInt8(sequence & 0xFF), UInt8((sequence >> 8) & 0xFF), UInt8(frames)]
        p += CodeUnpacker.pack(flat, bits: h.bits)
        var crc = CRC32(seed: h.packetCRCSeed)
        crc.update(p)
        p += [0, 0, 0, 0]
        p.putLE(UInt64(crc.value), at: p.count - 4, size: 4)
        return p
    }

    /// All packets for codes[c][q][f]: full ones, then a partial one.
    static func packets(_ h: StreamHeader, codes: [[[Int]]], firstSequence: Int = 0) -> [UInt8] {
        let total = codes[0][0].count
        var out: [UInt8] = []
        var k = 0
        var at = 0
        while at < total {
            let end = min(total, at + h.framesPerPacket)
            out += packet(h, sequence: (firstSequence + k) & 0xFFFF, codes: Vectors.slice(codes, at..<end))
            k += 1
            at = end
        }
        return out
    }

    /// Header then packets.
    static func stream(_ h: StreamHeader, codes: [[[Int]]]) -> [UInt8] {
        h.encode() + packets(h, codes: codes)
    }

    static func randomCodes(_ h: StreamHeader, frames: Int, seed: UInt64) -> [[[Int]]] {
        var rng = SplitMix64(seed: seed)
        return (0..<h.channels).map { _ in
            (0..<h.nQ).map { _ in
                (0..<frames).map { _ in Int.random(in: 0..<h.codebookSize, using: &rng) }
            }
        }
    }

    static func fingerprint(_ seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        return (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }
}
