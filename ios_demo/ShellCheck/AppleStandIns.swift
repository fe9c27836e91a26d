// Stand-ins for the Apple-only types that PlayerModel, PlaybackSession and StreamInput use,
// so that those three files can be type-checked on Linux against the real TQCStream module
// (typecheck_shell.sh). Each stand-in has the exact shape the shell calls; the real types are
// in TQCPlayer/ (AudioOutput, AudioSessionEvents, NowPlaying, DecoderModelStore,
// CoreMLChunkDecoder) or in Apple's SDK, and only xcodebuild checks those.
import Foundation
import FoundationNetworking
import TQCStream

enum MLComputeUnits: Int {
    case all, cpuAndNeuralEngine, cpuAndGPU, cpuOnly
}

protocol ObservableObject: AnyObject {}

@propertyWrapper
struct Published<Value> {
    var wrappedValue: Value

    init(wrappedValue: Value) {
        self.wrappedValue = wrappedValue
    }
}

final class CoreMLChunkDecoder: ChunkDecoder {
    struct State {}

    let manifest: Manifest
    var summary: String { "" }

    init(manifest: Manifest) {
        self.manifest = manifest
    }

    var channels: Int { manifest.channels }

    func makeInitialState() throws -> State { State() }

    func decode(codes: CodeChunk, state: State) throws -> (audio: [[Float]], state: State) { ([], state) }
}

final class AudioOutput {
    var onConfigurationChange: (() -> Void)?

    init(pump: PlaybackPump, sampleRate: Double) throws {}

    func start() throws {}

    func pause() {}

    func restart() throws {}

    func stop() {}
}

final class AudioSessionEvents {
    init(send: @escaping @MainActor (PlayerStateMachine.Event) -> Void, position: @escaping @MainActor () -> Double) {}
}

@MainActor
final class NowPlaying {
    init(send: @escaping @MainActor (PlayerStateMachine.Event) -> Void) {}

    func update(title: String, snapshot: PlayerStats.Snapshot?, isPlaying: Bool) {}

    func clear() {}
}

actor DecoderModelStore {
    static let shared = DecoderModelStore()

    func decoder(computeUnits: MLComputeUnits) async throws -> CoreMLChunkDecoder {
        throw CocoaError(.featureUnsupported)
    }
}

extension URL { // security-scoped bookmarks are Apple-only
    func startAccessingSecurityScopedResource() -> Bool { false }

    func stopAccessingSecurityScopedResource() {}
}

/// URLSession.AsyncBytes is Apple-only.
struct AsyncBytesStandIn: AsyncSequence, AsyncIteratorProtocol {
    typealias Element = UInt8

    mutating func next() async throws -> UInt8? { nil }

    func makeAsyncIterator() -> AsyncBytesStandIn { self }
}

extension URLSession {
    func bytes(for request: URLRequest) async throws -> (AsyncBytesStandIn, URLResponse) {
        throw URLError(.unsupportedURL)
    }
}
