import Foundation

/// A decoder broke the call contract.
public enum DecodeLoopError: Error, Equatable, CustomStringConvertible {
    case shortAudio(samples: Int, expected: Int)
    case audioRows(rows: Int, expected: Int)
    case channelsMismatch(decoder: Int, manifest: Int)

    public var description: String {
        switch self {
        case let .shortAudio(samples, expected):
            return "the decoder returned \(samples) samples, expected at least \(expected)"
        case let .audioRows(rows, expected):
            return "the decoder returned \(rows) audio rows, expected \(expected)"
        case let .channelsMismatch(decoder, manifest):
            return "the decoder takes \(decoder) channels per call, its manifest says \(manifest)"
        }
    }
}

/// The decode thread's work: packets in, interleaved PCM into a `FloatRingBuffer`.
///
/// Each packet from the `PacketSource` becomes the steps of the one concealment policy
/// (`ConcealmentPlanner`): decode its frames; before it, conceal a short gap (frames that
/// repeat the last frame's codes, so the decoder state stays continuous) or, for a gap over
/// `maxConcealFrames`, a fade-out tail and a decoder reset, with the missing time not
/// inserted. `ConcealmentFades` gives every output sample its gain (half-cosine fade-out into
/// a gap, fade-in after it), so a gap neither clicks nor mutes hard. Packets the reader
/// dropped add nothing.
///
/// Frames are gathered into chunks of K = chunk_frames frames per channel. Each full chunk goes
/// through the `ChunkDecoder`, each channel carrying its own state from chunk to chunk; the
/// channels are interleaved (a mono stream is copied to every output channel) and written to
/// the ring.
///
/// Calls per chunk: the decoder takes C channels per call (planar rows, the manifest's
/// `channels`), the stream has S. Call i of a chunk carries stream channels iC ..< iC + C with a
/// state of its own, so S == C is one call (a stereo artifact decodes a stereo chunk in one
/// call) and C = 1, S = 2 two calls, one state per channel. C = 2, S = 1 puts the mono codes in
/// both rows and plays row 0: one call, but a stereo call's cost (gmacs_per_s is per channel, so
/// twice a mono artifact's); a mono artifact is the cheaper one for mono streams. A partial chunk is
/// padded with code 0 and only its real frames kept, at the end of the stream and before a
/// reset (the state then starts again from its initial value). The audio is cut to
/// total_samples when the header knows it (as `tqcodec decode` does).
///
/// When the ring is full the loop sleeps in `FloatRingBuffer.waitForSpace` until the audio
/// side has made room for a chunk (`fullWaitTimeout` is only a safety net), so a paused or
/// full player costs no wake-ups.
///
/// A `SeekPlan` starts the loop mid-stream: the source must deliver from its start packet,
/// and the pre-roll samples before the target are decoded and dropped.
///
/// `run()` returns at the end of the stream, on `stop()`, or on an error, which `failure` then
/// holds; in every case it closes the ring so the consumer can drain it. Run it on a thread of
/// its own (it blocks on the source and on a full ring). `stop()` wakes a wait for room but
/// cannot interrupt a source blocked in a read: cancel the source too.
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
    private let fullWaitTimeout: TimeInterval
    private let seek: SeekPlan?

    private let stopRequested = AtomicFlag()
    private let done = AtomicFlag()
    private var failureValue: Error? // written before `done` is set, read after
    private let headerLock = NSLock()
    private var headerValue: StreamHeader?

    // decode-thread state
    private var channels = 0
    private var nQ = 0
    private var planner = ConcealmentPlanner(framesPerPacket: 1, hopLength: 1)
    private var fades = ConcealmentFades()
    private var callChannels = 1            // C, the decoder's rows per call
    private var pending: [CodeChunk] = []   // per call: the chunk being gathered, C rows
    private var gains: [Float] = []         // per sample of the chunk: the concealment gain
    private var fill = 0
    private var lastFrame: [Int32] = []     // [channel * nQ + q]: the last frame played
    private var states: [Backend.State] = [] // per call
    private var audio: [[Float]] = []        // per channel, the last chunk's audio
    private var interleaved: [Float] = []
    private var samplesLeft = Int.max       // per channel, before the cut at total_samples
    private var samplesToDrop = 0           // per channel: a seek's pre-roll still to drop

    /// - Parameters:
    ///   - chunkFrames: K, frames per decoder call; `hop`: samples per frame.
    ///   - manifest: when given, each stream is checked to fit the model first.
    ///   - outputChannels: interleaved channels written to the ring: the stream's count, or any for mono.
    ///   - trimToTotalSamples: cut the audio at total_samples (turn off for a source that joins
    ///     mid-stream at an unknown point).
    ///   - seek: where the source starts (its first packet is `seek.startPacket`) and the pre-roll to drop.
    ///   - fullWaitTimeout: the longest single sleep while the ring is full (a safety net: a
    ///     read that makes room wakes the loop at once).
    public init(source: any PacketSource, decoder: Backend, ring: FloatRingBuffer, chunkFrames: Int, hop: Int,
                manifest: Manifest? = nil, outputChannels: Int = 2, stats: PlayerStats = PlayerStats(),
                trimToTotalSamples: Bool = true, seek: SeekPlan? = nil, fullWaitTimeout: TimeInterval = 0.25) {
        precondition(chunkFrames >= 1 && hop >= 1, "chunkFrames and hop must be positive")
        precondition(outputChannels >= 1, "outputChannels must be positive")
        precondition(fullWaitTimeout > 0, "fullWaitTimeout must be positive")
        self.source = source
        self.decoder = decoder
        self.ring = ring
        self.chunkFrames = chunkFrames
        self.hop = hop
        self.manifest = manifest
        self.outputChannels = outputChannels
        self.stats = stats
        self.trimToTotalSamples = trimToTotalSamples
        self.seek = seek
        self.fullWaitTimeout = fullWaitTimeout
        stats.attach(ring: ring, channels: outputChannels)
    }

    /// Chunk size and hop from the manifest, which also checks that each stream fits the model.
    public convenience init(source: any PacketSource, decoder: Backend, ring: FloatRingBuffer, manifest: Manifest,
                            outputChannels: Int = 2, stats: PlayerStats = PlayerStats(),
                            trimToTotalSamples: Bool = true, seek: SeekPlan? = nil,
                            fullWaitTimeout: TimeInterval = 0.25) {
        self.init(source: source, decoder: decoder, ring: ring, chunkFrames: manifest.chunkFrames, hop: manifest.hop,
                  manifest: manifest, outputChannels: outputChannels, stats: stats,
                  trimToTotalSamples: trimToTotalSamples, seek: seek, fullWaitTimeout: fullWaitTimeout)
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
        ring.wakeProducer()
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
        if let manifest, manifest.channels != decoder.channels {
            throw DecodeLoopError.channelsMismatch(decoder: decoder.channels, manifest: manifest.channels)
        }
        try manifest?.checkCompatible(h)
        guard h.hopLength == hop else {
            throw TQCError(.invalidArgument, "stream hop_length \(h.hopLength) differs from the decoder's hop \(hop)")
        }
        guard h.channels == outputChannels || h.channels == 1 else {
            throw TQCError(.invalidArgument, "cannot play \(h.channels) channels on \(outputChannels) output channels")
        }
        try start(h)
        while !stopRequested.isSet {
            let next = try source.next()
            stats.set(.streamEvents, source.eventCount)
            stats.set(.bytesReceived, source.bytesReceived)
            guard let packet = next else {
                try flush()
                break
            }
            stats.add(.damagedPackets, packet.lostBefore)
            for step in planner.steps(for: packet) where !stopRequested.isSet {
                try perform(step, packet)
            }
            stats.add(.packetsDecoded, 1)
            stats.add(.packetBytes, packet.byteCount)
            stats.add(.packetFrames, packet.frames)
        }
    }

    private func perform(_ step: ConcealmentPlanner.Step, _ packet: Packet) throws {
        fades.begin(step, hop: hop)
        switch step {
        case let .conceal(frames):
            stats.add(.concealedFrames, frames)
            for _ in 0..<frames where !stopRequested.isSet {
                try append(lastFrame)
            }
        case .reset:
            try flush()
            states = try freshStates()
            stats.add(.decoderResets, 1)
        case let .decode(_, frames):
            for f in 0..<frames where !stopRequested.isSet {
                for c in 0..<channels {
                    for q in 0..<nQ {
                        lastFrame[c * nQ + q] = packet[c, q, f]
                    }
                }
                try append(lastFrame)
            }
        }
    }

    private func start(_ h: StreamHeader) throws {
        headerLock.lock()
        headerValue = h
        headerLock.unlock()
        channels = h.channels
        nQ = h.nQ
        planner = ConcealmentPlanner(header: h)
        fades = ConcealmentFades()
        callChannels = decoder.channels
        precondition(callChannels >= 1, "a decoder takes at least one channel per call")
        let calls = (channels + callChannels - 1) / callChannels
        pending = Array(repeating: CodeChunk(channels: callChannels, nQ: nQ, frames: chunkFrames), count: calls)
        gains = Array(repeating: 1, count: chunkFrames * hop)
        lastFrame = Array(repeating: 0, count: channels * nQ)
        states = try freshStates()
        audio = Array(repeating: [], count: channels)
        interleaved = Array(repeating: 0, count: chunkFrames * hop * outputChannels)
        let firstSample = seek?.startSample ?? 0 // the pre-roll before it is dropped, not counted
        if trimToTotalSamples, let total = h.totalSamples {
            samplesLeft = max(0, Int(clamping: total) - firstSample)
        } else {
            samplesLeft = Int.max
        }
        samplesToDrop = seek?.dropSamples ?? 0
        stats.setStream(h, startSample: seek?.startSample ?? 0)
    }

    private func freshStates() throws -> [Backend.State] {
        var fresh: [Backend.State] = []
        for _ in pending.indices { // call 0 (channel 0) first
            fresh.append(try decoder.makeInitialState())
        }
        return fresh
    }

    /// The stream channel row `row` of call `call` carries (a row past the stream's channels
    /// repeats its last channel and is not played).
    private func streamChannel(call: Int, row: Int) -> Int {
        min(call * callChannels + row, channels - 1)
    }

    private func append(_ frame: [Int32]) throws {
        for i in pending.indices {
            for r in 0..<callChannels {
                let c = streamChannel(call: i, row: r)
                for q in 0..<nQ {
                    pending[i][r, q, fill] = frame[c * nQ + q]
                }
            }
        }
        for i in (fill * hop)..<((fill + 1) * hop) {
            gains[i] = fades.next()
        }
        fill += 1
        if fill == chunkFrames {
            try decodeChunk(realFrames: chunkFrames)
        }
    }

    /// Pad the partial chunk with code 0 (as the offline decoder does) and keep its frames.
    private func flush() throws {
        guard fill > 0 else {
            return
        }
        let frames = fill
        for f in fill..<chunkFrames {
            for i in pending.indices {
                for r in 0..<callChannels {
                    for q in 0..<nQ {
                        pending[i][r, q, f] = 0
                    }
                }
            }
        }
        try decodeChunk(realFrames: frames)
    }

    private func decodeChunk(realFrames: Int) throws {
        let samples = chunkFrames * hop
        let started = DispatchTime.now().uptimeNanoseconds
        for i in pending.indices {
            let out = try decoder.decode(codes: pending[i], state: states[i])
            guard out.audio.count == callChannels else {
                throw DecodeLoopError.audioRows(rows: out.audio.count, expected: callChannels)
            }
            for (r, row) in out.audio.enumerated() {
                guard row.count >= samples else {
                    throw DecodeLoopError.shortAudio(samples: row.count, expected: samples)
                }
                if i * callChannels + r < channels { // a row past the stream's channels is a copy: not played
                    audio[i * callChannels + r] = row // a value: the decoder cannot change it behind our back
                }
            }
            states[i] = out.state
        }
        stats.recordChunk(nanoseconds: Int(DispatchTime.now().uptimeNanoseconds - started), frames: realFrames)
        fill = 0

        let real = realFrames * hop
        let dropped = min(samplesToDrop, real)
        samplesToDrop -= dropped
        let n = min(real - dropped, samplesLeft)
        samplesLeft -= n
        var k = 0
        for i in dropped..<(dropped + n) {
            let gain = gains[i]
            for o in 0..<outputChannels {
                interleaved[k] = gain * audio[channels == 1 ? 0 : o][i]
                k += 1
            }
        }
        writeAll(count: k)
    }

    /// Write `interleaved[0..<count]`, sleeping while the ring is full.
    private func writeAll(count: Int) {
        var offset = 0
        while offset < count && !stopRequested.isSet {
            offset += ring.write(interleaved, range: offset..<count)
            if offset < count {
                ring.waitForSpace(count - offset, timeout: fullWaitTimeout)
            }
        }
    }
}
