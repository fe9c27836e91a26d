import Foundation
import XCTest
@testable import TQCStream

/// The differential check of the one concealment policy: for every damaged vector that pins a
/// plan (`concealment` in tests/vectors/manifest.json, written by the Python reference), the
/// Swift reader's packets through `ConcealmentPlanner` give exactly that plan and output
/// length, the decode loop writes that much audio, and the Swift constants equal the `policy`
/// block that Python and Java are checked against too.
final class ConcealmentVectorsTests: XCTestCase {
    func testTheConstantsAreThePolicyBlocks() throws {
        let policy = try Vectors.index().policy
        XCTAssertEqual(ConcealmentPlanner.maxConcealFrames, policy.maxConcealFrames)
        XCTAssertEqual(ConcealmentPlanner.fadeSamples, policy.fadeSamples)
        XCTAssertEqual(ConcealmentFades().fadeSamples, policy.fadeSamples)
        XCTAssertEqual(SeekPlanner.defaultPrerollFrames, policy.seekPrerollFrames)
        XCTAssertEqual(PolicyOracle.maxConcealFrames, policy.maxConcealFrames)
        XCTAssertEqual(PolicyOracle.fadeSamples, policy.fadeSamples)
    }

    func testEveryPinnedPlanIsReproduced() throws {
        let index = try Vectors.index()
        let pinned = index.cases.filter { $0.concealment != nil }
        XCTAssertGreaterThanOrEqual(pinned.count, 10)
        // the forged sequence jumps are among them
        XCTAssertTrue(pinned.contains { $0.concealment!.plan.contains(.reset) })
        for damage in pinned {
            let want = try XCTUnwrap(damage.concealment)
            let data = try Vectors.bytes(damage.file)
            let h = try headerOf(damage, data)
            for mode in FeedMode.allCases where mode != .bytes || data.count < 4096 {
                let cuts = Vectors.cuts(mode, length: data.count, seed: Vectors.seed(damage.file))
                let packets = try Vectors.feedAll(try streamingReader(damage), data, cuts: cuts)
                let plan = ConcealmentPlanner(header: h).plan(packets)
                XCTAssertEqual(plan.steps, want.plan, "\(damage.file) (\(mode.rawValue)): \(plan.steps)")
                XCTAssertEqual(plan.outputFrames, want.outputFrames, "\(damage.file) (\(mode.rawValue))")
            }
            try checkDecodeLoop(damage, data: data, expected: want)
        }
    }

    /// The decode loop, run on the real reader, writes output_frames·hop samples (cut at
    /// total_samples), conceals and resets as the plan says, and its gains are the oracle's.
    private func checkDecodeLoop(_ damage: DamageCase, data: [UInt8], expected: ConcealmentExpectation) throws {
        let reader = try streamingReader(damage)
        let source = ReaderPacketSource(reader: reader, bytes: data, chunkSize: 61)
        let ring = FloatRingBuffer(minimumCapacity: 1 << 20)
        let k = 16
        let h = try headerOf(damage, data)
        let decoder = DecodeLoopTests.FakeDecoder(k: k, hop: h.hopLength)
        decoder.streamChannels = h.channels
        let loop = DecodeLoop(source: source, decoder: decoder, ring: ring, chunkFrames: k, hop: h.hopLength,
                              outputChannels: h.channels, trimToTotalSamples: damage.headerFrom == nil)
        loop.run()
        XCTAssertNil(loop.failure, damage.file)
        var cap = expected.outputFrames * h.hopLength
        if damage.headerFrom == nil, let total = h.totalSamples {
            cap = min(cap, Int(total))
        }
        XCTAssertEqual(ring.available, cap * h.channels, damage.file)
        let conceal = expected.plan.reduce(0) { if case let .conceal(n) = $1 { return $0 + n } else { return $0 } }
        XCTAssertEqual(loop.stats.concealedFrames, conceal, damage.file)
        XCTAssertEqual(loop.stats.decoderResets, expected.plan.filter { $0 == .reset }.count, damage.file)
        var got = [Float](repeating: 0, count: ring.available)
        _ = got.withUnsafeMutableBufferPointer { ring.read(into: $0) }
        let delivered = try Vectors.feedAll(try streamingReader(damage), data, cuts: [])
        XCTAssertEqual(got, PolicyOracle.output(delivered, fpp: h.framesPerPacket, hop: h.hopLength, k: k,
                                                outputChannels: h.channels, limit: cap), damage.file)
    }

    private func streamingReader(_ damage: DamageCase) throws -> StreamReader {
        var header: StreamHeader?
        if let from = damage.headerFrom {
            header = try Vectors.header(Vectors.vector(from).header)
        }
        let fingerprint = damage.expectedFingerprint.flatMap { bytesFromHex($0) }
        return try StreamReader(strict: false, header: header, expectedFingerprint: fingerprint,
                                firstSequence: header == nil ? 0 : nil, path: damage.file)
    }

    private func headerOf(_ damage: DamageCase, _ data: [UInt8]) throws -> StreamHeader {
        if let from = damage.headerFrom {
            return try Vectors.header(Vectors.vector(from).header)
        }
        return try StreamHeader.decode(data, path: damage.file)
    }
}
