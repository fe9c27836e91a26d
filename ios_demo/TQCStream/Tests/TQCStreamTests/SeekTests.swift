import Foundation
import XCTest
@testable import TQCStream

/// docs/bitstream.md "Seeking": the plan's arithmetic from the spec, a reader joining every
/// shared valid vector at the planned packet, and the decode loop dropping the pre-roll.
final class SeekTests: XCTestCase {
    private let tq64 = try! StreamHeader(channels: 1, nQ: 10, fingerprint: TestStreams.fingerprint(31),
                                         totalSamples: 44_100 * 10)

    func testThePlanFollowsTheSpec() throws {
        let planner = SeekPlanner(header: tq64)
        XCTAssertEqual(planner.prerollFrames, 128)
        // t = 1 s: f = floor(44100 / 64) = 689, k = floor((689 − 128) / 32) = 17
        let plan = try planner.plan(seconds: 1)
        XCTAssertEqual(plan.targetFrame, 689)
        XCTAssertEqual(plan.startPacket, 17)
        XCTAssertEqual(plan.dropSamples, (689 - 17 * 32) * 64)
        XCTAssertEqual(plan.startSample, 689 * 64)
        XCTAssertEqual(plan.byteOffset, 52 + 17 * 369) // packet_offset: full 369-byte packets before it
        XCTAssertEqual(plan.firstSequence, 17)
        // near the start the pre-roll is what there is
        XCTAssertEqual(try planner.plan(seconds: 0), SeekPlan(targetFrame: 0, startPacket: 0, byteOffset: 52,
                                                              dropSamples: 0, hopLength: 64))
        let early = try planner.plan(targetFrame: 50)
        XCTAssertEqual(early.startPacket, 0)
        XCTAssertEqual(early.dropSamples, 50 * 64)
        // exactly on a boundary: f − preroll = 3 packets
        XCTAssertEqual(try planner.plan(targetFrame: 128 + 96).startPacket, 3)
        XCTAssertEqual(try planner.plan(targetFrame: 128 + 96).dropSamples, 128 * 64)
        // a live stream has no end; sequence numbers wrap at 2^16
        let live = try StreamHeader(channels: 1, nQ: 10, fingerprint: TestStreams.fingerprint(31), framesPerPacket: 1)
        let far = try SeekPlanner(header: live, prerollFrames: 0).plan(targetFrame: 70_000)
        XCTAssertEqual(far.startPacket, 70_000)
        XCTAssertEqual(far.firstSequence, 70_000 - 65_536)
        XCTAssertEqual(try SeekPlanner(header: live).plan(seconds: 3600).targetFrame, 3600 * 44_100 / 64)
    }

    /// The spec's refusals, as the Java SeekPlannerTest: a negative or non-finite time, and one at
    /// or past the end of a stream of known length (f ≥ ceil(total_samples / hop), the frame count).
    func testRefusesNegativeNonFiniteAndAtOrPastTheEnd() throws {
        // 1000 whole frames of 64 samples, 32 frames per packet
        let h = try StreamHeader(channels: 1, nQ: 10, fingerprint: TestStreams.fingerprint(1), framesPerPacket: 32,
                                 totalSamples: 1000 * 64)
        let planner = SeekPlanner(header: h)
        XCTAssertEqual(try planner.plan(seconds: 0.5e-3).targetFrame, 0)          // inside frame 0
        XCTAssertEqual(try planner.plan(seconds: 999.5 * 64 / 44_100).targetFrame, 999) // the last frame
        XCTAssertEqual(try planner.plan(seconds: 0).targetFrame, 0)
        XCTAssertEqual(try planner.plan(seconds: -0.0).targetFrame, 0)
        XCTAssertEqual(try planner.plan(targetFrame: 999).targetFrame, 999)
        let atEnd = 1000.0 * 64 / 44_100 // exactly the stream's length
        for bad in [-3, -1e-12, -Double.leastNonzeroMagnitude, Double.nan, -Double.nan, Double.infinity,
                    -Double.infinity, atEnd, atEnd.nextUp, 1000.5 * 64 / 44_100, 3600, 1e300] {
            XCTAssertThrowsError(try planner.plan(seconds: bad), "planned a seek to \(bad) s") { error in
                XCTAssertEqual((error as? TQCError)?.kind, .invalidArgument, "\(bad) s: \(error)")
            }
        }
        for bad in [-1, Int.min, 1000, 1001, Int.max] {
            XCTAssertThrowsError(try planner.plan(targetFrame: bad), "planned a seek to frame \(bad)") { error in
                XCTAssertEqual((error as? TQCError)?.kind, .invalidArgument, "frame \(bad): \(error)")
            }
        }
        // a short last frame still counts: 10 s at hop 64 is 6890.625 frames, so 6891, and the
        // time of the stream's last sample (frame 6890) is a valid start
        let tq64 = SeekPlanner(header: self.tq64)
        XCTAssertEqual(self.tq64.frameCount, 6891)
        XCTAssertEqual(try tq64.plan(seconds: (441_000.0 - 1) / 44_100).targetFrame, 6890)
        XCTAssertEqual(try tq64.plan(targetFrame: 6890).targetFrame, 6890)
        XCTAssertThrowsError(try tq64.plan(seconds: 6891.0 * 64 / 44_100))
        XCTAssertThrowsError(try tq64.plan(targetFrame: 6891))
        // an empty stream has nowhere to start
        let empty = try StreamHeader(channels: 1, nQ: 10, fingerprint: TestStreams.fingerprint(1), totalSamples: 0)
        XCTAssertThrowsError(try SeekPlanner(header: empty).plan(seconds: 0)) { error in
            XCTAssertEqual((error as? TQCError)?.kind, .invalidArgument)
        }
        XCTAssertThrowsError(try SeekPlanner(header: empty).plan(targetFrame: 0))
        // a live stream has no end, but a bad time is still bad
        let live = SeekPlanner(header: try StreamHeader(channels: 1, nQ: 10, fingerprint: TestStreams.fingerprint(1)))
        for bad in [-1, Double.nan, Double.infinity] {
            XCTAssertThrowsError(try live.plan(seconds: bad))
        }
        XCTAssertThrowsError(try live.plan(targetFrame: -1))
    }

    /// Hostile input on a live stream (no total_samples, so no end to refuse at): a seek whose
    /// first sample or byte offset does not fit in an Int is `invalid_argument`, never a trap.
    func testFarSeeksOnALiveStreamAreRefusedNotTrapped() throws {
        let h = try StreamHeader(channels: 1, nQ: 10, fingerprint: TestStreams.fingerprint(1)) // 369-byte packets
        XCTAssertNil(h.totalSamples)
        XCTAssertEqual(h.packetSize(), 369)
        let live = SeekPlanner(header: h)
        let P = SeekPlanner.defaultPrerollFrames
        func refused(_ what: String, _ body: () throws -> Any) {
            XCTAssertThrowsError(try body(), "planned \(what)") { error in
                XCTAssertEqual((error as? TQCError)?.kind, .invalidArgument, "\(what): \(error)")
            }
        }
        for bad in [1e300, Double.greatestFiniteMagnitude, 1e19, Double(Int.max), 1e17, 1e15] { // 1e15: f fits, f · 64 not
            refused("a seek to \(bad) s") { try live.plan(seconds: bad) }
        }
        for bad in [Int.max, Int.max - 1, Int.max / 2, Int.max / 64 + 1] {
            refused("a seek to frame \(bad)") { try live.plan(targetFrame: bad) }
        }
        // the largest frame whose first sample f · 64 fits: planned, offsets exact
        let last = try live.plan(targetFrame: Int.max / 64)
        XCTAssertEqual(last.startSample, Int.max - 63)
        XCTAssertEqual(last.startPacket, (Int.max / 64 - P) / 32)
        XCTAssertEqual(last.byteOffset, 52 + (Int.max / 64 - P) / 32 * 369)
        XCTAssertEqual(last.dropSamples, (Int.max / 64 - last.startPacket * 32) * 64)
        // large but valid: 10^9 s (about 32 years) into a live stream
        let far = try live.plan(seconds: 1e9)
        XCTAssertEqual(far.targetFrame, 689_062_500_000) // 10^9 · 44100 / 64
        XCTAssertEqual(far.startPacket, (689_062_500_000 - P) / 32)
        XCTAssertEqual(far.byteOffset, 52 + (689_062_500_000 - P) / 32 * 369)
        XCTAssertEqual(far.startSample, 689_062_500_000 * 64)
        XCTAssertEqual(far.firstSequence, far.startPacket & 0xFFFF)

        // hop 1, one frame per packet: f · hop fits for every frame, so the byte offset is what overflows
        let dense = try StreamHeader(channels: 1, nQ: 10, fingerprint: TestStreams.fingerprint(1), hopLength: 1,
                                     framesPerPacket: 1) // 21-byte packets
        XCTAssertEqual(dense.packetSize(), 21)
        let planner = SeekPlanner(header: dense)
        let maxPacket = (Int.max - 52) / 21 // the last packet whose offset fits
        let edge = try planner.plan(targetFrame: maxPacket + P)
        XCTAssertEqual(edge.startPacket, maxPacket)
        XCTAssertEqual(edge.byteOffset, 52 + maxPacket * 21)
        XCTAssertEqual(edge.dropSamples, P)
        for bad in [maxPacket + P + 1, Int.max] {
            refused("a seek to frame \(bad) of 21-byte packets") { try planner.plan(targetFrame: bad) }
        }
        for bad in [1e14, 1e15, 1e300, Double.greatestFiniteMagnitude] { // 1e14: frame 4.41e18 fits, its offset not
            refused("a seek to \(bad) s of 21-byte packets") { try planner.plan(seconds: bad) }
        }
        XCTAssertEqual(try planner.plan(seconds: 1e12).byteOffset, 52 + (44_100_000_000_000_000 - P) * 21)

        // packetOffset itself is checked for every caller
        XCTAssertEqual(try dense.packetOffset(0), 52)
        XCTAssertEqual(try dense.packetOffset(maxPacket), 52 + maxPacket * 21)
        for bad in [-1, Int.min, maxPacket + 1, Int.max] {
            refused("the offset of packet \(bad)") { try dense.packetOffset(bad) }
        }
    }

    /// For every valid vector, target frame and a few pre-rolls: a reader joining at the
    /// planned offset delivers packet k first, and k's frames plus the dropped ones reach f.
    func testAReaderJoinsEveryVectorAtThePlannedPacket() throws {
        let index = try Vectors.index()
        var checked = 0
        for name in index.valid {
            let vector = try Vectors.vector(name)
            let h = try Vectors.header(vector.header)
            let data = try Vectors.streamBytes(of: name, vector)
            for preroll in [0, 3, SeekPlanner.defaultPrerollFrames] {
                let planner = SeekPlanner(header: h, prerollFrames: preroll)
                if let frames = h.frameCount {
                    XCTAssertEqual(frames, UInt64(vector.frames), name)
                    XCTAssertThrowsError(try planner.plan(targetFrame: vector.frames), name) // at the end
                }
                for f in 0..<vector.frames {
                    let plan = try planner.plan(targetFrame: f)
                    XCTAssertEqual(plan.startPacket * h.framesPerPacket * h.hopLength + plan.dropSamples,
                                   plan.startSample, name)
                    XCTAssertLessThanOrEqual(plan.dropSamples, (preroll + h.framesPerPacket) * h.hopLength, name)
                    let reader = try plan.reader(header: h, expectedFingerprint: h.fingerprint)
                    let packets = try Vectors.feedAll(reader, Array(data[min(plan.byteOffset, data.count)...]), cuts: [])
                    XCTAssertTrue(reader.events.isEmpty, "\(name) f=\(f): \(reader.events)")
                    let first = plan.startPacket * h.framesPerPacket
                    XCTAssertEqual(packets.first?.sequence ?? plan.startPacket, plan.startPacket, "\(name) f=\(f)")
                    XCTAssertEqual(packets.first?.offset ?? plan.byteOffset, plan.byteOffset, "\(name) f=\(f)")
                    XCTAssertEqual(Vectors.concat(packets, channels: h.channels, nQ: h.nQ),
                                   Vectors.slice(vector.codes, min(first, vector.frames)..<vector.frames), "\(name) f=\(f)")
                    checked += 1
                }
            }
        }
        XCTAssertGreaterThan(checked, 300)
    }

    func testTheDecodeLoopDropsThePrerollAndStartsAtTheTarget() throws {
        let name = "valid/corrupt_base.json" // 40 frames in packets of 8, total_samples 2560
        let vector = try Vectors.vector(name)
        let h = try Vectors.header(vector.header)
        let data = try Vectors.streamBytes(of: name, vector)
        let plan = try SeekPlanner(header: h, prerollFrames: 5).plan(targetFrame: 27) // k = 2, 11 frames of pre-roll
        XCTAssertEqual(plan.startPacket, 2)
        XCTAssertEqual(plan.dropSamples, 11 * 64)
        let reader = try plan.reader(header: h, expectedFingerprint: h.fingerprint)
        let source = ReaderPacketSource(reader: reader, bytes: Array(data[plan.byteOffset...]), chunkSize: 5)
        let ring = FloatRingBuffer(minimumCapacity: 1 << 14)
        let decoder = DecodeLoopTests.FakeDecoder(k: 4, hop: 64)
        let loop = DecodeLoop(source: source, decoder: decoder, ring: ring, chunkFrames: 4, hop: 64, outputChannels: 1,
                              seek: plan)
        XCTAssertEqual(loop.stats.snapshot().positionSeconds, 0)
        loop.run()
        XCTAssertNil(loop.failure)
        var got = [Float](repeating: 0, count: ring.available)
        _ = got.withUnsafeMutableBufferPointer { ring.read(into: $0) }
        // state from zero at packet 2 (chunk 0 is its first chunk), pre-roll dropped, cut at total_samples
        let delivered = try Vectors.feedAll(try plan.reader(header: h), Array(data[plan.byteOffset...]), cuts: [])
        XCTAssertEqual(got, PolicyOracle.output(delivered, fpp: 8, hop: 64, k: 4, outputChannels: 1,
                                                limit: 2560 - plan.startSample, drop: plan.dropSamples))
        XCTAssertEqual(got.count, 2560 - 27 * 64)
        XCTAssertEqual(decoder.statesMade, 1)
        let s = loop.stats.snapshot()
        XCTAssertEqual(s.positionSeconds, Double(27 * 64) / 44_100, accuracy: 1e-12) // nothing played yet
        XCTAssertEqual(try XCTUnwrap(s.durationSeconds), 2560.0 / 44_100, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(s.progress), Double(27 * 64) / 2560, accuracy: 1e-12)
    }
}

/// Joining a stream over HTTP at a seek's byte offset: 206 from there, or 200 and skip.
final class RangeResponseTests: XCTestCase {
    func testTheRequestAndWhatToSkip() throws {
        XCTAssertEqual(RangeResponse.requestHeader(from: 7063), "bytes=7063-")
        XCTAssertEqual(try RangeResponse.bytesToSkip(status: 206, requestedOffset: 7063,
                                                     contentRange: "bytes 7063-99999/100000"), 0)
        XCTAssertEqual(try RangeResponse.bytesToSkip(status: 200, requestedOffset: 7063, contentRange: nil), 7063)
        for (status, range) in [(206, "bytes 0-99999/100000"), (206, "items 7063-9/10"), (206, nil), (416, nil),
                                (404, "bytes 7063-99999/100000")] {
            XCTAssertThrowsError(try RangeResponse.bytesToSkip(status: status, requestedOffset: 7063, contentRange: range,
                                                               path: "song.tqc")) { error in
                XCTAssertEqual((error as? TQCError)?.kind, .ioError)
                XCTAssertTrue("\(error)".hasPrefix("song.tqc, byte 7063"), "\(error)")
            }
        }
    }
}
