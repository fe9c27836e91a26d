import SwiftUI
import TQCStream
import UniformTypeIdentifiers

struct ContentView: View {
    @StateObject private var model = PlayerModel()
    @State private var importing = false

    var body: some View {
        NavigationStack {
            Form {
                Section("Stream") {
                    Button("Play the bundled sample") {
                        model.playBundledSample()
                    }
                    Button("Open a .tqc from Files…") {
                        importing = true
                    }
                    TextField("https://host/song.tqc", text: $model.remoteURLText)
                        .keyboardType(.URL)
                        .textInputAutocapitalization(.never)
                        .autocorrectionDisabled()
                    Button("Stream from the URL") {
                        model.playRemote()
                    }
                    .disabled(model.remoteURLText.isEmpty)
                }
                Section("Decoder") {
                    Picker("Compute units", selection: $model.computeUnits) {
                        ForEach(PlayerModel.ComputeUnits.allCases) { units in
                            Text(units.rawValue).tag(units)
                        }
                    }
                    if !model.decoderInfo.isEmpty {
                        Text(model.decoderInfo)
                            .font(.footnote)
                    }
                }
                Section("Now playing") {
                    Text(model.status)
                    if !model.nowPlaying.isEmpty {
                        Text(model.nowPlaying)
                            .font(.footnote)
                            .foregroundStyle(.secondary)
                    }
                    if model.hasStream {
                        TransportControls(model: model)
                    }
                }
                if let snapshot = model.snapshot {
                    StatsSection(snapshot: snapshot)
                }
            }
            .navigationTitle("TQC Player")
        }
        .fileImporter(isPresented: $importing, allowedContentTypes: [.data]) { result in
            switch result {
            case let .success(url):
                model.playFile(url)
            case let .failure(error):
                model.report(error)
            }
        }
    }
}

/// Play/pause, stop, and the position slider (released: a seek through the state machine).
struct TransportControls: View {
    @ObservedObject var model: PlayerModel
    @State private var dragging: Double?

    var body: some View {
        let position = model.snapshot?.positionSeconds ?? 0
        let duration = model.snapshot?.durationSeconds
        HStack {
            Button(model.isPlaying ? "Pause" : "Play") {
                model.togglePlayPause()
            }
            Spacer()
            Text(Self.clock(position) + (duration.map { " / " + Self.clock($0) } ?? " (live)"))
                .monospacedDigit()
                .font(.footnote)
            Spacer()
            Button("Stop", role: .destructive) {
                model.stop()
            }
        }
        .buttonStyle(.borderless)
        if duration != nil {
            Slider(value: Binding(get: { dragging ?? model.snapshot?.progress ?? 0 }, set: { dragging = $0 }),
                   in: 0...1) { editing in
                if !editing, let fraction = dragging {
                    model.seek(toFraction: fraction)
                    dragging = nil
                }
            }
        }
    }

    static func clock(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded(.down))
        return String(format: "%d:%02d", whole / 60, whole % 60)
    }
}

/// Decode speed (per chunk too), buffer, underruns, bitrate and damage, as PlayerStats reports them.
struct StatsSection: View {
    let snapshot: PlayerStats.Snapshot

    var body: some View {
        Section("Stats") {
            LabeledContent("Decode RTF", value: snapshot.realTimeFactor.map { String(format: "%.3f", $0) } ?? "–")
            LabeledContent("Chunk decode", value: chunkTimes)
            LabeledContent("Buffer", value: String(format: "%.2f s", snapshot.bufferedSeconds))
            LabeledContent("Underruns", value: "\(snapshot.underruns)")
            LabeledContent("Bitrate", value: bitrate)
            LabeledContent("Damaged packets", value: "\(snapshot.damagedPackets)")
            LabeledContent("Concealed frames", value: "\(snapshot.concealedFrames)")
            LabeledContent("Decoder resets", value: "\(snapshot.decoderResets)")
            LabeledContent("Stream events", value: "\(snapshot.streamEvents)")
            LabeledContent("Decoded", value: String(format: "%.1f s", snapshot.audioSeconds)
                + " in \(snapshot.chunksDecoded) chunks")
            LabeledContent("Received", value: ByteCountFormatter.string(fromByteCount: Int64(snapshot.bytesReceived),
                                                                       countStyle: .file))
        }
    }

    /// Last / mean / slowest chunk, in ms (all channels of a chunk together).
    private var chunkTimes: String {
        guard let last = snapshot.lastChunkSeconds, let mean = snapshot.meanChunkSeconds,
              let slowest = snapshot.maxChunkSeconds else {
            return "–"
        }
        return String(format: "%.1f / %.1f / %.1f ms", 1000 * last, 1000 * mean, 1000 * slowest)
    }

    private var bitrate: String {
        guard let nominal = snapshot.nominalBitrate else {
            return "–"
        }
        var text = String(format: "%.1f kbps", nominal.streamBitsPerSecond / 1000)
        if let channels = snapshot.streamChannels, channels > 1 {
            text += String(format: " (%.1f per channel)", nominal.streamBitsPerSecondPerChannel / 1000)
        }
        if let measured = snapshot.measuredBitsPerSecond {
            text += String(format: ", received %.1f", measured / 1000)
        }
        return text
    }
}
