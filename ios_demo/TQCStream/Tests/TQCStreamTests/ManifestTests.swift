import Foundation
import XCTest
@testable import TQCStream

final class ManifestTests: XCTestCase {
    /// A complete manifest as the exporter writes it (values made up): tests/test_manifest_schema.py
    /// validates it against mobile_export/manifest.schema.json and checks it is the Java tests' sample
    /// but for the backend's own keys (format, artifact, artifact_sha256, toolchain,
    /// verification.runtime). The real exporter's output is checked against ManifestContract by
    /// tests/test_ios_demo.py.
    static let example = """
    {
      "manifest_version": 1,
      "format": "coreml",
      "artifact": "tq64-int8-k16.mlpackage",
      "artifact_sha256": "9f2c4e1a7b3d5f60819a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70",
      "artifact_bytes": 1234567,
      "precision": "int8",
      "config": "tq64",
      "config_detail": {"name": "tq64", "n_codebooks": 10},
      "checkpoint_sha256": "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
      "checkpoint_trained": true,
      "sample_rate": 44100,
      "hop": 64,
      "chunk_frames": 16,
      "samples_per_chunk": 1024,
      "channels": 1,
      "channel_layout": "planar",
      "n_codebooks": 10,
      "codebook_size": 512,
      "inputs": [
        {"name": "codes", "shape": [1, 10, 16], "dtype": "int32"},
        {"name": "conv_in", "shape": [1, 64, 6], "dtype": "float32"},
        {"name": "lstm0_h", "shape": [1, 128], "dtype": "float32"},
        {"name": "lstm0_c", "shape": [1, 128], "dtype": "float32"}
      ],
      "outputs": [
        {"name": "audio", "shape": [1, 1, 1024], "dtype": "float32"},
        {"name": "next_conv_in", "shape": [1, 64, 6], "dtype": "float32"},
        {"name": "next_lstm0_h", "shape": [1, 128], "dtype": "float32"},
        {"name": "next_lstm0_c", "shape": [1, 128], "dtype": "float32"}
      ],
      "state": [
        {"name": "conv_in", "shape": [1, 64, 6], "dtype": "float32"},
        {"name": "lstm0_h", "shape": [1, 128], "dtype": "float32"},
        {"name": "lstm0_c", "shape": [1, 128], "dtype": "float32"}
      ],
      "state_init": "zeros",
      "call": "outputs = model(codes, *state); audio = outputs[0]; state = outputs[1:]",
      "gmacs_per_s": 1.5,
      "verification": {
        "snr_db_vs_float": 31.2,
        "lsd_delta": 0.0021,
        "max_abs_err": 0.0615,
        "lsd_float_vs_music": 1.974,
        "lsd_artifact_vs_music": 1.9761,
        "seconds_of_music": 2.32,
        "chunks": 100,
        "thresholds": {"snr_db_vs_float": 25.0, "lsd_delta": 0.05},
        "passed": true,
        "failures": [],
        "snr_db_by_quarter": [30.4, 31.0, 31.5, 32.1],
        "runtime": "Core ML: MLModel(path).predict({'codes': int32, <state>: float32, ...}); outputs 'audio' and 'next_<state>' (float32)",
        "method": "chunk by chunk with state carried from zeros, every excerpt of the calibration music; SNR = 10*log10(sum ref^2 / sum (ref - art)^2) against the float PyTorch decoder"
      },
      "quantization": {
        "scheme": "PT2E static: weights int8 symmetric per-channel, activations int8 per-tensor (histogram observer) on every conv and linear outside keep_float; elementwise ops and state tensors in float32",
        "keep_float": ["conv_out"],
        "int8_mac_share": 0.91,
        "calibration_seconds_per_excerpt": 1.16,
        "sensitivity": null
      },
      "calibration": {
        "sources": ["chaos_god_clip.ogg[ch0]", "chaos_god_clip.ogg[ch1]"],
        "label": "shipped clip",
        "seconds_verified": 2.32,
        "state": "carried chunk by chunk from zeros"
      },
      "toolchain": {"torch": "2.13.0+cpu", "coremltools": "9.0"}
    }
    """

    /// `example` for a stereo artifact: `channels` 2, every shape starting with 2 (one call decodes
    /// both channels, planar), as an exporter's C = 2 manifest differs from its C = 1 one.
    /// tests/test_manifest_schema.py validates it too, and checks it equals the Java tests' stereo sample.
    static let exampleStereo = stereo(example)

    /// A mono sample made stereo: `"channels": 2` and the first dimension of every tensor 2.
    static func stereo(_ mono: String) -> String {
        mono.replacingOccurrences(of: "\"channels\": 1,", with: "\"channels\": 2,")
            .replacingOccurrences(of: "\"shape\": [1,", with: "\"shape\": [2,")
    }

    private func parse(_ text: String) throws -> Manifest {
        try Manifest.parse(Data(text.utf8))
    }

    func testReadsTheExportersManifest() throws {
        let m = try parse(Self.example)
        XCTAssertEqual(m.format, "coreml")
        XCTAssertEqual(m.precision, "int8")
        XCTAssertEqual(m.config, "tq64")
        XCTAssertEqual(m.artifact, "tq64-int8-k16.mlpackage")
        XCTAssertEqual(m.sampleRate, 44_100)
        XCTAssertEqual(m.hop, 64)
        XCTAssertEqual(m.chunkFrames, 16)
        XCTAssertEqual(m.samplesPerChunk, 1024)
        XCTAssertEqual(m.nCodebooks, 10)
        XCTAssertEqual(m.codebookSize, 512)
        XCTAssertEqual(m.inputs.count, 4)
        XCTAssertEqual(m.codesInput.shape, [1, 10, 16])
        XCTAssertEqual(m.audioOutput.elementCount, 1024)
        XCTAssertEqual(m.nextStateOutput(2).name, "next_lstm0_c")
        XCTAssertEqual(m.state.count, 3)
        XCTAssertEqual(m.state[0].shape, [1, 64, 6])
        let zero = m.zeroState()
        XCTAssertEqual(zero.map(\.count), [384, 128, 128])
        XCTAssertTrue(zero.allSatisfy { $0.allSatisfy { $0 == 0 } })
        XCTAssertEqual(m.fingerprint?.count, 16)
        XCTAssertEqual(m.fingerprint?.first, 0x01)
        XCTAssertEqual(m.fingerprint?[7], 0xEF)
        XCTAssertEqual(m.checkpointSHA256?.hasPrefix("0123456789abcdef"), true)
    }

    private func assertRejected(_ text: String, _ because: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try parse(text), "accepted a manifest with \(because)", file: file, line: line) { error in
            XCTAssertTrue(error is ManifestError, "\(error)", file: file, line: line)
            XCTAssertFalse("\(error)".isEmpty, file: file, line: line)
        }
    }

    func testRejectsBrokenContracts() {
        let e = Self.example
        assertRejected(e.replacingOccurrences(of: "\"samples_per_chunk\": 1024", with: "\"samples_per_chunk\": 1000"),
                       "a bad chunk size")
        assertRejected(e.replacingOccurrences(of: "[1, 10, 16]", with: "[1, 16, 10]"), "transposed codes")
        assertRejected(e.replacingOccurrences(of: "\"next_lstm0_h\"", with: "\"lstm0_h_out\""), "a misnamed state output")
        assertRejected(e.replacingOccurrences(of: "\"hop\": 64,", with: ""), "no hop")
        assertRejected(e.replacingOccurrences(of: "\"hop\": 64", with: "\"hop\": \"64\""), "a string hop")
        assertRejected(e.replacingOccurrences(of: "0123456789ABCDEF", with: "xyz"), "a bad sha")
        assertRejected(e.replacingOccurrences(of: "\"zeros\"", with: "\"random\""), "an unknown state init")
        assertRejected(String(e.prefix(200)), "truncated text")
        assertRejected(e.replacingOccurrences(of: "{\"name\": \"codes\", \"shape\": [1, 10, 16], \"dtype\": \"int32\"}",
                                              with: "{\"name\": \"codes\", \"shape\": [1, 10, 16], \"dtype\": \"int64\"}"),
                       "int64 codes")
        // state carried in fp16 would drift over minutes of streaming: refused
        assertRejected(e.replacingOccurrences(of: "\"shape\": [1, 128], \"dtype\": \"float32\"",
                                              with: "\"shape\": [1, 128], \"dtype\": \"float16\""), "fp16 state")
        let lastState = "{\"name\": \"lstm0_c\", \"shape\": [1, 128], \"dtype\": \"float32\"}\n  ],\n  \"outputs\""
        XCTAssertTrue(e.contains(lastState))
        assertRejected(e.replacingOccurrences(of: lastState, with: lastState.replacingOccurrences(of: "lstm0_c",
                                                                                                with: "lstm0_x")),
                       "inputs that are not the state")
    }

    func testReadsChannelsAndTheirLayout() throws {
        XCTAssertEqual(try parse(Self.example).channels, 1)
        let m = try parse(Self.exampleStereo)
        XCTAssertEqual(m.channels, 2)
        XCTAssertEqual(m.channelLayout, "planar")
        XCTAssertEqual(m.samplesPerChunk, 1024) // per channel
        XCTAssertEqual(m.codesInput.shape, [2, 10, 16])
        XCTAssertEqual(m.zeroState().map(\.count), [768, 256, 256]) // both rows of every state tensor
    }

    private func assertRejected(_ text: String, saying: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try parse(text), "accepted a manifest that should fail with '\(saying)'",
                             file: file, line: line) { error in
            XCTAssertTrue(error is ManifestError, "\(error)", file: file, line: line)
            XCTAssertTrue("\(error)".contains(saying), "\(error)", file: file, line: line)
        }
    }

    func testRefusesChannelsItCannotDrive() {
        let e = Self.example, s = Self.exampleStereo
        assertRejected(e.replacingOccurrences(of: "  \"channels\": 1,\n", with: ""), saying: "missing key 'channels'")
        assertRejected(e.replacingOccurrences(of: "\"channels\": 1", with: "\"channels\": 0"),
                       saying: "channels: expected 1 to 2")
        assertRejected(e.replacingOccurrences(of: "\"channels\": 1", with: "\"channels\": 3"), saying: "got 3")
        assertRejected(e.replacingOccurrences(of: "\"channels\": 1", with: "\"channels\": \"1\""), saying: "channels")
        assertRejected(e.replacingOccurrences(of: "  \"channel_layout\": \"planar\",\n", with: ""),
                       saying: "missing key 'channel_layout'")
        assertRejected(e.replacingOccurrences(of: "\"planar\"", with: "\"interleaved\""), saying: "only 'planar'")
        // shapes that do not start with channels: a mono manifest marked stereo, and each tensor kind
        assertRejected(e.replacingOccurrences(of: "\"channels\": 1", with: "\"channels\": 2"),
                       saying: "inputs[0] (codes): shape must start with channels = 2")
        assertRejected(s.replacingOccurrences(of: "\"channels\": 2", with: "\"channels\": 1"),
                       saying: "start with channels = 1")
        assertRejected(s.replacingOccurrences(of: "{\"name\": \"audio\", \"shape\": [2,", with: "{\"name\": \"audio\", \"shape\": [1,"),
                       saying: "outputs[0] (audio): shape must start with channels = 2")
        for t in ["{\"name\": \"lstm0_h\", \"shape\": [2,", "{\"name\": \"next_lstm0_h\", \"shape\": [2,"] {
            XCTAssertTrue(s.contains(t), t)
            assertRejected(s.replacingOccurrences(of: t, with: t.replacingOccurrences(of: "[2,", with: "[1,")),
                           saying: "lstm0_h): shape must start with channels = 2")
        }
        let lastState = "{\"name\": \"lstm0_c\", \"shape\": [2, 128], \"dtype\": \"float32\"}\n  ],\n  \"state_init\""
        XCTAssertTrue(s.contains(lastState))
        assertRejected(s.replacingOccurrences(of: lastState, with: lastState.replacingOccurrences(of: "[2,", with: "[1,")),
                       saying: "state[2] (lstm0_c): shape must start with channels = 2")
    }

    func testUnknownCheckpointHasNoFingerprint() throws {
        let sha = "\"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\""
        XCTAssertNil(try parse(Self.example.replacingOccurrences(of: sha, with: "null")).fingerprint)
        XCTAssertNil(try parse(Self.example.replacingOccurrences(of: sha, with: "\"\"")).fingerprint)
    }

    func testChecksThatAStreamFitsTheModel() throws {
        // Python's check_stream_fits: fingerprint, then sample_rate, hop_length, n_q,
        // codebook_size equal to the model's (decoder_mismatch at the field), then channels <= 2
        let m = try parse(Self.example)
        let fp = try XCTUnwrap(m.fingerprint)
        XCTAssertNoThrow(try m.checkCompatible(StreamHeader(channels: 2, nQ: 10, fingerprint: fp)))
        XCTAssertNoThrow(try m.checkCompatible(StreamHeader(channels: 1, nQ: 10, fingerprint: fp)))
        let bad: [(StreamHeader, TQCError.Kind, Int)] = [
            (try StreamHeader(channels: 2, nQ: 10, fingerprint: TestStreams.fingerprint(9)), .fingerprintMismatch, 32),
            (try StreamHeader(channels: 2, nQ: 5, fingerprint: fp), .decoderMismatch, 21),
            (try StreamHeader(channels: 2, nQ: 10, fingerprint: fp, sampleRate: 48_000), .decoderMismatch, 8),
            (try StreamHeader(channels: 2, nQ: 10, fingerprint: fp, hopLength: 32), .decoderMismatch, 12),
            (try StreamHeader(channels: 2, nQ: 10, fingerprint: fp, codebookSize: 1024, bits: 10), .decoderMismatch, 16),
            (try StreamHeader(channels: 1, nQ: 10, fingerprint: fp, codebookSize: 500), .decoderMismatch, 16),
            (try StreamHeader(channels: 3, nQ: 10, fingerprint: fp), .decoderMismatch, 20),
            // the first problem wins: sample_rate before n_q
            (try StreamHeader(channels: 2, nQ: 5, fingerprint: fp, sampleRate: 48_000), .decoderMismatch, 8),
        ]
        for (h, kind, offset) in bad {
            XCTAssertThrowsError(try m.checkCompatible(h, headerOffset: 100, path: "x.tqc"), "accepted \(h)") { error in
                let e = error as? TQCError
                XCTAssertEqual(e?.kind, kind, "\(h)")
                XCTAssertEqual(e?.offset, 100 + offset, "\(h)")
                XCTAssertTrue(e?.isFatal ?? false)
                XCTAssertTrue("\(error)".hasPrefix("x.tqc, byte \(100 + offset)"), "\(error)")
            }
        }
        // a header that came separately (a seek, a live join) has no offset to name
        XCTAssertThrowsError(try m.checkCompatible(StreamHeader(channels: 3, nQ: 10, fingerprint: fp), headerOffset: nil)) {
            XCTAssertEqual(($0 as? TQCError)?.kind, .decoderMismatch)
            XCTAssertNil(($0 as? TQCError)?.offset)
        }
    }

    func testReadsAFileAndNamesItInErrors() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("manifest-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(Self.example.utf8).write(to: url)
        XCTAssertEqual(try Manifest.read(contentsOf: url).chunkFrames, 16)
        try Data("{".utf8).write(to: url)
        XCTAssertThrowsError(try Manifest.read(contentsOf: url)) { error in
            XCTAssertTrue("\(error)".hasPrefix(url.path), "\(error)")
        }
        XCTAssertThrowsError(try Manifest.read(contentsOf: URL(fileURLWithPath: "/nonexistent/manifest.json"))) { error in
            XCTAssertTrue("\(error)".contains("cannot read"), "\(error)")
        }
    }

    /// The Core ML manifests the exporter wrote in this checkout (build/coreml), if any.
    func testReadsTheExportedCoreMLManifests() throws {
        let folder = try Vectors.repositoryRoot().appendingPathComponent("build/coreml", isDirectory: true)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        let manifests = names.filter { $0.hasSuffix(".manifest.json") }.sorted()
        if manifests.isEmpty {
            throw XCTSkip("no exported manifest in \(folder.path) (python -m mobile_export.coreml writes them)")
        }
        for name in manifests {
            let m = try Manifest.read(contentsOf: folder.appendingPathComponent(name))
            XCTAssertEqual(m.format, "coreml", name)
            XCTAssertEqual(m.state.count + 1, m.outputs.count, name)
            for (k, s) in m.state.enumerated() {
                XCTAssertEqual(m.nextStateOutput(k).name, ManifestContract.nextStatePrefix + s.name, name)
            }
        }
    }
}
