/// One exported decoder artifact, one channel at a time: K frames of codes plus that channel's
/// state in, K·hop samples plus the next state out (the manifest's call contract). The app
/// wraps Core ML in this (`CoreMLChunkDecoder`); tests use fakes.
///
/// `State` is whatever the backend carries between calls (Core ML: the model's float32
/// `MLMultiArray` outputs, fed back unchanged). The decode loop keeps one state per channel,
/// hands each call the state that the previous call for the same channel returned, and never
/// looks inside it. Calls come from one thread, the decode thread.
public protocol ChunkDecoder: AnyObject {
    associatedtype State

    /// A fresh state for one channel (the manifest's `state_init`: zeros).
    func makeInitialState() throws -> State

    /// Decode one chunk of one channel.
    /// - Parameters:
    ///   - codes: `[n_q][K]` codes of one channel (K = the manifest's chunk_frames).
    ///   - state: this channel's state from `makeInitialState()` or its previous call.
    /// - Returns: at least K·hop samples (the first K·hop are used) and the next state.
    func decode(codes: CodeChunk, state: State) throws -> (audio: [Float], state: State)
}

/// The codes of one chunk of one channel, `[n_q][frames]` row-major: `values[q * frames + k]`,
/// the layout of the model's `codes` input `[1, n_q, K]`.
public struct CodeChunk: Equatable, Sendable {
    public let nQ: Int
    public let frames: Int
    public var values: [Int32]

    public init(nQ: Int, frames: Int, values: [Int32]? = nil) {
        precondition(values == nil || values?.count == nQ * frames, "values must hold nQ * frames codes")
        self.nQ = nQ
        self.frames = frames
        self.values = values ?? [Int32](repeating: 0, count: nQ * frames)
    }

    public subscript(codebook: Int, frame: Int) -> Int32 {
        get { values[codebook * frames + frame] }
        set { values[codebook * frames + frame] = newValue }
    }

    /// The codes of one codebook across the chunk.
    public func row(_ codebook: Int) -> ArraySlice<Int32> {
        values[(codebook * frames)..<((codebook + 1) * frames)]
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
