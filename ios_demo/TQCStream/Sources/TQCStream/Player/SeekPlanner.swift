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
    public static let defaultPrerollFrames = 128

    public let header: StreamHeader
    public let prerollFrames: Int

    public init(header: StreamHeader, prerollFrames: Int = SeekPlanner.defaultPrerollFrames) {
        precondition(prerollFrames >= 0, "prerollFrames must not be negative")
        self.header = header
        self.prerollFrames = prerollFrames
    }

    /// The plan for time `seconds`.
    /// - Throws: `invalid_argument` for a negative or non-finite time, or one at or past the end
    ///   of a stream of known length (the spec's rule; the Java `SeekPlanner` and Python
    ///   `seek_point` refuse the same). A caller with a slider clamps into [0, duration) itself.
    public func plan(seconds: Double) throws -> SeekPlan {
        guard seconds.isFinite, seconds >= 0 else {
            throw TQCError(.invalidArgument, "a start time must be a finite number of seconds >= 0, got \(seconds)")
        }
        let frame = (seconds * Double(header.sampleRate) / Double(header.hopLength)).rounded(.down)
        if let frames = header.frameCount, frame >= Double(frames) {
            let shown = frame < 1e18 ? String(Int(frame)) : "\(frame)"
            throw TQCError(.invalidArgument, "cannot start at \(seconds) s (frame \(shown)): the stream has \(frames) "
                + "frames (\(Double(header.totalSamples ?? 0) / Double(header.sampleRate)) s)")
        }
        // a live stream has no end, but a frame past Int (2^63, exact as a Double) is no position
        guard frame < Double(Int.max) else {
            throw TQCError(.invalidArgument, "cannot start at \(seconds) s (frame \(frame)): "
                + "past any representable stream position")
        }
        return try plan(targetFrame: Int(frame))
    }

    /// The plan for target frame `targetFrame` (f).
    /// - Throws: `invalid_argument` for a negative frame, one at or past the stream's frame
    ///   count, ceil(total_samples / hop_length), when the header knows it, or (a live stream) one
    ///   whose first sample f · hop or byte offset does not fit in an `Int`.
    public func plan(targetFrame: Int) throws -> SeekPlan {
        guard targetFrame >= 0 else {
            throw TQCError(.invalidArgument, "a target frame must not be negative, got \(targetFrame)")
        }
        if let frames = header.frameCount, UInt64(targetFrame) >= frames {
            throw TQCError(.invalidArgument, "cannot start at frame \(targetFrame): the stream has \(frames) frames")
        }
        let f = targetFrame
        // startSample is f · hop: refuse rather than trap (dropSamples ≤ f · hop then fits too)
        guard !f.multipliedReportingOverflow(by: header.hopLength).overflow else {
            throw TQCError(.invalidArgument, "cannot start at frame \(f): its first sample (frame × hop "
                + "\(header.hopLength)) does not fit in a 64-bit integer")
        }
        let fpp = header.framesPerPacket
        let k = max(0, f - prerollFrames) / fpp // floor: both operands are non-negative here
        return SeekPlan(targetFrame: f, startPacket: k, byteOffset: try header.packetOffset(k),
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
