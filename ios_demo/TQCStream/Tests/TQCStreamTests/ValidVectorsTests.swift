import XCTest
@testable import TQCStream

/// Every valid vector in tests/vectors/manifest.json decodes strictly, with its own fingerprint
/// expected, to exactly its JSON's header, packets and codes, however the bytes are split; and
/// writing its JSON gives back the file's bytes.
final class ValidVectorsTests: XCTestCase {
    func testEveryValidVectorDecodesToItsJSON() throws {
        let index = try Vectors.index()
        XCTAssertEqual(index.formatVersion, StreamHeader.formatVersion)
        XCTAssertFalse(index.valid.isEmpty)
        for name in index.valid {
            let vector = try Vectors.vector(name)
            let data = try Vectors.streamBytes(of: name, vector)
            let expectedHeader = try Vectors.header(vector.header)
            XCTAssertEqual(vector.header.version, StreamHeader.formatVersion, name)
            XCTAssertEqual(data.count, vector.size, name)
            for mode in FeedMode.allCases {
                let context = "\(name) (\(mode.rawValue))"
                let reader = try StreamReader(expectedFingerprint: expectedHeader.fingerprint)
                let packets = try Vectors.feedAll(reader, data, cuts: Vectors.cuts(mode, length: data.count,
                                                                                   seed: Vectors.seed(name)))
                XCTAssertEqual(reader.header, expectedHeader, context)
                XCTAssertEqual(packets.count, vector.packets.count, context)
                for (k, (got, want)) in zip(packets, vector.packets).enumerated() {
                    XCTAssertEqual(got.sequence, want.sequence, "\(context): sequence of packet \(k)")
                    XCTAssertEqual(got.offset, want.offset, "\(context): offset of packet \(k)")
                    XCTAssertEqual(got.frames, want.frames, "\(context): frames of packet \(k)")
                    XCTAssertEqual(got.lostBefore, 0, context)
                    XCTAssertEqual(got.offset, try expectedHeader.packetOffset(k), "\(context): seekable without an index")
                    XCTAssertEqual(got.byteCount, expectedHeader.packetSize(frames: got.frames), context)
                }
                let codes = Vectors.concat(packets, channels: expectedHeader.channels, nQ: expectedHeader.nQ)
                XCTAssertEqual(codes, vector.codes, context)
                XCTAssertEqual(codes.first?.first?.count, vector.frames, context)
                XCTAssertEqual(reader.framesRead, vector.frames, context)
                XCTAssertTrue(reader.events.isEmpty, context)
                XCTAssertEqual(reader.lostPackets, 0, context)
            }
            let rate = expectedHeader.bitrate
            assertClose(rate.streamBitsPerSecond, vector.bitrate.streamBps, name)
            assertClose(rate.streamBitsPerSecondPerChannel, vector.bitrate.streamBpsPerChannel, name)
            assertClose(rate.codeBitsPerSecond, vector.bitrate.codeBps, name)
            assertClose(rate.overhead, vector.bitrate.overhead, name)

            XCTAssertEqual(expectedHeader.encode(), Array(data.prefix(StreamHeader.size)), name)
            XCTAssertEqual(TestStreams.stream(expectedHeader, codes: vector.codes), data, "\(name): writing its JSON")
        }
    }

    private func assertClose(_ got: Double, _ want: Double, _ context: String, file: StaticString = #filePath,
                             line: UInt = #line) {
        XCTAssertLessThanOrEqual(abs(got - want), 1e-12 * max(1, abs(want)), "\(context): \(got) vs \(want)",
                                 file: file, line: line)
    }
}
