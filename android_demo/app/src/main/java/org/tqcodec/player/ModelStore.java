package org.tqcodec.player;

import android.content.Context;
import android.content.res.AssetManager;

import org.tqcodec.stream.player.ArtifactFiles;
import org.tqcodec.stream.player.ExportContract;
import org.tqcodec.stream.player.Manifest;
import org.tqcodec.stream.player.ManifestException;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Where the ExecuTorch decoders are: each is a {@code <stem>.manifest.json} with the {@code .pte}
 * it names, either pushed to the app's external files folder ({@code files/models/}, see
 * README.md) or packaged in the APK's {@code assets/models/}. ExecuTorch loads from a path, so a
 * packaged program is first installed as a file under the app's private files (once; it is kept
 * while it matches the manifest's SHA-256).
 */
final class ModelStore {
    static final String DIR = "models";

    /** One decoder artifact and where it lives. */
    static final class Model {
        final String label;
        final Manifest manifest;
        final File file;       // pushed: the .pte itself
        final String assetDir; // packaged: the asset folder holding the .pte

        private Model(String label, Manifest manifest, File file, String assetDir) {
            this.label = label;
            this.manifest = manifest;
            this.file = file;
            this.assetDir = assetDir;
        }

        @Override
        public String toString() {
            return label;
        }
    }

    private final Context context;

    ModelStore(Context context) {
        this.context = context.getApplicationContext();
    }

    /** The pushed folder ({@code /sdcard/Android/data/<package>/files/models}), or null without storage. */
    File pushedDir() {
        return context.getExternalFilesDir(DIR);
    }

    /** Every usable model: pushed ones first, then packaged ones; {@code problems} gets the skipped. */
    List<Model> list(List<String> problems) {
        List<Model> out = new ArrayList<>();
        File dir = pushedDir();
        if (dir != null) {
            for (ArtifactFiles.Found f : ArtifactFiles.find(dir, ExportContract.FORMAT_EXECUTORCH, problems)) {
                out.add(new Model(f.manifestFile.getName().replace(ExportContract.MANIFEST_SUFFIX, "") + " (pushed)",
                        f.manifest, f.artifact, null));
            }
        }
        AssetManager assets = context.getAssets();
        String[] names;
        try {
            names = assets.list(DIR);
        } catch (IOException e) {
            problems.add("assets/" + DIR + ": " + e.getMessage());
            return out;
        }
        if (names == null) {
            return out;
        }
        Arrays.sort(names);
        List<String> present = Arrays.asList(names);
        for (String name : names) {
            if (!name.endsWith(ExportContract.MANIFEST_SUFFIX)) {
                continue;
            }
            Manifest m;
            try (InputStream in = assets.open(DIR + "/" + name)) {
                m = Manifest.parse(ArtifactFiles.readText(in));
            } catch (IOException | ManifestException e) {
                problems.add("assets/" + DIR + "/" + name + ": " + e.getMessage());
                continue;
            }
            if (!ExportContract.FORMAT_EXECUTORCH.equals(m.format())) {
                continue;
            }
            if (m.artifact() == null || !present.contains(m.artifact())) {
                problems.add("assets/" + DIR + "/" + name + ": artifact " + m.artifact() + " is not packaged beside it");
                continue;
            }
            out.add(new Model(name.replace(ExportContract.MANIFEST_SUFFIX, "") + " (packaged)", m, null, DIR));
        }
        return out;
    }

    /**
     * The model's program as a file ExecuTorch can load, checked against the manifest's SHA-256.
     * Blocks (copying and hashing a few MB): call off the UI thread.
     */
    File programFile(Model model) throws IOException {
        if (model.file != null) {
            ArtifactFiles.verify(model.file, model.manifest);
            return model.file;
        }
        final String asset = model.assetDir + "/" + model.manifest.artifact();
        File dest = new File(new File(context.getFilesDir(), DIR), model.manifest.artifact());
        ArtifactFiles.install(() -> context.getAssets().open(asset), dest, model.manifest);
        return dest;
    }
}
