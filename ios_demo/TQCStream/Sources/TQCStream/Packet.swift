/// One good packet, as a `StreamReader` delivers it.
///
/// `codes` holds `[channels][nQ][frames]` flattened in that order: the code of channel `c`,
/// codebook `q`, frame `f` is `codes[(c * nQ + q) * frames + f]` (or `self[c, q, f]`).
/// `offset` is the stream offset of its sync word, `byteCount` its size on the wire, and
/// `lostBefore` the number of packets the reader found missing just before it (what a player
/// does about them is `ConcealmentPlanner`'s: at most 256 frames of concealment, whatever the
/// number claims).
public struct Packet: Equatable, Sendable {
    public let sequence: Int
    public let offset: Int
    public let channels: Int
    public let nQ: Int
    public let frames: Int
    public let byteCount: Int
    public let lostBefore: Int
    public let codes: [Int32]

    public init(sequence: Int, offset: Int, channels: Int, nQ: Int, frames: Int, codes: [Int32],
                lostBefore: Int = 0, byteCount: Int = 0) {
        precondition(codes.count == channels * nQ * frames, "codes must hold channels * nQ * frames values")
        self.sequence = sequence
        self.offset = offset
        self.channels = channels
        self.nQ = nQ
        self.frames = frames
        self.codes = codes
        self.lostBefore = lostBefore
        self.byteCount = byteCount
    }

    /// The code of channel `channel`, codebook `codebook`, frame `frame`.
    public subscript(channel: Int, codebook: Int, frame: Int) -> Int32 {
        codes[(channel * nQ + codebook) * frames + frame]
    }

    /// Every frame of one codebook of one channel.
    public func row(channel: Int, codebook: Int) -> ArraySlice<Int32> {
        let start = (channel * nQ + codebook) * frames
        return codes[start..<(start + frames)]
    }
}
