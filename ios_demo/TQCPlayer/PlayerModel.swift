import CoreML
import Foundation
import TQCStream

/// The UI's state: which stream plays, how it goes (refreshed four times a second), and the
/// user's choice of Core ML compute units.
@MainActor
final class PlayerModel: ObservableObject {
    enum ComputeUnits: String, CaseIterable, Identifiable {
        case all = "All"
        case cpuAndNeuralEngine = "CPU + Neural Engine"
        case cpuAndGPU = "CPU + GPU"
        case cpuOnly = "CPU only"

        var id: String {
            rawValue
        }

        var mlComputeUnits: MLComputeUnits {
            switch self {
            case .all: return .all
            case .cpuAndNeuralEngine: return .cpuAndNeuralEngine
            case .cpuAndGPU: return .cpuAndGPU
            case .cpuOnly: return .cpuOnly
            }
        }
    }

    @Published private(set) var status = "Pick a stream."
    @Published private(set) var nowPlaying = ""
    @Published private(set) var decoderInfo = ""
    @Published private(set) var snapshot: PlayerStats.Snapshot?
    @Published private(set) var state = PlayerStateMachine.State.idle
    @Published var remoteURLText = ""
    @Published var computeUnits = ComputeUnits.all

    /// Every decision (pause on a call, resume, restart the engine, seek) is the state
    /// machine's; this class carries out its actions and forwards platform events to it.
    private var machine = PlayerStateMachine()
    private var origin: StreamOrigin?
    private var header: StreamHeader? // of the current stream: a seek needs it
    private var session: PlaybackSession?
    private var refreshTask: Task<Void, Never>?
    private var generation = 0
    private var sessionEvents: AudioSessionEvents?
    private var nowPlayingCenter: NowPlaying?

    var isPlaying: Bool {
        machine.isPlaying
    }

    var hasStream: Bool {
        machine.hasStream
    }

    func playBundledSample() {
        play(.bundledSample)
    }

    func playFile(_ url: URL) {
        play(.file(url))
    }

    func playRemote() {
        let text = remoteURLText.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            status = "Enter an http:// or https:// URL."
            return
        }
        play(.remote(url))
    }

    func report(_ error: Error) {
        status = Self.describe(error)
    }

    func play(_ origin: StreamOrigin) {
        if sessionEvents == nil { // the first stream: listen to the system from now on
            sessionEvents = AudioSessionEvents(send: { [weak self] in self?.send($0) },
                                               position: { [weak self] in self?.snapshot?.positionSeconds ?? 0 })
            nowPlayingCenter = NowPlaying { [weak self] in self?.send($0) }
        }
        self.origin = origin
        header = nil
        send(.play(at: nil))
    }

    func togglePlayPause() {
        send(.toggle)
    }

    func stop() {
        send(.stop)
    }

    /// Seek to a fraction of the stream's length (the slider).
    func seek(toFraction fraction: Double) {
        guard let duration = snapshot?.durationSeconds else {
            return
        }
        send(.seek(seconds: fraction * duration))
    }

    /// Feed the state machine and carry out what it decides.
    func send(_ event: PlayerStateMachine.Event) {
        for action in machine.handle(event) {
            perform(action)
        }
        state = machine.state
        showState()
    }

    private func perform(_ action: PlayerStateMachine.Action) {
        switch action {
        case let .load(seconds):
            load(at: seconds)
        case .startOutput:
            do {
                try session?.startOutput()
            } catch {
                send(.error(Self.describe(error)))
            }
        case .pauseOutput:
            session?.pauseOutput()
        case .restartOutput:
            do {
                try session?.restartOutput()
            } catch {
                send(.error(Self.describe(error)))
            }
        case .stopOutput:
            tearDown()
        }
    }

    private func load(at seconds: Double?) {
        guard let origin else {
            return
        }
        generation += 1
        let ticket = generation
        let units = computeUnits.mlComputeUnits
        let header = self.header
        Task {
            do {
                let decoder = try await DecoderModelStore.shared.decoder(computeUnits: units) // loaded once
                var plan: SeekPlan? // a seek needs the header of the stream it seeks in
                if let seconds, let header {
                    plan = try Self.seekPlan(to: seconds, header: header)
                }
                let input = try StreamInput.make(origin, expectedFingerprint: decoder.manifest.fingerprint, seek: plan,
                                                 header: header)
                let session = try PlaybackSession(decoder: decoder, input: input, seek: plan)
                guard ticket == generation else {
                    return // stopped, or another stream or seek came meanwhile
                }
                session.onConfigurationChange = { [weak self] in
                    MainActor.assumeIsolated { self?.send(.engineConfigurationChanged) }
                }
                session.startDecoding()
                self.session = session
                nowPlaying = input.name
                decoderInfo = decoder.summary
                startRefreshing()
                send(.ready)
            } catch {
                if ticket == generation {
                    send(.error(Self.describe(error)))
                }
            }
        }
    }

    /// The plan for a seek from the slider or the lock screen, with the time clamped into
    /// [0, duration) first: the planner refuses a negative or non-finite time and one at or past
    /// the end (docs/bitstream.md, "Seeking"), but a slider dragged to either end means the start
    /// or the last frame. Nil for an empty stream: nothing to seek in, it plays from the start.
    static func seekPlan(to seconds: Double, header: StreamHeader) throws -> SeekPlan? {
        var t = seconds > 0 ? seconds : 0 // negative, −0 and NaN: the start
        if let frames = header.frameCount {
            guard frames > 0 else {
                return nil
            }
            // the last frame's first sample, (frames − 1) · hop < total_samples: inside [0, duration)
            t = min(t, Double(frames - 1) * Double(header.hopLength) / Double(header.sampleRate))
        }
        return try SeekPlanner(header: header).plan(seconds: t)
    }

    private func tearDown() {
        generation += 1 // a load still in flight is dropped
        refreshTask?.cancel()
        refreshTask = nil
        if let session {
            header = session.header ?? header
            session.stop()
            snapshot = session.stats.snapshot()
        }
        session = nil
    }

    private func startRefreshing() {
        refreshTask?.cancel()
        refreshTask = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: 250_000_000)
                guard let self else {
                    return
                }
                self.refresh()
            }
        }
    }

    private func refresh() {
        guard let session else {
            return
        }
        snapshot = session.stats.snapshot()
        header = session.header ?? header
        if let failure = session.failure {
            send(.error(Self.describe(failure)))
        } else if session.isFinished {
            send(.endOfStream)
        } else {
            showState()
        }
    }

    /// The status line and the lock screen, from the machine's state (never "Playing" over silence).
    private func showState() {
        switch machine.state {
        case .idle: status = "Pick a stream."
        case .loading: status = "Loading…"
        case .playing: status = (session?.isBuffering ?? true) ? "Buffering…" : "Playing"
        case .paused: status = "Paused"
        case .interrupted: status = "Interrupted (call, alarm…)"
        case .stopped: status = "Stopped."
        case .finished: status = "Finished."
        case let .failed(message): status = "Stopped: \(message)"
        }
        if machine.hasStream {
            nowPlayingCenter?.update(title: nowPlaying, snapshot: snapshot, isPlaying: machine.isPlaying)
        } else {
            nowPlayingCenter?.clear()
        }
    }

    static func describe(_ error: Error) -> String {
        (error as? LocalizedError)?.errorDescription ?? "\(error)"
    }
}
