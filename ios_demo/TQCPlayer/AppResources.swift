import Foundation

/// Names of the files that project.yml puts in the app bundle (prepare_artifacts.sh copies them
/// into ios_demo/Artifacts/). Tensor names are not here: they come from the manifest.
enum AppResources {
    /// Artifacts/TQCDecoder.mlpackage, compiled by Xcode into TQCDecoder.mlmodelc (or by
    /// DecoderModelStore at first run when a build copied the package as it is).
    static let modelName = "TQCDecoder"
    static let compiledModelExtension = "mlmodelc"
    static let packageExtension = "mlpackage"
    /// Artifacts/TQCDecoder.manifest.json, the exporter's manifest for that package.
    static let manifestName = "TQCDecoder.manifest"
    static let manifestExtension = "json"
    /// Artifacts/sample.tqc, a stream encoded with the same checkpoint.
    static let sampleName = "sample"
    static let streamExtension = "tqc"

    static func url(_ name: String, _ ext: String) throws -> URL {
        guard let url = Bundle.main.url(forResource: name, withExtension: ext) else {
            throw MissingResource(file: "\(name).\(ext)")
        }
        return url
    }

    struct MissingResource: LocalizedError {
        let file: String

        var errorDescription: String? {
            "\(file) is not in the app bundle: run ios_demo/prepare_artifacts.sh, then xcodegen generate (README.md)"
        }
    }
}
