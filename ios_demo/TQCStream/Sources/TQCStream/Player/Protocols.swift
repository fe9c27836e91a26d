/// One exported decoder artifact: one chunk of K frames for all of its `channels` C per call,
/// codes plus state in, K·hop samples per channel plus the next state out (the manifest's call
/// contract). A mono artifact is the case C = 1, so mono and stereo artifacts go through the
/// same code. The app wraps Core ML in this (`CoreMLChunkDecoder`); tests use fakes.
///
/// Layout is planar (`channel_layout`): channel c is row c of the codes, of the audio and of
/// every state tensor. `State` is whatever the backend carries between calls for its C channels
/// (Core ML: the model's float32 `MLMultiArray` outputs `[C, ...]`, fed back unchanged). The
/// decode loop keeps one state per call of a chunk, hands each call the state that the previous
/// call for the same channels returned, and never looks inside it. Calls come from one thread,
/// the decode thread.
public protocol ChunkDecoder: AnyObject {
    associatedtype State

    /// C, the channels one call decodes (the manifest's `channels`: 1 or 2).
    var channels: Int { get }

    /// A fresh state for the C channels of one call (the manifest's `state_init`: zeros).
    func makeInitialState() throws -> State

    /// Decode one chunk of C channels.
    /// - Parameters:
    ///   - codes: `[C][n_q][K]` codes (K = the manifest's chunk_frames), `codes.channels == C`.
    ///   - state: these channels' state from `makeInitialState()` or their previous call.
    /// - Returns: `[C][≥ K·hop]` audio, row c channel c (the first K·hop samples of each row are
    ///   used), and the next state.
    func decode(codes: CodeChunk, state: State) throws -> (audio: [[Float]], state: State)
}

/// The codes of one chunk, `[channels][n_q][frames]` row-major: `values[(c * nQ + q) * frames + k]`,
/// the layout of the model's `codes` input `[C, n_q, K]`.
public struct CodeChunk: Equatable, Sendable {
    public let channels: Int
    public let nQ: Int
    public let frames: Int
    public var values: [Int32]

    public init(channels: Int = 1, nQ: Int, frames: Int, values: [Int32]? = nil) {
        precondition(values == nil || values?.count == channels * nQ * frames,
                     "values must hold channels * nQ * frames codes")
        self.channels = channels
        self.nQ = nQ
        self.frames = frames
        self.values = values ?? [Int32](repeating: 0, count: channels * nQ * frames)
    }

    public subscript(channel: Int, codebook: Int, frame: Int) -> Int32 {
        get { values[(channel * nQ + codebook) * frames + frame] }
        set { values[(channel * nQ + codebook) * frames + frame] = newValue }
    }

    /// The codes of one codebook of one channel across the chunk.
    public func row(channel: Int, codebook: Int) -> ArraySlice<Int32> {
        let start = (channel * nQ + codebook) * frames
        return values[start..<(start + frames)]
    }
}

/// Where PCM goes in push-style audio APIs. Interleaved float samples, `channels` per frame.
/// Called from one thread, the audio thread: no method may block.
public protocol AudioSink: AnyObject {
    /// Samples per frame (2 for stereo).
    var channels: Int { get }

    /// Frames the sink accepts right now without blocking.
    func writableFrames() -> Int

    /// Write interleaved samples in [-1, 1] without blocking; `samples.count` is a multiple of
    /// `channels` and at most `writableFrames() * channels`.
    /// - Returns: samples written (a multiple of `channels`).
    func write(_ samples: UnsafeBufferPointer<Float>) -> Int
}

/// Where the decode loop gets packets: a file, a network stream, a test. Called from the decode
/// thread; `header()` and `next()` may block until bytes arrive.
public protocol PacketSource: AnyObject {
    /// The stream's header (may block until it has arrived).
    func header() throws -> StreamHeader

    /// The next good packet, in stream order, or nil at the end of the stream (may block).
    func next() throws -> Packet?

    /// Damage reports so far (streaming-mode events of the reader behind it).
    var eventCount: Int { get }

    /// Stream bytes taken in so far.
    var bytesReceived: Int { get }
}
