import Foundation

/// Where decoding starts to play from time t (docs/bitstream.md, "Seeking: pre-roll with state
/// from zero"), the same rule as `tqcodec decode --start` and the Java player.
///
/// The target frame is f = floor(t · sample_rate / hop_length). Decoding starts at packet
/// k = max(0, floor((f − preroll) / frames_per_packet)) with the decoder state at its initial
/// value, so the model has `preroll` frames to settle before the target; the first
/// (f − k · frames_per_packet) · hop samples of output are dropped, and playing starts at
/// sample f · hop.
public struct SeekPlanner: Sendable {
    /// Frames decoded and dropped before a seek target, until the shared vectors' `policy`
    /// block says otherwise (`tqcodec/concealment.py: SEEK_PREROLL_FRAMES`).
    public static let defaultPrerollFrames = 64

    public let header: StreamHeader
    public let prerollFrames: Int

    public init(header: StreamHeader, prerollFrames: Int = SeekPlanner.defaultPrerollFrames) {
        precondition(prerollFrames >= 0, "prerollFrames must not be negative")
        self.header = header
        self.prerollFrames = prerollFrames
    }

    /// The plan for time `seconds` (clamped to [0, the stream's length] when the header knows it).
    /// - Throws: `invalid_argument` for a time that is not a finite number.
    public func plan(seconds: Double) throws -> SeekPlan {
        guard seconds.isFinite else {
            throw TQCError(.invalidArgument, "seek time must be a finite number of seconds, got \(seconds)")
        }
        let frame = (max(0, seconds) * Double(header.sampleRate) / Double(header.hopLength)).rounded(.down)
        return plan(targetFrame: frame >= Double(Int.max / 2) ? Int.max / 2 : Int(frame))
    }

    /// The plan for a target frame (clamped to [0, the stream's frame count] when known).
    public func plan(targetFrame: Int) -> SeekPlan {
        var f = max(0, targetFrame)
        if let frames = header.frameCount, UInt64(f) > frames {
            f = Int(frames)
        }
        let fpp = header.framesPerPacket
        let k = max(0, f - prerollFrames) / fpp // floor: both operands are non-negative here
        return SeekPlan(targetFrame: f, startPacket: k, byteOffset: header.packetOffset(k),
                        dropSamples: (f - k * fpp) * header.hopLength, hopLength: header.hopLength)
    }
}

/// One seek, planned: where to start reading and how much of the output to drop.
public struct SeekPlan: Equatable, Sendable {
    /// f, the frame playing starts at.
    public let targetFrame: Int
    /// k, the packet decoding starts at (state from zero).
    public let startPacket: Int
    /// The stream offset of packet k in a file (`packet_offset(header, k)`).
    public let byteOffset: Int
    /// Samples per channel decoded from packet k and dropped: (f − k · frames_per_packet) · hop.
    public let dropSamples: Int
    public let hopLength: Int

    /// The first sample played, f · hop (per channel, from the start of the stream).
    public var startSample: Int {
        targetFrame * hopLength
    }

    /// Packet k's sequence number on the wire (16 bits, wrapping).
    public var firstSequence: Int {
        startPacket & (StreamReader.sequenceModulus - 1)
    }

    /// A streaming-mode reader that joins the stream at packet k: header known, offsets true
    /// file positions, packet k's sequence number expected first.
    public func reader(header: StreamHeader, expectedFingerprint: [UInt8]? = nil, path: String? = nil,
                       onEvent: ((TQCError) -> Void)? = nil) throws -> StreamReader {
        try StreamReader(strict: false, header: header, expectedFingerprint: expectedFingerprint,
                         firstSequence: firstSequence, offset: byteOffset, path: path, onEvent: onEvent)
    }
}
