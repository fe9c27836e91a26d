import Foundation
import XCTest
@testable import TQCStream

/// A stereo artifact (C = 2: one call per chunk) plays exactly what a mono artifact (C = 1: one
/// call per channel) plays. Both fakes run one per-channel function whose every sample depends
/// on that channel's whole history, so a swapped row, a shared or reset state, or a lost call
/// changes the audio. The golden stereo vectors are checked against an oracle written from that
/// function. Mirrors the Java StereoDecodeLoopTest.
final class StereoDecodeLoopTests: XCTestCase {
    static let k = 16

    /// The per-channel state: a running hash, chunks decoded, the last frame's code sum.
    struct ChannelState: Equatable {
        var acc = 0
        var chunk = 0
        var last = 0
    }

    /// The per-channel function: row `r` of the codes and this channel's state in, its audio out.
    static func channel(_ codes: CodeChunk, row r: Int, hop: Int, _ state: ChannelState) -> ([Float], ChannelState) {
        var s = state
        var audio = [Float](repeating: 0, count: k * hop)
        for f in 0..<k {
            var sum = 0
            for q in 0..<codes.nQ {
                sum += Int(codes[r, q, f]) * (q + 1)
            }
            for i in 0..<hop { // below 2^16: exact in a Float
                audio[f * hop + i] = Float((s.acc * 7 + s.chunk * 131 + s.last + sum + i) % 65_536)
            }
            s.acc = (s.acc * 31 + sum + 1) % 65_521
            s.last = sum % 1000
        }
        s.chunk += 1
        return (audio, s)
    }

    /// An artifact of C planar channels: its state holds one row per channel.
    final class PlanarFake: ChunkDecoder {
        typealias State = [ChannelState]

        let channels: Int
        let hop: Int
        var calls = 0
        var statesMade = 0
        var rowsAlwaysEqual = true

        init(channels: Int, hop: Int) {
            self.channels = channels
            self.hop = hop
        }

        func makeInitialState() throws -> State {
            statesMade += 1
            return Array(repeating: ChannelState(), count: channels)
        }

        func decode(codes: CodeChunk, state: State) throws -> (audio: [[Float]], state: State) {
            XCTAssertEqual(codes.channels, channels)
            XCTAssertEqual(state.count, channels)
            calls += 1
            var audio: [[Float]] = []
            var next: State = []
            for r in 0..<channels {
                let (row, s) = StereoDecodeLoopTests.channel(codes, row: r, hop: hop, state[r])
                audio.append(row)
                next.append(s)
                rowsAlwaysEqual = rowsAlwaysEqual && codes.row(channel: r, codebook: 0) == codes.row(channel: 0, codebook: 0)
            }
            return (audio, next)
        }
    }

    struct Played {
        let pcm: [Float]
        let stats: PlayerStats
    }

    /// The stream through a streaming reader and the loop, to a stereo output.
    static func play(_ bytes: [UInt8], _ decoder: some ChunkDecoder, reader: StreamReader? = nil, hop: Int,
                     seek: SeekPlan? = nil) throws -> Played {
        let source = ReaderPacketSource(reader: try reader ?? StreamReader(strict: false), bytes: bytes, chunkSize: 97)
        let ring = FloatRingBuffer(minimumCapacity: 1 << 22)
        let loop = DecodeLoop(source: source, decoder: decoder, ring: ring, chunkFrames: k, hop: hop,
                              outputChannels: 2, seek: seek)
        loop.run()
        XCTAssertNil(loop.failure)
        var pcm = [Float](repeating: 0, count: ring.available)
        _ = pcm.withUnsafeMutableBufferPointer { ring.read(into: $0) }
        return Played(pcm: pcm, stats: loop.stats)
    }

    /// Mono (a call per channel) and stereo (one call) artifacts on one stream: the same samples, the calls counted.
    @discardableResult
    func compare(_ what: String, _ bytes: [UInt8], streamChannels: Int) throws -> Played {
        let h = try StreamHeader.decode(bytes)
        let mono = PlanarFake(channels: 1, hop: h.hopLength), stereo = PlanarFake(channels: 2, hop: h.hopLength)
        let a = try Self.play(bytes, mono, hop: h.hopLength), b = try Self.play(bytes, stereo, hop: h.hopLength)
        XCTAssertEqual(a.pcm, b.pcm, what)
        XCTAssertEqual(a.stats.chunksDecoded, b.stats.chunksDecoded, what)
        XCTAssertEqual(stereo.calls, b.stats.chunksDecoded, "\(what): stereo artifact, one call per chunk")
        XCTAssertEqual(mono.calls, b.stats.chunksDecoded * streamChannels, "\(what): mono artifact, a call per channel")
        XCTAssertEqual(mono.statesMade, streamChannels * stereo.statesMade, what)
        return b
    }

    /// The oracle: each channel alone through `channel`, chunk by chunk, zero-padded, cut, interleaved.
    static func oracle(_ codes: [[[Int]]], hop: Int, totalSamples: Int) -> [Float] {
        let frames = codes[0][0].count, nQ = codes[0].count
        let n = min(frames * hop, totalSamples)
        var out = [Float](repeating: 0, count: 2 * n)
        for c in 0..<codes.count {
            var state = ChannelState()
            for at in stride(from: 0, to: frames, by: k) {
                var chunk = CodeChunk(nQ: nQ, frames: k)
                for q in 0..<nQ {
                    for f in at..<min(frames, at + k) {
                        chunk[0, q, f - at] = Int32(codes[c][q][f])
                    }
                }
                let (audio, next) = channel(chunk, row: 0, hop: hop, state)
                state = next
                for s in 0..<(k * hop) where at * hop + s < n {
                    out[2 * (at * hop + s) + c] = audio[s]
                }
            }
        }
        return out
    }

    func validVectors(channels: Int) throws -> [(String, ValidVector)] {
        try Vectors.index().valid.map { ($0, try Vectors.vector($0)) }.filter { $0.1.header.channels == channels }
    }

    func testTheStereoVectorsPlayTheSameInOneCallPerChunk() throws {
        let stereo = try validVectors(channels: 2)
        XCTAssertGreaterThanOrEqual(stereo.count, 2, "the golden vectors hold stereo streams")
        for (name, v) in stereo {
            let bytes = try Vectors.streamBytes(of: name, v)
            let h = try StreamHeader.decode(bytes)
            let p = try compare(name, bytes, streamChannels: 2)
            XCTAssertEqual(p.stats.chunksDecoded, (v.frames + Self.k - 1) / Self.k, name)
            let total = h.totalSamples.map { Int($0) } ?? Int.max
            XCTAssertEqual(p.pcm, Self.oracle(v.codes, hop: h.hopLength, totalSamples: total), name)
            let differ = stride(from: 0, to: p.pcm.count, by: 2).contains { p.pcm[$0] != p.pcm[$0 + 1] }
            XCTAssertEqual(differ, v.frames > 0, "\(name): left and right differ, so a swap would show")
        }
    }

    func testALostStereoPacketIsConcealedAlikeInBothArtifacts() throws {
        let name = "valid/stereo_tq64.json"
        let v = try Vectors.vector(name)
        let whole = try Vectors.streamBytes(of: name, v)
        let damaged = Array(whole[..<v.packets[1].offset] + whole[v.packets[2].offset...]) // packet 1 (32 frames) lost
        let p = try compare("stereo_tq64 without packet 1", damaged, streamChannels: 2)
        XCTAssertEqual(p.pcm.count, 70 * 64 * 2) // concealed time is played
        XCTAssertEqual(p.stats.damagedPackets, 1)
        XCTAssertEqual(p.stats.concealedFrames, 32)
        XCTAssertEqual(p.stats.decoderResets, 0)
        XCTAssertNotEqual(try Self.play(whole, PlanarFake(channels: 2, hop: 64), hop: 64).pcm, p.pcm)
    }

    func testALongStereoGapResetsEveryChannelAlikeInBothArtifacts() throws {
        let h = try StreamHeader(channels: 2, nQ: 4, fingerprint: TestStreams.fingerprint(5), hopLength: 8,
                                 codebookSize: 512, framesPerPacket: 32)
        let codes = TestStreams.randomCodes(h, frames: 64, seed: 17)
        let bytes = h.encode() + TestStreams.packet(h, sequence: 0, codes: Vectors.slice(codes, 0..<32))
            + TestStreams.packet(h, sequence: 10, codes: Vectors.slice(codes, 32..<64)) // 9 packets, 288 frames lost
        let p = try compare("a gap over the concealment limit", bytes, streamChannels: 2)
        XCTAssertEqual(p.pcm.count, (64 + ConcealmentPlanner(header: h).fadeTailFrames) * 8 * 2) // a fade tail, no time inserted
        XCTAssertEqual(p.stats.decoderResets, 1)
        XCTAssertEqual(p.stats.damagedPackets, 9)
    }

    func testAMonoStreamOnAStereoArtifactTakesOneCallWithItsCodesInBothRows() throws {
        let monos = try validVectors(channels: 1)
        XCTAssertGreaterThanOrEqual(monos.count, 2)
        for (name, v) in monos {
            let bytes = try Vectors.streamBytes(of: name, v)
            let hop = v.header.hopLength
            let mono = PlanarFake(channels: 1, hop: hop), stereo = PlanarFake(channels: 2, hop: hop)
            let a = try Self.play(bytes, mono, hop: hop), b = try Self.play(bytes, stereo, hop: hop)
            XCTAssertEqual(a.pcm, b.pcm, name)
            XCTAssertEqual(stereo.calls, b.stats.chunksDecoded, name)
            XCTAssertEqual(mono.calls, stereo.calls, name)
            XCTAssertTrue(stereo.rowsAlwaysEqual, name)
        }
    }

    func testAStereoSeekPlaysAlikeInBothArtifacts() throws {
        let frames = 300
        let h = try StreamHeader(channels: 2, nQ: 3, fingerprint: TestStreams.fingerprint(6), hopLength: 8,
                                 codebookSize: 512, framesPerPacket: 8, totalSamples: UInt64(frames * 8))
        let bytes = TestStreams.stream(h, codes: TestStreams.randomCodes(h, frames: frames, seed: 23))
        let plan = try SeekPlanner(header: h).plan(targetFrame: 150)
        XCTAssertEqual(plan.startPacket, (150 - SeekPlanner.defaultPrerollFrames) / 8) // floor((150 - preroll) / 8)
        var got: [[Float]] = []
        var calls: [Int] = []
        for c in 1...2 {
            let decoder = PlanarFake(channels: c, hop: 8)
            got.append(try Self.play(Array(bytes[plan.byteOffset...]), decoder, reader: try plan.reader(header: h),
                                     hop: 8, seek: plan).pcm)
            calls.append(decoder.calls)
        }
        XCTAssertEqual(got[0].count, (frames - 150) * 8 * 2)
        XCTAssertEqual(got[0], got[1])
        XCTAssertEqual(calls[0], 2 * calls[1])
    }

    func testADecoderThatIsNotTheManifestsIsRefused() throws {
        let stereo = try Manifest.parse(Data(ManifestTests.exampleStereo.utf8))
        let bytes = try Vectors.bytes("valid/stereo_tq64.tqc")
        let loop = DecodeLoop(source: ReaderPacketSource(reader: try StreamReader(strict: false), bytes: bytes),
                              decoder: PlanarFake(channels: 1, hop: 64), ring: FloatRingBuffer(minimumCapacity: 1024),
                              manifest: stereo)
        loop.run()
        XCTAssertEqual(loop.failure as? DecodeLoopError, .channelsMismatch(decoder: 1, manifest: 2))
    }

    /// A stereo call that returns one row ends the loop with a named error.
    final class OneRow: ChunkDecoder {
        let inner = PlanarFake(channels: 2, hop: 64)
        var channels: Int { 2 }

        func makeInitialState() throws -> PlanarFake.State {
            try inner.makeInitialState()
        }

        func decode(codes: CodeChunk, state: PlanarFake.State) throws -> (audio: [[Float]], state: PlanarFake.State) {
            let out = try inner.decode(codes: codes, state: state)
            return ([out.audio[0]], out.state)
        }
    }

    func testAStereoCallThatReturnsOneRowEndsTheLoop() throws {
        let bytes = try Vectors.bytes("valid/stereo_tq64.tqc")
        let loop = DecodeLoop(source: ReaderPacketSource(reader: try StreamReader(strict: false), bytes: bytes),
                              decoder: OneRow(), ring: FloatRingBuffer(minimumCapacity: 1 << 16),
                              chunkFrames: Self.k, hop: 64)
        loop.run()
        XCTAssertEqual(loop.failure as? DecodeLoopError, .audioRows(rows: 1, expected: 2))
    }
}
