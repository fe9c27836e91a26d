import CoreML
import Foundation
import TQCStream

/// The exported Core ML decoder (`mobile_export/coreml.py`) behind TQCStream's `ChunkDecoder`.
///
/// Everything about the tensors comes from the manifest at run time: the codes input is
/// `inputs[0]`, the audio output `outputs[0]`, and state tensor `k` goes in as `state[k]` and
/// comes back as `outputs[k + 1]` (`next_<name>`, checked by `Manifest`). On loading, the model's
/// own description is checked against the manifest (names, shapes, dtypes), so a manifest that
/// belongs to another package is refused before anything plays.
///
/// State stays float32: the inputs are float32 arrays (the manifest says so and the model's
/// description must agree), and each `next_` output is fed back unchanged when it is float32 —
/// the exporter declares every output float32 — or converted to float32 otherwise. The model
/// computes in fp16 inside; keeping the carried state at the boundary in float32 avoids adding
/// a rounding per chunk on top, the drift that made Kyutai's Mimi beep on the Neural Engine.
/// One call decodes the manifest's `channels` C (1 or 2): codes `[C, n_q, K]` in, audio
/// `[C, 1, samples]` out, split into rows; every state tensor holds the C channels' rows (planar).
/// The DecodeLoop keeps one `State` per call of a chunk.
final class CoreMLChunkDecoder: ChunkDecoder {
    struct State {
        /// One float32 array per manifest state tensor, in manifest order.
        fileprivate let tensors: [MLMultiArray]
    }

    struct ContractError: LocalizedError {
        let message: String

        var errorDescription: String? {
            message
        }
    }

    let manifest: Manifest
    let model: MLModel
    let computeUnits: MLComputeUnits
    private let codes: MLMultiArray
    private let codesName: String
    private let audioName: String
    private let stateNames: [String]
    private let nextStateNames: [String]

    /// A decoder over a loaded model (`DecoderModelStore` loads each model once and hands it to
    /// every session); the model's description is checked against the manifest here.
    init(model: MLModel, manifest: Manifest, computeUnits: MLComputeUnits) throws {
        try CoreMLChunkDecoder.check(model.modelDescription, against: manifest)
        self.model = model
        self.manifest = manifest
        self.computeUnits = computeUnits
        codesName = manifest.codesInput.name
        audioName = manifest.audioOutput.name
        stateNames = manifest.state.map(\.name)
        nextStateNames = manifest.state.indices.map { manifest.nextStateOutput($0).name }
        codes = try MLMultiArray(shape: manifest.codesInput.shape.map { NSNumber(value: $0) },
                                 dataType: CoreMLChunkDecoder.dataType(manifest.codesInput.dtype))
    }

    var channels: Int {
        manifest.channels
    }

    func makeInitialState() throws -> State {
        // state_init "zeros" (Manifest refuses anything else), each tensor as the manifest
        // describes it (float32: Manifest refuses any other state dtype)
        var tensors: [MLMultiArray] = []
        for spec in manifest.state {
            let array = try MLMultiArray(shape: spec.shape.map { NSNumber(value: $0) },
                                         dataType: CoreMLChunkDecoder.dataType(spec.dtype))
            array.withUnsafeMutableBytes { bytes, _ in
                for i in 0..<bytes.count {
                    bytes[i] = 0
                }
            }
            tensors.append(array)
        }
        return State(tensors: tensors)
    }

    func decode(codes chunk: CodeChunk, state: State) throws -> (audio: [[Float]], state: State) {
        guard chunk.channels == channels else {
            throw ContractError(message: "\(chunk.channels) channels of codes for a model of \(channels)")
        }
        codes.withUnsafeMutableBufferPointer(ofType: Int32.self) { values, strides in
            for c in 0..<chunk.channels {
                for q in 0..<chunk.nQ {
                    for k in 0..<chunk.frames {
                        values[c * strides[0] + q * strides[1] + k * strides[2]] = chunk[c, q, k]
                    }
                }
            }
        }
        var features: [String: MLFeatureValue] = [codesName: MLFeatureValue(multiArray: codes)]
        for (name, tensor) in zip(stateNames, state.tensors) {
            features[name] = MLFeatureValue(multiArray: tensor)
        }
        let output = try model.prediction(from: MLDictionaryFeatureProvider(dictionary: features))
        guard let audio = output.featureValue(for: audioName)?.multiArrayValue else {
            throw ContractError(message: "the model returned no '\(audioName)' array")
        }
        var next: [MLMultiArray] = []
        next.reserveCapacity(nextStateNames.count)
        for name in nextStateNames {
            guard let value = output.featureValue(for: name)?.multiArrayValue else {
                throw ContractError(message: "the model returned no '\(name)' array")
            }
            // fed back as it is when float32; otherwise converted, so the carried state stays float32
            next.append(value.dataType == .float32 ? value : MLMultiArray(MLShapedArray<Float>(converting: value)))
        }
        // strides-aware copy (outputs from the GPU or Neural Engine may be padded), then one row per channel
        let flat = MLShapedArray<Float>(converting: audio).scalars
        let perChannel = manifest.samplesPerChunk
        guard flat.count == channels * perChannel else {
            throw ContractError(message: "the model returned \(flat.count) samples, expected \(channels) x \(perChannel)")
        }
        let rows = (0..<channels).map { Array(flat[($0 * perChannel)..<(($0 + 1) * perChannel)]) }
        return (rows, State(tensors: next))
    }

    // MARK: - the model against its manifest

    static func dataType(_ dtype: String) throws -> MLMultiArrayDataType {
        switch dtype {
        case "int32": return .int32
        case "float32": return .float32
        case "float16": return .float16
        case "float64": return .float64
        default: throw ContractError(message: "dtype '\(dtype)' has no Core ML array type")
        }
    }

    /// Every manifest input and output exists in the model with the same dtype (and, for
    /// inputs, the same shape).
    static func check(_ description: MLModelDescription, against manifest: Manifest) throws {
        for spec in manifest.inputs {
            guard let feature = description.inputDescriptionsByName[spec.name],
                  let constraint = feature.multiArrayConstraint else {
                throw ContractError(message: "the model has no array input '\(spec.name)' (manifest: \(spec))")
            }
            let shape = constraint.shape.map(\.intValue)
            let expected = try dataType(spec.dtype)
            if shape != spec.shape || constraint.dataType != expected {
                throw ContractError(message: "model input '\(spec.name)' is \(shape) of type "
                    + "\(constraint.dataType.rawValue), the manifest says \(spec)")
            }
        }
        for spec in manifest.outputs {
            guard let feature = description.outputDescriptionsByName[spec.name] else {
                throw ContractError(message: "the model has no output '\(spec.name)' (manifest: \(spec))")
            }
            let expected = try dataType(spec.dtype)
            if let constraint = feature.multiArrayConstraint, constraint.dataType != expected {
                throw ContractError(message: "model output '\(spec.name)' has type \(constraint.dataType.rawValue), "
                    + "the manifest says \(spec.dtype)")
            }
        }
    }

    /// One line for the UI.
    var summary: String {
        let milliseconds = 1000 * Double(manifest.samplesPerChunk) / Double(manifest.sampleRate)
        return "\(manifest.config), \(manifest.precision) Core ML, chunk \(manifest.chunkFrames) frames "
            + "(\(String(format: "%.1f", milliseconds)) ms), \(manifest.channels) channel(s) per call, "
            + "\(manifest.state.count) float32 state tensors"
    }
}
