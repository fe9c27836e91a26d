/// The one concealment policy for damaged streams (docs/bitstream.md, "Playing a damaged
/// stream: the concealment policy"), shared with `tqcodec/concealment.py` and the Java player.
///
/// A stream's sequence numbers cannot be trusted (two CRC-valid packets numbered 0 and 32767
/// claim a gap of over 3 hours at 255 frames per packet), so a gap is filled only up to
/// `maxConcealFrames`; a longer one gets a short fade-out tail and a decoder reset, and the
/// missing time is not inserted. Every packet therefore adds at most
/// `framesPerPacket + maxConcealFrames` frames of output, whatever it claims.
///
/// Pure: a packet's steps depend only on its `lostBefore`, its frames and the stream's
/// `frames_per_packet` and `hop_length`. Packets the reader dropped (out of order, code out of
/// range) are never seen here and add nothing.
public struct ConcealmentPlanner: Sendable {
    /// Longest gap filled with concealment: 256 frames (371 ms at 689 frames/s).
    public static let maxConcealFrames = 256
    /// Length of every fade-out and fade-in: 256 samples (5.8 ms at 44.1 kHz).
    public static let fadeSamples = 256

    /// One step of a plan, as the shared vectors write it: `["decode", seq, frames]`,
    /// `["conceal", frames]`, `["reset"]`.
    public enum Step: Equatable, Sendable, CustomStringConvertible {
        /// Decode the packet's frames.
        case decode(sequence: Int, frames: Int)
        /// Feed `frames` frames repeating the last frame's codes; their audio fades out to silence.
        case conceal(frames: Int)
        /// Return the decoder state to its initial value.
        case reset

        /// Output frames the step adds.
        public var outputFrames: Int {
            switch self {
            case let .decode(_, frames), let .conceal(frames): return frames
            case .reset: return 0
            }
        }

        public var description: String {
            switch self {
            case let .decode(sequence, frames): return "[\"decode\", \(sequence), \(frames)]"
            case let .conceal(frames): return "[\"conceal\", \(frames)]"
            case .reset: return "[\"reset\"]"
            }
        }
    }

    public let framesPerPacket: Int
    public let hopLength: Int

    public init(framesPerPacket: Int, hopLength: Int) {
        precondition(framesPerPacket >= 1 && hopLength >= 1, "framesPerPacket and hopLength must be positive")
        self.framesPerPacket = framesPerPacket
        self.hopLength = hopLength
    }

    public init(header: StreamHeader) {
        self.init(framesPerPacket: header.framesPerPacket, hopLength: header.hopLength)
    }

    /// Frames of fade-out tail before a reset: `fadeSamples / hop`, rounded up.
    public var fadeTailFrames: Int {
        (ConcealmentPlanner.fadeSamples + hopLength - 1) / hopLength
    }

    /// The steps for one delivered packet: what a live player does when it arrives.
    public func steps(sequence: Int, frames: Int, lostBefore: Int) -> [Step] {
        let decode = Step.decode(sequence: sequence, frames: frames)
        // lostBefore < 32768 and framesPerPacket <= 255: the product cannot overflow
        let gap = lostBefore * framesPerPacket
        if gap == 0 {
            return [decode]
        }
        if gap <= ConcealmentPlanner.maxConcealFrames {
            return [.conceal(frames: gap), decode]
        }
        return [.conceal(frames: fadeTailFrames), .reset, decode]
    }

    public func steps(for packet: Packet) -> [Step] {
        steps(sequence: packet.sequence, frames: packet.frames, lostBefore: packet.lostBefore)
    }

    /// The whole plan of a delivered packet sequence and its output length in frames (before
    /// any total_samples cap): the `concealment` field of tests/vectors/manifest.json.
    public func plan<Packets: Sequence>(_ packets: Packets) -> (steps: [Step], outputFrames: Int)
        where Packets.Element == Packet {
        let steps = packets.flatMap { self.steps(for: $0) }
        return (steps, steps.reduce(0) { $0 + $1.outputFrames })
    }
}
