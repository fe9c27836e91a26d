import Foundation

/// A decoder broke the call contract.
public enum DecodeLoopError: Error, Equatable, CustomStringConvertible {
    case shortAudio(samples: Int, expected: Int)

    public var description: String {
        switch self {
        case let .shortAudio(samples, expected):
            return "the decoder returned \(samples) samples, expected at least \(expected)"
        }
    }
}

/// The decode thread's work: packets in, interleaved PCM into a `FloatRingBuffer`.
///
/// Frames from the `PacketSource` are gathered into chunks of K = chunk_frames frames per
/// channel. Each full chunk goes through the `ChunkDecoder` once per channel, each channel
/// carrying its own state from chunk to chunk (a stereo stream has two independent state
/// sets); the channels are interleaved (a mono stream is copied to every output channel) and
/// written to the ring, waiting while it is full. At the end, a last partial chunk is padded
/// with code 0 and only its real frames are kept, and the audio is cut to total_samples when
/// the header knows it (as `tqcodec decode` does).
///
/// **Concealment**, as `tqcodec decode --lenient` and the Java `DecodeLoop` do it: before a
/// packet with `lostBefore = n`, `n · frames_per_packet` frames are inserted that repeat the
/// last good frame's codes (zeros before any), so the decoder state stays continuous, and their
/// audio is muted. The number of missing packets is also read from the sequence numbers of
/// consecutive packets: a packet the reader dropped as `code_out_of_range` leaves a hole in the
/// numbering without a `lostBefore`, and is concealed too. Damaged packets are never decoded
/// (the reader does not deliver them); every good packet is, in order.
///
/// `run()` returns at the end of the stream, on `stop()`, or on an error, which `failure` then
/// holds; in every case it closes the ring so the consumer can drain it. Run it on a thread of
/// its own (it blocks on the source and on a full ring). `stop()` cannot interrupt a source
/// blocked in a read: cancel the source too.
public final class DecodeLoop<Backend: ChunkDecoder>: @unchecked Sendable {
    public let stats: PlayerStats
    private let source: any PacketSource
    private let decoder: Backend
    private let ring: FloatRingBuffer
    private let chunkFrames: Int
    private let hop: Int
    private let outputChannels: Int
    private let manifest: Manifest?
    private let trimToTotalSamples: Bool
    private let fullWait: TimeInterval

    private let stopRequested = AtomicFlag()
    private let done = AtomicFlag()
    private var failureValue: Error? // written before `done` is set, read after
    private let headerLock = NSLock()
    private var headerValue: StreamHeader?

    // decode-thread state
    private var channels = 0
    private var nQ = 0
    private var framesPerPacket = 0
    private var pending: [CodeChunk] = []   // per channel: the chunk being gathered
    private var muted: [Bool] = []          // per frame of the chunk: concealed
    private var fill = 0
    private var lastFrame: [Int32] = []     // [channel * nQ + q]: the last good frame
    private var states: [Backend.State] = [] // per channel
    private var audio: [[Float]] = []        // per channel, the last chunk's audio
    private var interleaved: [Float] = []
    private var samplesLeft = Int.max       // per channel, before the cut at total_samples

    /// - Parameters:
    ///   - chunkFrames: K, frames per decoder call; `hop`: samples per frame.
    ///   - manifest: when given, each stream is checked to fit the model first.
    ///   - outputChannels: interleaved channels written to the ring: the stream's count, or any for mono.
    ///   - trimToTotalSamples: cut the audio at total_samples (turn off for a source that joins mid-stream).
    ///   - fullWait: how long the producer sleeps when the ring is full.
    public init(source: any PacketSource, decoder: Backend, ring: FloatRingBuffer, chunkFrames: Int, hop: Int,
                manifest: Manifest? = nil, outputChannels: Int = 2, stats: PlayerStats = PlayerStats(),
                trimToTotalSamples: Bool = true, fullWait: TimeInterval = 0.001) {
        precondition(chunkFrames >= 1 && hop >= 1, "chunkFrames and hop must be positive")
        precondition(outputChannels >= 1, "outputChannels must be positive")
        self.source = source
        self.decoder = decoder
        self.ring = ring
        self.chunkFrames = chunkFrames
        self.hop = hop
        self.manifest = manifest
        self.outputChannels = outputChannels
        self.stats = stats
        self.trimToTotalSamples = trimToTotalSamples
        self.fullWait = fullWait
        stats.attach(ring: ring, channels: outputChannels)
    }

    /// Chunk size and hop from the manifest, which also checks that each stream fits the model.
    public convenience init(source: any PacketSource, decoder: Backend, ring: FloatRingBuffer, manifest: Manifest,
                            outputChannels: Int = 2, stats: PlayerStats = PlayerStats(),
                            trimToTotalSamples: Bool = true, fullWait: TimeInterval = 0.001) {
        self.init(source: source, decoder: decoder, ring: ring, chunkFrames: manifest.chunkFrames, hop: manifest.hop,
                  manifest: manifest, outputChannels: outputChannels, stats: stats,
                  trimToTotalSamples: trimToTotalSamples, fullWait: fullWait)
    }

    /// The stream's header once the loop has it.
    public var header: StreamHeader? {
        headerLock.lock()
        defer { headerLock.unlock() }
        return headerValue
    }

    /// Ask the loop to end after the current chunk; it then closes the ring.
    public func stop() {
        stopRequested.set()
    }

    /// True once `run()` has returned.
    public var isDone: Bool {
        done.isSet
    }

    /// The error that ended the loop (`TQCError` for stream problems), once `run()` has returned.
    public var failure: Error? {
        done.isSet ? failureValue : nil
    }

    /// Decode the whole stream (blocking); see the type's documentation.
    public func run() {
        defer {
            ring.close()
            done.set()
        }
        do {
            try loop()
        } catch {
            failureValue = error
        }
    }

    private func loop() throws {
        let h = try source.header()
        try manifest?.checkCompatible(h)
        guard h.hopLength == hop else {
            throw TQCError(.invalidArgument, "stream hop_length \(h.hopLength) differs from the decoder's hop \(hop)")
        }
        guard h.channels == outputChannels || h.channels == 1 else {
            throw TQCError(.invalidArgument, "cannot play \(h.channels) channels on \(outputChannels) output channels")
        }
        try start(h)
        var lastSequence: Int?
        while !stopRequested.isSet {
            let next = try source.next()
            stats.set(.streamEvents, source.eventCount)
            stats.set(.bytesReceived, source.bytesReceived)
            guard let packet = next else {
                try flush()
                break
            }
            var lost = packet.lostBefore
            if let last = lastSequence {
                let hole = StreamReader.wrap(packet.sequence - last - 1)
                if hole < StreamReader.halfSequence && hole > lost {
                    lost = hole
                }
            }
            if lost > 0 {
                stats.add(.damagedPackets, lost)
                try conceal(frames: lost * framesPerPacket)
            }
            for f in 0..<packet.frames {
                if stopRequested.isSet {
                    break
                }
                for c in 0..<channels {
                    for q in 0..<nQ {
                        lastFrame[c * nQ + q] = packet[c, q, f]
                    }
                }
                try append(lastFrame, muted: false)
            }
            lastSequence = packet.sequence
            stats.add(.packetsDecoded, 1)
            stats.add(.packetBytes, packet.byteCount)
            stats.add(.packetFrames, packet.frames)
        }
    }

    private func start(_ h: StreamHeader) throws {
        headerLock.lock()
        headerValue = h
        headerLock.unlock()
        channels = h.channels
        nQ = h.nQ
        framesPerPacket = h.framesPerPacket
        pending = Array(repeating: CodeChunk(nQ: nQ, frames: chunkFrames), count: channels)
        muted = Array(repeating: false, count: chunkFrames)
        lastFrame = Array(repeating: 0, count: channels * nQ)
        var fresh: [Backend.State] = []
        for _ in 0..<channels { // channel 0 first
            fresh.append(try decoder.makeInitialState())
        }
        states = fresh
        audio = Array(repeating: [], count: channels)
        interleaved = Array(repeating: 0, count: chunkFrames * hop * outputChannels)
        if trimToTotalSamples, let total = h.totalSamples {
            samplesLeft = Int(clamping: total)
        } else {
            samplesLeft = Int.max
        }
        stats.setStream(h)
    }

    private func conceal(frames: Int) throws {
        stats.add(.concealedFrames, frames)
        var k = 0
        while k < frames && !stopRequested.isSet {
            try append(lastFrame, muted: true)
            k += 1
        }
    }

    private func append(_ frame: [Int32], muted mute: Bool) throws {
        for c in 0..<channels {
            for q in 0..<nQ {
                pending[c][q, fill] = frame[c * nQ + q]
            }
        }
        muted[fill] = mute
        fill += 1
        if fill == chunkFrames {
            try decodeChunk(realFrames: chunkFrames)
        }
    }

    /// At the end: pad the partial chunk with code 0 (as the offline decoder does) and keep its frames.
    private func flush() throws {
        guard fill > 0 else {
            return
        }
        let frames = fill
        for f in fill..<chunkFrames {
            for c in 0..<channels {
                for q in 0..<nQ {
                    pending[c][q, f] = 0
                }
            }
            muted[f] = false
        }
        try decodeChunk(realFrames: frames)
    }

    private func decodeChunk(realFrames: Int) throws {
        let samples = chunkFrames * hop
        let started = DispatchTime.now().uptimeNanoseconds
        for c in 0..<channels {
            let out = try decoder.decode(codes: pending[c], state: states[c])
            guard out.audio.count >= samples else {
                throw DecodeLoopError.shortAudio(samples: out.audio.count, expected: samples)
            }
            audio[c] = out.audio // a value: the decoder cannot change it behind our back
            states[c] = out.state
        }
        stats.add(.decodeNanoseconds, Int(DispatchTime.now().uptimeNanoseconds - started))
        stats.add(.chunksDecoded, 1)
        stats.add(.decodedFrames, realFrames)

        let n = min(realFrames * hop, samplesLeft)
        samplesLeft -= n
        var k = 0
        for i in 0..<n {
            let silent = muted[i / hop]
            for o in 0..<outputChannels {
                interleaved[k] = silent ? 0 : audio[channels == 1 ? 0 : o][i]
                k += 1
            }
        }
        fill = 0
        for f in 0..<chunkFrames {
            muted[f] = false
        }
        writeAll(count: k)
    }

    private func writeAll(count: Int) {
        var offset = 0
        while offset < count && !stopRequested.isSet {
            let n = ring.write(interleaved, range: offset..<count)
            offset += n
            if n == 0 {
                Thread.sleep(forTimeInterval: fullWait)
            }
        }
    }
}
