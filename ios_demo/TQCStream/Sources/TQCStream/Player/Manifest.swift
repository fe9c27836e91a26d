import Foundation

/// The names and dtype strings that this app and `mobile_export` agree on, in one place.
///
/// Tensor names are *not* here: the app takes every input, output and state name, shape and
/// dtype from the manifest at run time. What is fixed is the contract's form, as
/// `mobile_export/manifest.py` (`build_manifest`) writes it and `mobile_export/coreml.py` names
/// the model's features: `inputs = [codes, *state]`, `outputs = [audio, *next_state]`, each
/// next-state output named `next_<state name>`. `tests/test_ios_demo.py` checks every string
/// here against a manifest built by the exporter's own code.
public enum ManifestContract {
    /// Prefix of the output that carries the next value of a state tensor.
    public static let nextStatePrefix = "next_"
    /// dtype of `inputs[0]`, the codes `[1, n_codebooks, chunk_frames]`.
    public static let codesDType = "int32"
    /// dtype of `outputs[0]`, the audio `[1, 1, samples_per_chunk]`.
    public static let audioDType = "float32"
    /// dtype of every state tensor: state stays float32 at the model boundary (fp16 state
    /// accumulates error over minutes of streaming; see docs in the README).
    public static let stateDType = "float32"
    /// The only state initialisation the exporter writes.
    public static let stateInit = "zeros"
    /// The only `channel_layout` there is: channel c is row c (the first dimension) of the codes,
    /// the audio and every state tensor, each channel with its own state.
    public static let channelLayout = "planar"
    /// The most `channels` one call of an artifact decodes (left and right).
    public static let maxCallChannels = 2
}

/// One input, output or state tensor of an exported decoder, as the manifest lists it.
public struct TensorSpec: Decodable, Equatable, Sendable, CustomStringConvertible {
    public let name: String
    public let shape: [Int]
    public let dtype: String

    public init(name: String, shape: [Int], dtype: String) {
        self.name = name
        self.shape = shape
        self.dtype = dtype
    }

    /// Number of elements (the product of the shape; 1 for a scalar).
    public var elementCount: Int {
        shape.reduce(1, *)
    }

    public var description: String {
        "\(name)\(shape):\(dtype)"
    }

    enum CodingKeys: String, CodingKey {
        case name = "name"
        case shape = "shape"
        case dtype = "dtype"
    }
}

/// A manifest that cannot be read, is not JSON, or breaks the exporter's contract.
public struct ManifestError: Error, Equatable, CustomStringConvertible, LocalizedError {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String {
        message
    }

    public var errorDescription: String? {
        message
    }
}

/// The exporter's `<artifact>.manifest.json` (`mobile_export/manifest.py`, `build_manifest`):
/// what the app needs to drive an artifact without hard-coding shapes.
///
/// Checked on reading (as the Java `Manifest` does): positive sizes; `samples_per_chunk =
/// chunk_frames · hop`; `channels` C (1 or 2) and `channel_layout` `planar`: every tensor's shape
/// starts with C; `inputs[0]` the codes `[C, n_codebooks, chunk_frames]` (int32);
/// `outputs[0]` the audio `[C, 1, samples_per_chunk]` (float32); the rest of `inputs` equal to
/// `state` (float32), and the rest of `outputs` the state renamed `next_<name>`, in the same
/// order — the call contract `outputs = model(codes, *state); audio = outputs[0]; state =
/// outputs[1:]`. Other keys (verification, MACs, ...) are ignored here.
public struct Manifest: Equatable, Sendable {
    public let format: String
    public let precision: String
    public let config: String
    /// The artifact's file name, e.g. `tq64-int8-k16.mlpackage`.
    public let artifact: String?
    /// Lowercase hex, or nil when the checkpoint is unknown (absent, null or "").
    public let checkpointSHA256: String?
    public let sampleRate: Int
    public let hop: Int
    public let chunkFrames: Int
    /// Samples per call per channel.
    public let samplesPerChunk: Int
    /// C, channels one call decodes: the first dimension of every tensor.
    public let channels: Int
    public let channelLayout: String
    public let nCodebooks: Int
    public let codebookSize: Int
    public let inputs: [TensorSpec]
    public let outputs: [TensorSpec]
    public let state: [TensorSpec]
    public let stateInit: String?

    /// Parse manifest JSON.
    public static func parse(_ data: Data) throws -> Manifest {
        do {
            return try JSONDecoder().decode(Manifest.self, from: data)
        } catch let error as ManifestError {
            throw error
        } catch {
            throw ManifestError("bad manifest: \(error)")
        }
    }

    /// Read and parse a manifest file; errors name the file.
    public static func read(contentsOf url: URL) throws -> Manifest {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ManifestError("cannot read \(url.path): \(error.localizedDescription)")
        }
        do {
            return try parse(data)
        } catch {
            throw ManifestError("\(url.path): \((error as? ManifestError)?.message ?? "\(error)")")
        }
    }

    /// The codes input, `inputs[0]`.
    public var codesInput: TensorSpec {
        inputs[0]
    }

    /// The audio output, `outputs[0]`.
    public var audioOutput: TensorSpec {
        outputs[0]
    }

    /// The output that carries the next value of `state[index]`: `outputs[index + 1]`.
    public func nextStateOutput(_ index: Int) -> TensorSpec {
        outputs[index + 1]
    }

    /// The stream fingerprint of the weights these codes need: the first 16 bytes of
    /// `checkpoint_sha256` (as `tqcodec decode --artifact` uses it), or nil if unknown.
    public var fingerprint: [UInt8]? {
        guard let sha = checkpointSHA256, let bytes = bytesFromHex(sha) else {
            return nil
        }
        return Array(bytes.prefix(StreamHeader.fingerprintSize))
    }

    /// Zero state for the `channels` of one call, one flat float array per state tensor in call
    /// order (`state_init: zeros`).
    public func zeroState() -> [[Float]] {
        state.map { [Float](repeating: 0, count: $0.elementCount) }
    }

    /// Channels of a stream an artifact plays, whatever its `channels` per call (the decode loop
    /// makes one or two calls per chunk, each with its own state).
    public static let maxChannels = 2

    /// Can this artifact decode that stream? Python's `check_stream_fits`, in its order: the
    /// fingerprint first (another model's codes: `fingerprint_mismatch`), then each field the
    /// decoder depends on, which must equal the model's (`decoder_mismatch` at that field's
    /// offset, expected and found), then at most `maxChannels` channels.
    /// - Parameter headerOffset: where the header sits in the stream (nil: it came separately).
    public func checkCompatible(_ h: StreamHeader, headerOffset: Int? = 0, path: String? = nil) throws {
        if let expected = fingerprint, expected != h.fingerprint {
            throw TQCError(.fingerprintMismatch, "stream was made by decoder weights \(hexString(h.fingerprint)), "
                + "expected \(hexString(expected))", path: path,
                offset: headerOffset.map { $0 + StreamHeader.Field.fingerprint.rawValue })
        }
        let checks: [(StreamHeader.Field, Int, Int, String)] = [
            (.sampleRate, h.sampleRate, sampleRate, "Hz"),
            (.hopLength, h.hopLength, hop, "samples per frame"),
            (.nQ, h.nQ, nCodebooks, "codebooks per channel"),
            (.codebookSize, h.codebookSize, codebookSize, "entries per codebook"),
        ]
        for (field, found, expected, unit) in checks where found != expected {
            throw TQCError(.decoderMismatch, "header field \(field.name): this decoder takes \(expected) \(unit), "
                + "the stream has \(found)", path: path, offset: headerOffset.map { $0 + field.rawValue })
        }
        if h.channels > Manifest.maxChannels {
            throw TQCError(.decoderMismatch, "header field channels: this decoder plays at most \(Manifest.maxChannels) "
                + "channels, the stream has \(h.channels)", path: path,
                offset: headerOffset.map { $0 + StreamHeader.Field.channels.rawValue })
        }
    }

    private func checkContract() throws {
        for (key, value) in [("sample_rate", sampleRate), ("hop", hop), ("chunk_frames", chunkFrames),
                             ("samples_per_chunk", samplesPerChunk), ("n_codebooks", nCodebooks),
                             ("codebook_size", codebookSize)] where value < 1 {
            throw ManifestError("\(key): expected a positive integer, got \(value)")
        }
        if let sha = checkpointSHA256, sha.count != 64 || bytesFromHex(sha) == nil {
            throw ManifestError("checkpoint_sha256: expected 64 hex digits, got '\(sha)'")
        }
        if chunkFrames * hop != samplesPerChunk {
            throw ManifestError("samples_per_chunk \(samplesPerChunk) is not chunk_frames \(chunkFrames) x hop \(hop)")
        }
        if !(1...ManifestContract.maxCallChannels).contains(channels) {
            throw ManifestError("channels: expected 1 to \(ManifestContract.maxCallChannels) (channels one call decodes), "
                + "got \(channels)")
        }
        if channelLayout != ManifestContract.channelLayout {
            throw ManifestError("channel_layout: only '\(ManifestContract.channelLayout)' is supported, got '\(channelLayout)'")
        }
        if let stateInit, stateInit != ManifestContract.stateInit {
            throw ManifestError("state_init: only '\(ManifestContract.stateInit)' is supported, got '\(stateInit)'")
        }
        guard let codes = inputs.first, let audio = outputs.first else {
            throw ManifestError("inputs and outputs must each list at least one tensor")
        }
        for spec in inputs + outputs + state where spec.shape.contains(where: { $0 < 0 }) {
            throw ManifestError("\(spec.name): negative dimension in \(spec.shape)")
        }
        let listed = inputs.enumerated().map { ("inputs[\($0.offset)]", $0.element) }
            + outputs.enumerated().map { ("outputs[\($0.offset)]", $0.element) }
            + state.enumerated().map { ("state[\($0.offset)]", $0.element) }
        for (what, spec) in listed where spec.shape.first != channels {
            throw ManifestError("\(what) (\(spec.name)): shape must start with channels = \(channels) (channel_layout "
                + "\(ManifestContract.channelLayout)), got \(spec.shape)")
        }
        try Manifest.expect(codes, "inputs[0] (codes)", shape: [channels, nCodebooks, chunkFrames],
                            dtype: ManifestContract.codesDType)
        try Manifest.expect(audio, "outputs[0] (audio)", shape: [channels, 1, samplesPerChunk],
                            dtype: ManifestContract.audioDType)
        if Array(inputs.dropFirst()) != state {
            throw ManifestError("inputs after the codes must be the state tensors, in order: "
                + "\(Array(inputs.dropFirst())) vs state \(state)")
        }
        if outputs.count != state.count + 1 {
            throw ManifestError("outputs must be the audio and one \(ManifestContract.nextStatePrefix) tensor "
                + "per state tensor")
        }
        for (k, s) in state.enumerated() {
            if s.dtype != ManifestContract.stateDType {
                throw ManifestError("state \(s.name): expected dtype \(ManifestContract.stateDType) (state is carried "
                    + "in float32), got \(s.dtype)")
            }
            let next = outputs[k + 1]
            if next.name != ManifestContract.nextStatePrefix + s.name || next.shape != s.shape || next.dtype != s.dtype {
                throw ManifestError("outputs[\(k + 1)] must be \(ManifestContract.nextStatePrefix)\(s.name) shaped like "
                    + "\(s), got \(next)")
            }
        }
        if Set(inputs.map(\.name)).count != inputs.count || Set(outputs.map(\.name)).count != outputs.count {
            throw ManifestError("tensor names must be unique")
        }
    }

    private static func expect(_ t: TensorSpec, _ what: String, shape: [Int], dtype: String) throws {
        if t.shape != shape || t.dtype != dtype {
            throw ManifestError("\(what): expected shape \(shape) and dtype \(dtype), got \(t)")
        }
    }
}

extension Manifest: Decodable {
    /// The manifest keys this reader uses (a subset of what `build_manifest` writes).
    enum CodingKeys: String, CodingKey {
        case format = "format"
        case precision = "precision"
        case config = "config"
        case artifact = "artifact"
        case checkpointSHA256 = "checkpoint_sha256"
        case sampleRate = "sample_rate"
        case hop = "hop"
        case chunkFrames = "chunk_frames"
        case samplesPerChunk = "samples_per_chunk"
        case channels = "channels"
        case channelLayout = "channel_layout"
        case nCodebooks = "n_codebooks"
        case codebookSize = "codebook_size"
        case inputs = "inputs"
        case outputs = "outputs"
        case state = "state"
        case stateInit = "state_init"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        format = try c.decode(String.self, forKey: .format)
        precision = try c.decode(String.self, forKey: .precision)
        config = try c.decode(String.self, forKey: .config)
        artifact = try c.decodeIfPresent(String.self, forKey: .artifact)
        // The exporter writes "" for a checkpoint of unknown origin: no fingerprint to check then.
        let sha = try c.decodeIfPresent(String.self, forKey: .checkpointSHA256)?.lowercased()
        checkpointSHA256 = sha?.isEmpty == false ? sha : nil
        sampleRate = try c.decode(Int.self, forKey: .sampleRate)
        hop = try c.decode(Int.self, forKey: .hop)
        chunkFrames = try c.decode(Int.self, forKey: .chunkFrames)
        samplesPerChunk = try c.decode(Int.self, forKey: .samplesPerChunk)
        // required since artifacts decode 1 or 2 channels a call: refused by name when missing
        guard let channels = try c.decodeIfPresent(Int.self, forKey: .channels) else {
            throw ManifestError("missing key 'channels' (channels one call decodes, 1 or 2)")
        }
        guard let channelLayout = try c.decodeIfPresent(String.self, forKey: .channelLayout) else {
            throw ManifestError("missing key 'channel_layout' ('\(ManifestContract.channelLayout)')")
        }
        self.channels = channels
        self.channelLayout = channelLayout
        nCodebooks = try c.decode(Int.self, forKey: .nCodebooks)
        codebookSize = try c.decode(Int.self, forKey: .codebookSize)
        inputs = try c.decode([TensorSpec].self, forKey: .inputs)
        outputs = try c.decode([TensorSpec].self, forKey: .outputs)
        state = try c.decode([TensorSpec].self, forKey: .state)
        stateInit = try c.decodeIfPresent(String.self, forKey: .stateInit)
        try checkContract()
    }
}
