import Foundation
import XCTest
@testable import TQCStream

/// The decode loop with a fake decoder whose every sample names its channel, the chunk index
/// (read from the state it was handed) and the code of its frame, so a dropped, reordered or
/// stateless chunk, or a channel mix-up, shows in the audio. Mirrors the Java DecodeLoopTest.
final class DecodeLoopTests: XCTestCase {
    static let hop = 4
    private let fp = TestStreams.fingerprint(3)

    /// sample = channel·2^20 + chunk·2^11 + code·2 + (i mod 2): exact in a Float.
    static func sample(channel: Int, chunk: Int, code: Int, index: Int) -> Float {
        Float(channel * (1 << 20) + chunk * (1 << 11) + code * 2 + index % 2)
    }

    struct BackendCrashed: Error {}

    /// Packets of 4 frames of code 1, 2, 3, 4, forever.
    final class EndlessSource: PacketSource {
        let streamHeader: StreamHeader
        var sequence = 0
        var eventCount: Int { 0 }
        var bytesReceived: Int { 0 }

        init(_ header: StreamHeader) {
            streamHeader = header
        }

        func header() throws -> StreamHeader {
            streamHeader
        }

        func next() throws -> Packet? {
            defer { sequence = (sequence + 1) & 0xFFFF }
            return Packet(sequence: sequence, offset: 0, channels: 1, nQ: 1, frames: 4, codes: [1, 2, 3, 4])
        }
    }

    /// State {tag, chunks decoded}; the first state made is channel 0's, the next channel 1's
    /// (with `streamChannels` set, states made after a reset cycle through the tags again). One
    /// channel per call: a stereo stream takes two calls a chunk.
    final class FakeDecoder: ChunkDecoder {
        struct State {
            let tag: Int
            let chunk: Int
        }

        let k: Int
        let hop: Int
        var statesMade = 0
        let channels = 1
        var streamChannels = Int.max
        var calls = 0
        var failAtCall: Int?
        var shortBy = 0
        var fedRow0: [[Int32]] = [] // codes of codebook 0, per call

        init(k: Int, hop: Int = DecodeLoopTests.hop) {
            self.k = k
            self.hop = hop
        }

        func makeInitialState() throws -> State {
            defer { statesMade += 1 }
            return State(tag: statesMade % streamChannels, chunk: 0)
        }

        func decode(codes: CodeChunk, state: State) throws -> (audio: [[Float]], state: State) {
            if let failAtCall, calls == failAtCall {
                throw BackendCrashed()
            }
            calls += 1
            XCTAssertEqual(codes.frames, k)
            fedRow0.append(Array(codes.row(channel: 0, codebook: 0)))
            var audio = [Float](repeating: 0, count: k * hop - shortBy)
            for s in audio.indices {
                audio[s] = DecodeLoopTests.sample(channel: state.tag, chunk: state.chunk,
                                                  code: Int(codes[0, 0, s / hop]), index: s % hop)
            }
            return ([audio], State(tag: state.tag, chunk: state.chunk + 1))
        }
    }

    final class ListSource: PacketSource {
        let streamHeader: StreamHeader
        var packets: [Packet]
        var eventCount = 0
        var bytesReceived = 0

        init(_ header: StreamHeader, _ packets: [Packet]) {
            streamHeader = header
            self.packets = packets
        }

        func header() throws -> StreamHeader {
            streamHeader
        }

        func next() throws -> Packet? {
            packets.isEmpty ? nil : packets.removeFirst()
        }
    }

    /// Delivers the first `before` packets, then blocks until released.
    final class StallingSource: PacketSource {
        let inner: ListSource
        let before: Int
        let release = DispatchSemaphore(value: 0)
        var given = 0
        var eventCount: Int { 0 }
        var bytesReceived: Int { 0 }

        init(_ inner: ListSource, before: Int) {
            self.inner = inner
            self.before = before
        }

        func header() throws -> StreamHeader {
            try inner.header()
        }

        func next() throws -> Packet? {
            if given == before {
                release.wait()
            }
            given += 1
            return try inner.next()
        }
    }

    /// Collects what it is given; takes at most `perCall` frames each time.
    final class FakeSink: AudioSink {
        let channels: Int
        var perCall = Int.max / 4
        var samples: [Float] = []

        init(channels: Int) {
            self.channels = channels
        }

        func writableFrames() -> Int {
            perCall
        }

        func write(_ samples: UnsafeBufferPointer<Float>) -> Int {
            XCTAssertTrue(samples.count <= perCall * channels && samples.count % channels == 0)
            self.samples += samples
            return samples.count
        }
    }

    /// The oracle for an undamaged stream: rows[c][f] = the codebook-0 code per channel, chunks
    /// of k, cut to `limit` samples per channel, interleaved (damaged ones: `PolicyOracle`).
    static func expected(_ rows: [[Int]], k: Int, limit: Int = .max, outputChannels: Int,
                         hop: Int = DecodeLoopTests.hop) -> [Float] {
        let n = min(rows[0].count * hop, limit)
        var out: [Float] = []
        out.reserveCapacity(n * outputChannels)
        for s in 0..<n {
            let f = s / hop
            for o in 0..<outputChannels {
                let c = rows.count == 1 ? 0 : o
                out.append(sample(channel: c, chunk: f / k, code: rows[c][f], index: s % hop))
            }
        }
        return out
    }

    private func header(channels: Int, nQ: Int, fpp: Int, totalSamples: UInt64?) throws -> StreamHeader {
        try StreamHeader(channels: channels, nQ: nQ, fingerprint: fp, hopLength: DecodeLoopTests.hop,
                         codebookSize: 500, framesPerPacket: fpp, totalSamples: totalSamples)
    }

    /// Packets of codes[c][q][f], the i-th with sequence `sequences[i]` and `lost[i]` lost before it.
    static func packets(_ codes: [[[Int]]], fpp: Int, sequences: [Int], lost: [Int]? = nil) -> [Packet] {
        var out: [Packet] = []
        for (i, sequence) in sequences.enumerated() {
            let from = sequence * fpp
            let to = min(codes[0][0].count, from + fpp)
            var flat: [Int32] = [] // [channel][codebook][frame]
            for channel in codes {
                for row in channel {
                    flat += row[from..<to].map { Int32($0) }
                }
            }
            out.append(Packet(sequence: sequence, offset: 0, channels: codes.count, nQ: codes[0].count,
                              frames: to - from, codes: flat, lostBefore: lost?[i] ?? 0))
        }
        return out
    }

    /// Row 0 of one channel with packet `lostSequence` replaced by repeats of the frame before it.
    static func concealedRow(_ row: [Int], fpp: Int, lostSequence: Int) -> [Int] {
        var out = row
        let start = lostSequence * fpp
        let last = start > 0 ? row[start - 1] : 0
        for f in start..<min(row.count, start + fpp) {
            out[f] = last
        }
        return out
    }

    private func drain(_ ring: FloatRingBuffer) -> [Float] {
        var all = [Float](repeating: 0, count: ring.available)
        let n = all.withUnsafeMutableBufferPointer { ring.read(into: $0) }
        XCTAssertEqual(n, all.count)
        XCTAssertTrue(ring.isDrained)
        return all
    }

    private func runInBackground(_ loop: DecodeLoop<FakeDecoder>) -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            loop.run()
            done.signal()
        }
        return done
    }

    private func pump(_ pump: PlaybackPump, into sink: FakeSink, until condition: () -> Bool,
                      timeout: TimeInterval = 10, file: StaticString = #filePath, line: UInt = #line) {
        let end = Date().addingTimeInterval(timeout)
        while !condition() {
            if pump.pump(into: sink) == 0 {
                usleep(1000)
            }
            if Date() > end {
                XCTFail("timed out", file: file, line: line)
                return
            }
        }
    }

    // MARK: - tests

    func testDecodesEveryChunkInOrderCarryingEachChannelsState() throws {
        let h = try header(channels: 2, nQ: 3, fpp: 8, totalSamples: UInt64(37 * Self.hop - 2)) // the last frame cut short
        let codes = TestStreams.randomCodes(h, frames: 37, seed: 1)
        let decoder = FakeDecoder(k: 6)
        let ring = FloatRingBuffer(minimumCapacity: 1 << 12)
        let loop = DecodeLoop(source: ListSource(h, Self.packets(codes, fpp: 8, sequences: [0, 1, 2, 3, 4])),
                              decoder: decoder, ring: ring, chunkFrames: 6, hop: Self.hop)
        loop.run()
        XCTAssertNil(loop.failure)
        XCTAssertTrue(loop.isDone)
        XCTAssertEqual(loop.header, h)
        let want = Self.expected([codes[0][0], codes[1][0]], k: 6,
                                 limit: 37 * Self.hop - 2, outputChannels: 2)
        XCTAssertEqual(drain(ring), want)
        let s = loop.stats.snapshot()
        XCTAssertEqual(s.chunksDecoded, 7) // ceil(37 / 6)
        XCTAssertEqual(s.packetsDecoded, 5)
        XCTAssertEqual(s.decodedFrames, 37)
        XCTAssertEqual(s.damagedPackets, 0)
        XCTAssertEqual(decoder.calls, 14)
        XCTAssertEqual(decoder.statesMade, 2) // one state per channel, made once
        // the last chunk was padded with code 0
        XCTAssertEqual(decoder.fedRow0[13], [Int32(codes[1][0][36]), 0, 0, 0, 0, 0])
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(s.realTimeFactor), 0)
        XCTAssertEqual(s.audioSeconds, 37.0 * Double(Self.hop) / 44_100, accuracy: 1e-12)
        XCTAssertNotNil(s.nominalBitrate)
    }

    func testALostPacketIsConcealedWithFadesAndTheStateCarriedThrough() throws {
        let h = try header(channels: 2, nQ: 2, fpp: 8, totalSamples: UInt64(40 * Self.hop))
        let codes = TestStreams.randomCodes(h, frames: 40, seed: 3)
        let decoder = FakeDecoder(k: 6)
        let ring = FloatRingBuffer(minimumCapacity: 1 << 12)
        let packets = Self.packets(codes, fpp: 8, sequences: [0, 1, 3, 4], lost: [0, 0, 1, 0])
        let source = ListSource(h, packets)
        source.eventCount = 1
        let loop = DecodeLoop(source: source, decoder: decoder, ring: ring, chunkFrames: 6, hop: Self.hop)
        loop.run()
        XCTAssertNil(loop.failure)
        let got = drain(ring)
        XCTAssertEqual(got, PolicyOracle.output(packets, fpp: 8, hop: Self.hop, k: 6, outputChannels: 2,
                                                limit: 40 * Self.hop))
        // the 8-frame gap (32 samples) fades out over all of it from the full level: no hard mute,
        // no click; the packet after it fades in
        let left = stride(from: 0, to: got.count, by: 2).map { got[$0] }
        let rows = [Self.concealedRow(codes[0][0], fpp: 8, lostSequence: 2),
                    Self.concealedRow(codes[1][0], fpp: 8, lostSequence: 2)]
        let plain = Self.expected(rows, k: 6, outputChannels: 2)
        XCTAssertEqual(left[16 * Self.hop], plain[2 * 16 * Self.hop]) // gain 1 at the gap's first sample
        XCTAssertEqual(left[24 * Self.hop - 1] / plain[2 * (24 * Self.hop - 1)],
                       Float(0.5 * (1 + cos(Double.pi * 31 / 32))), accuracy: 1e-6)
        XCTAssertEqual(left[24 * Self.hop], 0) // the fade-in starts at 0
        XCTAssertGreaterThan(left[24 * Self.hop + 1], 0)
        // the decoder saw the last good frame repeated (state continuity), not zeros
        let fed = stride(from: 0, to: decoder.fedRow0.count, by: 2).flatMap { decoder.fedRow0[$0] }
        XCTAssertEqual(Array(fed.prefix(40)).map { Int($0) }, rows[0])
        let s = loop.stats.snapshot()
        XCTAssertEqual(s.damagedPackets, 1)
        XCTAssertEqual(s.concealedFrames, 8)
        XCTAssertEqual(s.decoderResets, 0)
        XCTAssertEqual(s.packetsDecoded, 4)
        XCTAssertEqual(s.streamEvents, 1)
        XCTAssertEqual(s.chunksDecoded, 7)
    }

    func testAPacketTheReaderDroppedAddsNothing() throws {
        // as after a code_out_of_range packet, which the reader drops without a lostBefore:
        // the policy conceals only what lostBefore reports (corrupt/code_out_of_range.tqc's plan)
        let h = try header(channels: 1, nQ: 1, fpp: 4, totalSamples: nil)
        let codes = TestStreams.randomCodes(h, frames: 16, seed: 4)
        let ring = FloatRingBuffer(minimumCapacity: 1 << 10)
        let packets = Self.packets(codes, fpp: 4, sequences: [0, 1, 3])
        let loop = DecodeLoop(source: ListSource(h, packets), decoder: FakeDecoder(k: 4), ring: ring, chunkFrames: 4,
                              hop: Self.hop, outputChannels: 1)
        loop.run()
        XCTAssertEqual(loop.stats.damagedPackets, 0)
        XCTAssertEqual(loop.stats.concealedFrames, 0)
        let row = Array(codes[0][0][0..<8]) + Array(codes[0][0][12..<16])
        XCTAssertEqual(drain(ring), Self.expected([row], k: 4, outputChannels: 1))
    }

    func testALongGapFadesOutResetsTheStateAndInsertsNoTime() throws {
        // 9 packets of 32 frames lost = 288 frames > 256: a 64-frame tail (256 samples at hop 4),
        // a reset, and the next packet decoded from a fresh state, fading in
        let h = try header(channels: 2, nQ: 2, fpp: 32, totalSamples: nil)
        let codes = TestStreams.randomCodes(h, frames: 32 * 12, seed: 11)
        let packets = Self.packets(codes, fpp: 32, sequences: [0, 1, 11], lost: [0, 0, 9])
        let decoder = FakeDecoder(k: 5)
        decoder.streamChannels = 2
        let ring = FloatRingBuffer(minimumCapacity: 1 << 14)
        let loop = DecodeLoop(source: ListSource(h, packets), decoder: decoder, ring: ring, chunkFrames: 5, hop: Self.hop)
        loop.run()
        XCTAssertNil(loop.failure)
        let got = drain(ring)
        XCTAssertEqual(got.count, (32 + 32 + 64 + 32) * Self.hop * 2) // not 288 frames of gap
        XCTAssertEqual(got, PolicyOracle.output(packets, fpp: 32, hop: Self.hop, k: 5, outputChannels: 2))
        XCTAssertEqual(decoder.statesMade, 4) // two per channel: at the start and at the reset
        // the 128 frames before the reset end in a partial chunk (128 = 25·5 + 3), padded with 0
        XCTAssertEqual(decoder.fedRow0[2 * 25].suffix(2), [0, 0])
        let s = loop.stats.snapshot()
        XCTAssertEqual(s.decoderResets, 1)
        XCTAssertEqual(s.concealedFrames, 64)
        XCTAssertEqual(s.damagedPackets, 9)
        XCTAssertEqual(s.decodedFrames, 160)
    }

    func testAForgedSequenceJumpCostsFramesNotHours() throws {
        // ten CRC-valid one-frame packets numbered 0, 32768, 0, ... at 255 frames per packet:
        // each claims 32767 lost packets (8.4 million frames); the player adds 4 + 1 frames each
        let h = try StreamHeader(channels: 1, nQ: 3, fingerprint: fp, codebookSize: 500, framesPerPacket: 255)
        let codes = TestStreams.randomCodes(h, frames: 11, seed: 12)
        var forged = h.encode()
        for i in 0..<11 {
            forged += TestStreams.packet(h, sequence: i % 2 == 0 ? 0 : 32768, codes: Vectors.slice(codes, i..<(i + 1)))
        }
        let reader = try StreamReader(strict: false)
        let ring = FloatRingBuffer(minimumCapacity: 1 << 14)
        let loop = DecodeLoop(source: ReaderPacketSource(reader: reader, bytes: forged), decoder: FakeDecoder(k: 16, hop: 64),
                              ring: ring, chunkFrames: 16, hop: 64, outputChannels: 1)
        let started = Date()
        loop.run()
        XCTAssertNil(loop.failure)
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
        XCTAssertEqual(reader.lostPackets, 10 * 32767)
        XCTAssertEqual(ring.available, (11 + 10 * 4) * 64)
        XCTAssertEqual(loop.stats.decoderResets, 10)
        XCTAssertEqual(loop.stats.concealedFrames, 40)
    }

    func testMonoIsCopiedToBothOutputChannels() throws {
        let h = try header(channels: 1, nQ: 2, fpp: 5, totalSamples: UInt64(12 * Self.hop))
        let codes = TestStreams.randomCodes(h, frames: 12, seed: 5)
        let ring = FloatRingBuffer(minimumCapacity: 1 << 10)
        let loop = DecodeLoop(source: ListSource(h, Self.packets(codes, fpp: 5, sequences: [0, 1, 2])),
                              decoder: FakeDecoder(k: 4), ring: ring, chunkFrames: 4, hop: Self.hop)
        loop.run()
        XCTAssertEqual(drain(ring), Self.expected([codes[0][0]], k: 4,
                                                  limit: 12 * Self.hop, outputChannels: 2))
    }

    func testADamagedVectorPlaysThroughTheRealReader() throws {
        // corrupt/bad_crc.tqc: packet 1 of corrupt_base damaged; the player skips it and conceals its 8 frames
        let data = try Vectors.bytes("corrupt/bad_crc.tqc")
        let reference = try Vectors.vector("valid/corrupt_base.json")
        let h = try Vectors.header(reference.header)
        let reader = try StreamReader(strict: false, expectedFingerprint: h.fingerprint)
        let source = ReaderPacketSource(reader: reader, bytes: data, chunkSize: 7)
        let k = 16
        let ring = FloatRingBuffer(minimumCapacity: 1 << 16)
        let loop = DecodeLoop(source: source, decoder: FakeDecoder(k: k, hop: h.hopLength), ring: ring, chunkFrames: k,
                              hop: h.hopLength, outputChannels: 1)
        loop.run()
        XCTAssertNil(loop.failure)
        // the packets the reader delivers (0, 2, 3, 4; 2 with lostBefore 1), through the policy
        let delivered = try Vectors.feedAll(try StreamReader(strict: false), data, cuts: [])
        XCTAssertEqual(delivered.map(\.lostBefore), [0, 1, 0, 0])
        let got = drain(ring)
        XCTAssertEqual(UInt64(got.count), h.totalSamples)
        XCTAssertEqual(got, PolicyOracle.output(delivered, fpp: h.framesPerPacket, hop: h.hopLength, k: k,
                                                outputChannels: 1, limit: Int(h.totalSamples ?? 0)))
        // the 8-frame gap is 512 samples: 256 of fade-out, then silence, then the fade-in
        let gap = 8 * h.hopLength
        XCTAssertNotEqual(got[gap + 255], 0)
        XCTAssertEqual(got[(gap + 256)..<(2 * gap)].filter { $0 != 0 }.count, 0)
        let s = loop.stats.snapshot()
        XCTAssertEqual(s.damagedPackets, 1)
        XCTAssertEqual(s.streamEvents, 2) // bad_crc, then sequence_gap
        XCTAssertEqual(s.packetsDecoded, 4)
        XCTAssertEqual(s.bytesReceived, data.count)
        XCTAssertEqual(try XCTUnwrap(s.measuredBitsPerSecond), h.bitrate.streamBitsPerSecond, accuracy: 1e-6)
    }

    func testUnderrunsAreCountedWhenTheSourceStallsAndNothingIsLost() throws {
        let h = try header(channels: 2, nQ: 2, fpp: 8, totalSamples: nil)
        let codes = TestStreams.randomCodes(h, frames: 64, seed: 6)
        let source = StallingSource(ListSource(h, Self.packets(codes, fpp: 8, sequences: Array(0..<8))), before: 2)
        let ring = FloatRingBuffer(minimumCapacity: 64) // small: the producer also waits for room
        let loop = DecodeLoop(source: source, decoder: FakeDecoder(k: 6), ring: ring, chunkFrames: 6, hop: Self.hop)
        let sink = FakeSink(channels: 2)
        sink.perCall = 5
        let playback = PlaybackPump(ring: ring, channels: 2, stats: loop.stats, prebufferFrames: 4, maxFramesPerCall: 7)
        let done = runInBackground(loop)
        pump(playback, into: sink, until: { loop.stats.underruns >= 1 })
        XCTAssertEqual(loop.stats.underruns, 1) // one stall counts once
        XCTAssertTrue(playback.isBuffering)
        source.release.signal()
        pump(playback, into: sink, until: { playback.isFinished })
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertNil(loop.failure)
        XCTAssertGreaterThanOrEqual(loop.stats.underruns, 1)
        XCTAssertEqual(sink.samples, Self.expected([codes[0][0], codes[1][0]], k: 6, outputChannels: 2))
        XCTAssertEqual(loop.stats.playedFrames, 64 * Self.hop)
    }

    func testNoUnderrunWhenTheBufferNeverRunsDry() throws {
        let h = try header(channels: 2, nQ: 2, fpp: 8, totalSamples: nil)
        let codes = TestStreams.randomCodes(h, frames: 40, seed: 7)
        let ring = FloatRingBuffer(minimumCapacity: 1 << 12)
        let loop = DecodeLoop(source: ListSource(h, Self.packets(codes, fpp: 8, sequences: [0, 1, 2, 3, 4])),
                              decoder: FakeDecoder(k: 6), ring: ring, chunkFrames: 6, hop: Self.hop)
        loop.run() // everything decoded before playback starts
        let sink = FakeSink(channels: 2)
        sink.perCall = 3
        let playback = PlaybackPump(ring: ring, channels: 2, stats: loop.stats, prebufferFrames: 1000, maxFramesPerCall: 16)
        XCTAssertEqual(loop.stats.bufferedFrames, 40 * Self.hop)
        pump(playback, into: sink, until: { playback.isFinished })
        XCTAssertEqual(loop.stats.underruns, 0)
        XCTAssertEqual(loop.stats.bufferedFrames, 0)
        // the position is what reached the output; a live stream has no duration, so no progress
        let s = loop.stats.snapshot()
        XCTAssertEqual(s.positionSeconds, Double(40 * Self.hop) / 44_100, accuracy: 1e-12)
        XCTAssertNil(s.durationSeconds)
        XCTAssertNil(s.progress)
        XCTAssertEqual(s.meanChunkSeconds ?? -1, s.decodeSeconds / 7, accuracy: 1e-12) // ceil(40 / 6) chunks
        XCTAssertLessThanOrEqual(s.lastChunkSeconds ?? .infinity, s.maxChunkSeconds ?? 0)
        XCTAssertEqual(sink.samples, Self.expected([codes[0][0], codes[1][0]], k: 6, outputChannels: 2))
    }

    /// The pull side, as AVAudioSourceNode drives it: deinterleaved buffers, silence for what is missing.
    func testRenderDeinterleavesAndFillsGapsWithSilence() throws {
        let h = try header(channels: 2, nQ: 1, fpp: 4, totalSamples: nil)
        let codes = TestStreams.randomCodes(h, frames: 12, seed: 9)
        let ring = FloatRingBuffer(minimumCapacity: 1 << 10)
        let loop = DecodeLoop(source: ListSource(h, Self.packets(codes, fpp: 4, sequences: [0, 1, 2])),
                              decoder: FakeDecoder(k: 4), ring: ring, chunkFrames: 4, hop: Self.hop)
        loop.run()
        let want = Self.expected([codes[0][0], codes[1][0]], k: 4,
                                 outputChannels: 2)
        let playback = PlaybackPump(ring: ring, channels: 2, stats: loop.stats, prebufferFrames: 8, maxFramesPerCall: 5)
        let block = 7 // larger than maxFramesPerCall: one render takes several copies
        let left = UnsafeMutablePointer<Float>.allocate(capacity: block)
        let right = UnsafeMutablePointer<Float>.allocate(capacity: block)
        defer {
            left.deallocate()
            right.deallocate()
        }
        var got: [Float] = []
        var silentTail = 0
        while !playback.isFinished {
            let n = playback.render(frameCount: block, channelCount: 2) { $0 == 0 ? left : right }
            for i in 0..<n {
                got += [left[i], right[i]]
            }
            for i in n..<block {
                XCTAssertEqual(left[i], 0)
                XCTAssertEqual(right[i], 0)
                silentTail += 1
            }
        }
        XCTAssertEqual(got, want)
        XCTAssertGreaterThan(silentTail, 0) // the last block ran past the end
        XCTAssertEqual(loop.stats.underruns, 0) // the end of the stream is no underrun
        XCTAssertEqual(loop.stats.playedFrames, 12 * Self.hop)

        // while playing, an empty ring before the end is one underrun, and silence
        let live = FloatRingBuffer(minimumCapacity: 64)
        let stats = PlayerStats()
        let pull = PlaybackPump(ring: live, channels: 2, stats: stats, prebufferFrames: 2, maxFramesPerCall: 8)
        XCTAssertEqual(live.write([1, 2, 3, 4, 5, 6], range: 0..<6), 6)
        XCTAssertEqual(pull.render(frameCount: block, channelCount: 2) { $0 == 0 ? left : right }, 3)
        XCTAssertEqual([left[0], left[1], left[2], left[3]], [1, 3, 5, 0])
        XCTAssertEqual([right[0], right[1], right[2], right[3]], [2, 4, 6, 0])
        XCTAssertEqual(stats.underruns, 1)
        XCTAssertTrue(pull.isBuffering)
        XCTAssertEqual(pull.render(frameCount: block, channelCount: 2) { $0 == 0 ? left : right }, 0)
        XCTAssertEqual(stats.underruns, 1) // a stall counts once
        XCTAssertFalse(pull.isFinished)
    }

    func testStopEndsTheLoopAndClosesTheRing() throws {
        let h = try header(channels: 1, nQ: 1, fpp: 4, totalSamples: nil)
        let ring = FloatRingBuffer(minimumCapacity: 256)
        let loop = DecodeLoop(source: EndlessSource(h), decoder: FakeDecoder(k: 4), ring: ring, chunkFrames: 4, hop: Self.hop)
        let done = runInBackground(loop)
        let end = Date().addingTimeInterval(10)
        while ring.free > 0 && Date() < end {
            usleep(1000) // the ring fills and the producer waits for room
        }
        XCTAssertEqual(ring.free, 0)
        loop.stop()
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertTrue(loop.isDone)
        XCTAssertTrue(ring.isClosed)
        XCTAssertNil(loop.failure)
    }

    func testErrorsEndTheLoopAndAreKept() throws {
        let h = try header(channels: 2, nQ: 1, fpp: 4, totalSamples: nil)
        let codes = TestStreams.randomCodes(h, frames: 16, seed: 8)
        let decoder = FakeDecoder(k: 4)
        decoder.failAtCall = 3
        let ring = FloatRingBuffer(minimumCapacity: 1 << 10)
        let loop = DecodeLoop(source: ListSource(h, Self.packets(codes, fpp: 4, sequences: [0, 1, 2, 3])),
                              decoder: decoder, ring: ring, chunkFrames: 4, hop: Self.hop)
        loop.run()
        XCTAssertTrue(loop.failure is BackendCrashed)
        XCTAssertTrue(ring.isClosed)
        XCTAssertEqual(loop.stats.chunksDecoded, 1) // chunk 0 made it (2 calls), chunk 1 did not

        // a strict reader's stream error ends the loop with that error
        let bad = try Vectors.bytes("corrupt/bad_crc.tqc")
        let strictSource = ReaderPacketSource(reader: try StreamReader(), bytes: bad)
        let ring2 = FloatRingBuffer(minimumCapacity: 1 << 16)
        let strict = DecodeLoop(source: strictSource, decoder: FakeDecoder(k: 8, hop: 64), ring: ring2, chunkFrames: 8,
                                hop: 64, outputChannels: 1)
        strict.run()
        XCTAssertEqual((strict.failure as? TQCError)?.kind, .badCRC)
        XCTAssertEqual((strict.failure as? TQCError)?.offset, 151)
        XCTAssertTrue(ring2.isClosed)

        // a stream the model cannot decode is refused before any decoding
        let manifest = try Manifest.parse(Data(ManifestTests.example.utf8))
        let unfit = FakeDecoder(k: 16)
        let wrong = DecodeLoop(source: ListSource(h, []), decoder: unfit, ring: FloatRingBuffer(minimumCapacity: 16),
                               manifest: manifest)
        wrong.run()
        XCTAssertEqual((wrong.failure as? TQCError)?.kind, .fingerprintMismatch) // another model's stream
        XCTAssertEqual(unfit.calls, 0)

        // a decoder that breaks the call contract
        let short = FakeDecoder(k: 4)
        short.shortBy = 1
        let broken = DecodeLoop(source: ListSource(h, Self.packets(codes, fpp: 4, sequences: [0])), decoder: short,
                                ring: FloatRingBuffer(minimumCapacity: 1 << 10), chunkFrames: 4, hop: Self.hop)
        broken.run()
        XCTAssertEqual(broken.failure as? DecodeLoopError, .shortAudio(samples: 15, expected: 16))
    }

    func testPushSourceDeliversAcrossThreadsInOrder() throws {
        let h = try header(channels: 2, nQ: 3, fpp: 4, totalSamples: UInt64(30 * Self.hop))
        let codes = TestStreams.randomCodes(h, frames: 30, seed: 10)
        var data = TestStreams.stream(h, codes: codes)
        data[StreamHeader.size + h.packetSize() + 9] ^= 0x10 // damage packet 1
        let source = PushPacketSource(reader: try StreamReader(strict: false, expectedFingerprint: fp))
        let ring = FloatRingBuffer(minimumCapacity: 1 << 14)
        let loop = DecodeLoop(source: source, decoder: FakeDecoder(k: 5), ring: ring, chunkFrames: 5, hop: Self.hop)
        let done = runInBackground(loop)
        var at = 0
        while at < data.count { // the bytes trickle in, as from a network
            let end = min(data.count, at + 13)
            XCTAssertTrue(source.append(data[at..<end]))
            at = end
            usleep(200)
        }
        source.finish()
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertNil(loop.failure)
        let delivered = try Vectors.feedAll(try StreamReader(strict: false), data, cuts: [])
        XCTAssertEqual(delivered.map(\.sequence), [0, 2, 3, 4, 5, 6, 7])
        XCTAssertEqual(drain(ring), PolicyOracle.output(delivered, fpp: 4, hop: Self.hop, k: 5, outputChannels: 2,
                                                        limit: 30 * Self.hop))
        XCTAssertEqual(loop.stats.damagedPackets, 1)
        XCTAssertEqual(loop.stats.streamEvents, 2)
        XCTAssertEqual(loop.stats.bytesReceived, data.count)

        // a fatal header error reaches the consumer, and the producer is told to stop
        let broken = PushPacketSource(reader: try StreamReader(strict: false))
        XCTAssertFalse(broken.append(Array("RIFF....".utf8)))
        XCTAssertThrowsError(try broken.header()) { error in
            XCTAssertEqual((error as? TQCError)?.kind, .badMagic)
        }
        // cancelling wakes a consumer that waits for a header
        let idle = PushPacketSource(reader: try StreamReader(strict: false))
        let woke = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            _ = try? idle.header()
            woke.signal()
        }
        usleep(10_000)
        idle.cancel()
        XCTAssertEqual(woke.wait(timeout: .now() + 5), .success)
        XCTAssertFalse(idle.append([1, 2, 3]))
    }
}
