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
    @Published private(set) var isPlaying = false
    @Published var remoteURLText = ""
    @Published var computeUnits = ComputeUnits.all

    private var session: PlaybackSession?
    private var refreshTask: Task<Void, Never>?
    private var generation = 0

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
        stop()
        generation += 1
        let ticket = generation
        let units = computeUnits.mlComputeUnits
        status = "Loading the decoder…"
        Task {
            do {
                let session = try await Self.prepare(origin, computeUnits: units)
                guard ticket == generation else {
                    return // another stream was picked meanwhile
                }
                try session.start()
                self.session = session
                isPlaying = true
                nowPlaying = session.input.name
                decoderInfo = session.decoder.summary
                status = "Buffering…"
                startRefreshing()
            } catch {
                if ticket == generation {
                    status = Self.describe(error)
                }
            }
        }
    }

    /// Loading the model takes a moment: off the main actor.
    private nonisolated static func prepare(_ origin: StreamOrigin, computeUnits: MLComputeUnits) async throws
        -> PlaybackSession {
        let decoder = try CoreMLChunkDecoder.bundled(computeUnits: computeUnits)
        let input = try StreamInput.make(origin, expectedFingerprint: decoder.manifest.fingerprint)
        return try PlaybackSession(decoder: decoder, input: input)
    }

    func stop() {
        refreshTask?.cancel()
        refreshTask = nil
        if let session {
            session.stop()
            snapshot = session.stats.snapshot()
            status = "Stopped."
        }
        session = nil
        isPlaying = false
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
        if let failure = session.failure {
            finish(session, status: "Stopped: \(Self.describe(failure))")
        } else if session.isFinished {
            finish(session, status: "Finished.")
        } else {
            status = session.isBuffering ? "Buffering…" : "Playing"
        }
    }

    private func finish(_ ended: PlaybackSession, status text: String) {
        refreshTask?.cancel()
        refreshTask = nil
        ended.stop()
        snapshot = ended.stats.snapshot()
        session = nil
        isPlaying = false
        status = text
    }

    static func describe(_ error: Error) -> String {
        (error as? LocalizedError)?.errorDescription ?? "\(error)"
    }
}
