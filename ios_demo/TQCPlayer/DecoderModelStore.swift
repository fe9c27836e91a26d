import CoreML
import Foundation
import TQCStream

/// The bundled decoder, loaded once per compute-unit choice and shared by every stream played
/// (loading a Core ML model takes long enough to delay Play, and on the Neural Engine the first
/// load also compiles for the device).
///
/// Where the compiled model comes from, first match wins:
/// 1. `TQCDecoder.mlmodelc` in the bundle: Xcode compiled the `.mlpackage` (project.yml puts
///    it in "Compile Sources");
/// 2. `TQCDecoder-<weights>.mlmodelc` in Application Support: compiled at an earlier run;
/// 3. `TQCDecoder.mlpackage` in the bundle (a build that copied it as a resource): compiled
///    now with `MLModel.compileModel(at:)` and moved to (2), so that happens once per install
///    and weights. The cache is named after the manifest's checkpoint hash, so an app update
///    with other weights never loads a stale model.
actor DecoderModelStore {
    static let shared = DecoderModelStore()

    private var manifest: Manifest?
    private var compiled: URL?
    private var models: [Int: MLModel] = [:] // by MLComputeUnits.rawValue

    /// A fresh decoder (its own input buffer) over the shared model for `computeUnits`.
    func decoder(computeUnits: MLComputeUnits) async throws -> CoreMLChunkDecoder {
        let manifest = try loadManifest()
        let model: MLModel
        if let cached = models[computeUnits.rawValue] {
            model = cached
        } else {
            let configuration = MLModelConfiguration()
            configuration.computeUnits = computeUnits
            model = try await MLModel.load(contentsOf: try await compiledModel(for: manifest),
                                           configuration: configuration)
            models[computeUnits.rawValue] = model
        }
        return try CoreMLChunkDecoder(model: model, manifest: manifest, computeUnits: computeUnits)
    }

    private func loadManifest() throws -> Manifest {
        if let manifest {
            return manifest
        }
        let loaded = try Manifest.read(contentsOf: AppResources.url(AppResources.manifestName,
                                                                    AppResources.manifestExtension))
        manifest = loaded
        return loaded
    }

    private func compiledModel(for manifest: Manifest) async throws -> URL {
        if let compiled {
            return compiled
        }
        if let bundled = Bundle.main.url(forResource: AppResources.modelName,
                                         withExtension: AppResources.compiledModelExtension) {
            compiled = bundled
            return bundled
        }
        let fileManager = FileManager.default
        let support = try fileManager.url(for: .applicationSupportDirectory, in: .userDomainMask,
                                          appropriateFor: nil, create: true)
        let weights = String((manifest.checkpointSHA256 ?? "unknown").prefix(16))
        let cached = support.appendingPathComponent("\(AppResources.modelName)-\(weights)")
            .appendingPathExtension(AppResources.compiledModelExtension)
        if fileManager.fileExists(atPath: cached.path) {
            compiled = cached
            return cached
        }
        let package = try AppResources.url(AppResources.modelName, AppResources.packageExtension)
        let fresh = try await MLModel.compileModel(at: package) // into a temporary folder
        if fileManager.fileExists(atPath: cached.path) {
            try fileManager.removeItem(at: cached)
        }
        try fileManager.moveItem(at: fresh, to: cached)
        compiled = cached
        return cached
    }
}
