import XCTest
@testable import TQCStream

/// Reader behaviours beyond the golden vectors (they mirror tests/test_bitstream.py and the
/// Java StreamReaderTest).
final class StreamReaderTests: XCTestCase {
    private let fp = TestStreams.fingerprint(1)

    private func header(channels: Int, nQ: Int, fpp: Int, totalSamples: UInt64? = nil) throws -> StreamHeader {
        try StreamHeader(channels: channels, nQ: nQ, fingerprint: fp, framesPerPacket: fpp, totalSamples: totalSamples)
    }

    private func summary(_ packets: [Packet]) -> String {
        packets.map { "\($0.sequence)@\($0.offset)-\($0.lostBefore)" }.joined(separator: " ")
    }

    /// The TQCError that `body` throws (a test failure if it throws none).
    private func caught(_ body: () throws -> Void) -> TQCError? {
        do {
            try body()
        } catch let e as TQCError {
            return e
        } catch {
            XCTFail("expected a TQCError, got \(error)")
            return nil
        }
        XCTFail("expected a TQCError")
        return nil
    }

    func testCRCCheckValue() {
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(CRC32.checksum([]), 0)
        var split = CRC32()
        split.update(Array("1234".utf8))
        split.update(Array("56789".utf8))
        XCTAssertEqual(split.value, 0xCBF4_3926)
        XCTAssertEqual(CRC32.checksum(Array("56789".utf8), seed: CRC32.checksum(Array("1234".utf8))), 0xCBF4_3926)
    }

    func testRandomSplitsEqualWholeReading() throws {
        let h = try header(channels: 2, nQ: 10, fpp: 16)
        let codes = TestStreams.randomCodes(h, frames: 150, seed: 5)
        let data = TestStreams.stream(h, codes: codes)
        let whole = summary(try Vectors.feedAll(StreamReader(), data, cuts: []))
        for trial in 0..<30 {
            let parts = try Vectors.feedAll(StreamReader(), data, cuts: Vectors.cuts(.pieces, length: data.count,
                                                                                  seed: UInt64(trial)))
            XCTAssertEqual(summary(parts), whole)
            XCTAssertEqual(Vectors.concat(parts, channels: 2, nQ: 10), codes)
        }
        XCTAssertEqual(summary(try Vectors.feedAll(StreamReader(), data, cuts: Vectors.cuts(.bytes, length: data.count,
                                                                                         seed: 0))), whole)
    }

    func testPacketsArriveAsSoonAsComplete() throws {
        let h = try header(channels: 1, nQ: 10, fpp: 8)
        let data = TestStreams.stream(h, codes: TestStreams.randomCodes(h, frames: 24, seed: 2))
        let r = try StreamReader()
        let end = StreamHeader.size + h.packetSize()
        XCTAssertTrue(try r.feed(data[0..<(end - 1)]).isEmpty)
        XCTAssertEqual(try r.feed(data[(end - 1)..<end]).count, 1)
        XCTAssertEqual(try r.feed(data[end...]).count, 2)
        XCTAssertTrue(try r.finish().isEmpty)
        XCTAssertTrue(try r.finish().isEmpty) // a second finish is harmless
    }

    func testStrictErrorsAreStickyAndFeedAfterFinishIsRefused() throws {
        let r = try StreamReader()
        let first = caught { _ = try r.feed(Array("RIFF".utf8)) }
        XCTAssertEqual(first?.kind, .badMagic)
        XCTAssertEqual(caught { _ = try r.feed([1]) }, first)
        XCTAssertEqual(caught { _ = try r.finish() }, first)

        let h = try header(channels: 1, nQ: 2, fpp: 4)
        let done = try StreamReader()
        _ = try done.feed(h.encode())
        _ = try done.finish()
        let late = caught { _ = try done.feed([1]) }
        XCTAssertEqual(late?.kind, .invalidArgument)
        XCTAssertNil(late?.offset)
    }

    func testHeaderErrorsComeAsSoonAsTheBytesShowThem() throws {
        let r = try StreamReader()
        XCTAssertTrue(try r.feed(Array("TQ".utf8)).isEmpty) // a prefix of the magic: wait
        XCTAssertEqual(caught { _ = try r.feed(Array("X".utf8)) }?.kind, .badMagic)

        var v2 = try header(channels: 1, nQ: 1, fpp: 1, totalSamples: 0).encode()
        v2[4] = 2 // a newer version, not damage: reported before length and CRC
        let r2 = try StreamReader()
        let e = caught { _ = try r2.feed(v2[0..<6]) }
        XCTAssertEqual(e?.kind, .unsupportedVersion)
        XCTAssertEqual(e?.offset, 4)
        XCTAssertNil(e?.packet)

        let r3 = try StreamReader(strict: false)
        XCTAssertTrue(try r3.feed(v2[0..<3]).isEmpty)
        XCTAssertEqual(caught { _ = try r3.finish() }?.kind, .truncatedHeader) // fatal in streaming mode too
    }

    func testSequenceNumbersWrap() throws {
        let h = try header(channels: 1, nQ: 2, fpp: 2)
        let codes = TestStreams.randomCodes(h, frames: 20, seed: 3)
        let data = TestStreams.packets(h, codes: codes, firstSequence: 65530)
        let packets = try Vectors.feedAll(StreamReader(header: h, firstSequence: 65530), data, cuts: [])
        XCTAssertEqual(packets.map(\.sequence), [65530, 65531, 65532, 65533, 65534, 65535, 0, 1, 2, 3])

        // a packet lost across the wrap is a gap of one, not of 65535
        let size = h.packetSize()
        let dropped = Array(data[0..<(6 * size)]) + Array(data[(7 * size)...])
        let r = try StreamReader(strict: false, header: h, firstSequence: 65530)
        let kept = try Vectors.feedAll(r, dropped, cuts: [])
        XCTAssertEqual(kept.map(\.lostBefore), [0, 0, 0, 0, 0, 0, 1, 0, 0])
        XCTAssertEqual(r.events.map(\.kind), [.sequenceGap])
        XCTAssertEqual(r.lostPackets, 1)
    }

    func testStartsAtASeekPointWithTrueOffsets() throws {
        let h = try header(channels: 2, nQ: 10, fpp: 8, totalSamples: 60 * 64)
        let codes = TestStreams.randomCodes(h, frames: 60, seed: 4)
        let data = TestStreams.stream(h, codes: codes)
        let at = try h.packetOffset(3)
        let r = try StreamReader(header: h, firstSequence: 3, offset: at)
        let tail = Array(data[at...])
        let packets = try Vectors.feedAll(r, tail, cuts: Vectors.cuts(.pieces, length: tail.count, seed: 9))
        XCTAssertEqual(packets.count, 5)
        XCTAssertEqual(packets.first?.sequence, 3)
        XCTAssertEqual(packets.first?.offset, at)
        XCTAssertEqual(packets.last?.frames, 4)
        XCTAssertEqual(Vectors.concat(packets, channels: 2, nQ: 10), Vectors.slice(codes, 24..<60))
        XCTAssertEqual(r.framesRead, 36) // no total-length check for a reader that did not see the whole stream
    }

    func testEventsReachTheListenerInOrder() throws {
        let h = try header(channels: 1, nQ: 3, fpp: 4)
        var data = TestStreams.stream(h, codes: TestStreams.randomCodes(h, frames: 40, seed: 6))
        data[StreamHeader.size + h.packetSize() + 7] ^= 1 // damage packet 1
        var seen: [TQCError.Kind] = []
        let r = try StreamReader(strict: false, onEvent: { seen.append($0.kind) })
        let packets = try Vectors.feedAll(r, data, cuts: [])
        XCTAssertEqual(seen, [.badCRC, .sequenceGap])
        XCTAssertEqual(packets.count, 9)
        XCTAssertEqual(packets[1].lostBefore, 1)
        let first = r.events[0]
        XCTAssertEqual(first.description, "<stream>, byte \(StreamHeader.size + h.packetSize()), packet 1: "
            + "\(first.detail) [bad_crc]")
    }

    func testFingerprintChecks() throws {
        let h = try header(channels: 1, nQ: 2, fpp: 4, totalSamples: 0)
        XCTAssertEqual(caught { _ = try StreamReader(expectedFingerprint: [0, 1, 2]) }?.kind, .invalidArgument)
        let given = caught { _ = try StreamReader(header: h, expectedFingerprint: [UInt8](repeating: 0, count: 16)) }
        XCTAssertEqual(given?.kind, .fingerprintMismatch)
        XCTAssertNil(given?.offset) // the header came separately: no stream offset
        let fed = caught {
            _ = try StreamReader(expectedFingerprint: [UInt8](repeating: 0, count: 16), offset: 1000).feed(h.encode())
        }
        XCTAssertEqual(fed?.kind, .fingerprintMismatch)
        XCTAssertEqual(fed?.offset, 1032)
        XCTAssertEqual(try Vectors.feedAll(StreamReader(expectedFingerprint: fp), h.encode(), cuts: []).count, 0)
    }

    func testGarbageIsScannedQuicklyInBoundedMemory() throws {
        let h = try header(channels: 2, nQ: 10, fpp: 32)
        let r = try StreamReader(strict: false)
        _ = try r.feed(h.encode())
        var rng = SplitMix64(seed: 7)
        var junk = [UInt8](repeating: 0, count: 1 << 16)
        let started = Date()
        var packets = 0
        for _ in 0..<16 { // 1 MiB of noise, many false sync words among it
            for i in junk.indices {
                junk[i] = UInt8.random(in: 0...255, using: &rng)
            }
            for k in stride(from: 0, to: junk.count - 1, by: 97) {
                junk[k] = 0xA5
                junk[k + 1] = 0x5A
            }
            packets += try r.feed(junk).count
        }
        _ = try r.finish()
        XCTAssertEqual(packets, 0)
        XCTAssertEqual(r.events.count, 1) // one damaged region, one event
        XCTAssertEqual(r.events.first?.offset, StreamHeader.size) // where the noise starts
        XCTAssertLessThan(Date().timeIntervalSince(started), 60, "scanning 1 MiB took too long")
    }

    func testAByteSplitSyncWordIsFoundAcrossFeeds() throws {
        let h = try header(channels: 1, nQ: 2, fpp: 4)
        let good = TestStreams.stream(h, codes: TestStreams.randomCodes(h, frames: 8, seed: 8))
        let firstPacket = StreamHeader.size
        let data = Array(good[0..<firstPacket]) + [1, 2, 3] + Array(good[firstPacket...])
        for cut in firstPacket..<(firstPacket + 6) {
            let r = try StreamReader(strict: false)
            let packets = try Vectors.feedAll(r, data, cuts: [cut])
            XCTAssertEqual(packets.count, 2, "cut at \(cut)")
            XCTAssertEqual(packets.first?.offset, firstPacket + 3)
            XCTAssertEqual(r.events.count, 1)
        }
    }

    func testCodeOutOfRangeInAWideCodebook() throws {
        // codebook_size < 2^bits: a code >= codebook_size with a good CRC is a writer bug
        let h = try StreamHeader(channels: 1, nQ: 1, fingerprint: fp, codebookSize: 10, bits: 4, framesPerPacket: 2)
        let codes = [[[3, 12, 5, 6]]]
        let data = h.encode() + TestStreams.packet(h, sequence: 0, codes: Vectors.slice(codes, 0..<2))
            + TestStreams.packet(h, sequence: 1, codes: Vectors.slice(codes, 2..<4))
        let e = caught { _ = try Vectors.feedAll(StreamReader(), data, cuts: []) }
        XCTAssertEqual(e?.kind, .codeOutOfRange)
        XCTAssertEqual(e?.packet, 0)
        let r = try StreamReader(strict: false)
        let packets = try Vectors.feedAll(r, data, cuts: [])
        XCTAssertEqual(packets.map(\.sequence), [1])
        XCTAssertEqual(packets.first?.lostBefore, 0) // the dropped packet still counts as received
    }

    func testTruncatedHeaderWaitsUntilTheEnd() throws {
        let r = try StreamReader()
        let h = try header(channels: 1, nQ: 1, fpp: 1, totalSamples: 0).encode()
        XCTAssertTrue(try r.feed(h[0..<51]).isEmpty)
        XCTAssertNil(r.header)
        let e = caught { _ = try r.finish() }
        XCTAssertEqual(e?.kind, .truncatedHeader)
        XCTAssertEqual(e?.offset, 0)
    }

    func testKindsAreThePythonStrings() {
        XCTAssertEqual(TQCError.Kind.allCases.count, 18) // Python's KINDS (tests/test_ios_demo.py compares the sets)
        XCTAssertEqual(TQCError.Kind.fatal.count, 9)
        XCTAssertEqual(TQCError.Kind.packet.count, 9)
        XCTAssertEqual(TQCError.Kind(rawValue: "bad_crc"), .badCRC)
        XCTAssertNil(TQCError.Kind(rawValue: "no_such_kind"))
    }

    func testDecodeAllIsStrict() throws {
        let h = try header(channels: 1, nQ: 2, fpp: 4, totalSamples: 10 * 64)
        let codes = TestStreams.randomCodes(h, frames: 10, seed: 12)
        let data = TestStreams.stream(h, codes: codes)
        let all = try StreamReader.decodeAll(data, expectedFingerprint: fp)
        XCTAssertEqual(all.header, h)
        XCTAssertEqual(Vectors.concat(all.packets, channels: 1, nQ: 2), codes)
        XCTAssertEqual(caught { _ = try StreamReader.decodeAll(Array(data.dropLast(3))) }?.kind, .truncatedPacket)
    }
}
