package org.tqcodec.stream.player;

import java.io.File;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Exported artifacts on disk: finding {@code <stem>.manifest.json} files and the artifact each
 * names, checking an artifact against the manifest's {@code artifact_sha256}, and installing one
 * from a stream (an APK asset) as a file, which runtimes that load from a path need.
 */
public final class ArtifactFiles {
    private ArtifactFiles() {
    }

    /** A manifest found on disk, with the artifact file it names (beside it). */
    public static final class Found {
        public final File manifestFile;
        public final Manifest manifest;
        public final File artifact;

        Found(File manifestFile, Manifest manifest, File artifact) {
            this.manifestFile = manifestFile;
            this.manifest = manifest;
            this.artifact = artifact;
        }

        @Override
        public String toString() {
            return manifestFile.getName();
        }
    }

    /**
     * Manifests in {@code dir} of the given {@code format} whose artifact is there too, sorted by
     * file name. Files that are not manifests of that format are skipped; a manifest of that
     * format that is broken, or whose artifact is missing, is reported in {@code problems}.
     *
     * @param problems collects one line per skipped manifest (may be null)
     */
    public static List<Found> find(File dir, String format, List<String> problems) {
        List<Found> out = new ArrayList<>();
        File[] files = dir.listFiles();
        if (files == null) {
            return out;
        }
        Arrays.sort(files);
        for (File f : files) {
            if (!f.isFile() || !f.getName().endsWith(ExportContract.MANIFEST_SUFFIX)) {
                continue;
            }
            Manifest m;
            try {
                m = Manifest.read(f);
            } catch (ManifestException e) {
                if (problems != null) {
                    problems.add(e.getMessage());
                }
                continue;
            }
            if (!format.equals(m.format())) {
                continue;
            }
            String name = m.artifact();
            File artifact = name == null ? null : new File(dir, name);
            if (artifact == null || name.contains("/") || name.contains("\\") || !artifact.isFile()) {
                if (problems != null) {
                    problems.add(f.getName() + ": artifact " + (name == null ? "not named" : "'" + name + "' not found in "
                            + dir));
                }
                continue;
            }
            out.add(new Found(f, m, artifact));
        }
        return out;
    }

    /**
     * The manifest's {@code artifact_sha256} of a single-file artifact, as
     * {@code mobile_export/manifest.py file_sha256} computes it: SHA-256 over the file's name
     * (UTF-8) followed by its bytes, lowercase hex.
     *
     * @param name the name the exporter hashed: the manifest's {@code artifact}
     */
    public static String artifactSha256(File f, String name) throws IOException {
        MessageDigest md = sha256Digest();
        md.update(name.getBytes(StandardCharsets.UTF_8));
        try (InputStream in = new FileInputStream(f)) {
            update(md, in, null);
        }
        return hex(md.digest());
    }

    /** Lowercase hex SHA-256 of a stream's remaining bytes. */
    public static String sha256(InputStream in) throws IOException {
        MessageDigest md = sha256Digest();
        update(md, in, null);
        return hex(md.digest());
    }

    private static void update(MessageDigest md, InputStream in, OutputStream copy) throws IOException {
        byte[] buf = new byte[1 << 16];
        int n;
        while ((n = in.read(buf)) > 0) {
            md.update(buf, 0, n);
            if (copy != null) {
                copy.write(buf, 0, n);
            }
        }
    }

    private static String hashedName(File f, Manifest m) {
        return m.artifact() != null ? m.artifact() : f.getName();
    }

    /**
     * Check a file against the manifest's {@code artifact_sha256} (no check when it names none;
     * see {@link #artifactSha256}).
     *
     * @throws IOException naming both digests if they differ
     */
    public static void verify(File artifact, Manifest m) throws IOException {
        String want = m.artifactSha256();
        if (want == null) {
            return;
        }
        String got = artifactSha256(artifact, hashedName(artifact, m));
        if (!got.equals(want)) {
            throw new IOException(artifact.getName() + " is not the artifact its manifest describes (sha256 " + got
                    + ", manifest " + want + "): copy both files from the same export");
        }
    }

    /**
     * Make {@code dest} hold the artifact whose bytes {@code source} opens: kept as it is if it
     * already matches {@code artifact_sha256}, else written to a temporary file beside it,
     * checked, and renamed into place (a reader never sees half a file).
     *
     * @return true if the file was (re)written
     */
    public static boolean install(Opener source, File dest, Manifest m) throws IOException {
        String want = m.artifactSha256();
        String name = hashedName(dest, m);
        if (want != null && dest.isFile() && artifactSha256(dest, name).equals(want)) {
            return false;
        }
        File dir = dest.getAbsoluteFile().getParentFile();
        if (!dir.isDirectory() && !dir.mkdirs()) {
            throw new IOException("cannot create " + dir);
        }
        File tmp = File.createTempFile("." + dest.getName() + ".", ".tmp", dir);
        boolean done = false;
        try {
            MessageDigest md = sha256Digest();
            md.update(name.getBytes(StandardCharsets.UTF_8));
            try (InputStream in = source.open(); OutputStream out = new FileOutputStream(tmp)) {
                update(md, in, out);
            }
            String got = hex(md.digest());
            if (want != null && !got.equals(want)) {
                throw new IOException(dest.getName() + ": copied bytes have sha256 " + got + ", the manifest says " + want);
            }
            if (!tmp.renameTo(dest)) {
                throw new IOException("cannot rename " + tmp + " to " + dest);
            }
            done = true;
            return true;
        } finally {
            if (!done && !tmp.delete() && tmp.exists()) {
                tmp.deleteOnExit();
            }
        }
    }

    /** Opens the bytes to install (e.g. {@code () -> assets.open(path)}). */
    public interface Opener {
        InputStream open() throws IOException;
    }

    /** Read a whole stream as UTF-8 text (a manifest from an asset). */
    public static String readText(InputStream in) throws IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        int n;
        while ((n = in.read(buf)) > 0) {
            out.write(buf, 0, n);
        }
        return new String(out.toByteArray(), StandardCharsets.UTF_8);
    }

    private static MessageDigest sha256Digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError("every Java platform has SHA-256", e);
        }
    }

    private static String hex(byte[] b) {
        StringBuilder s = new StringBuilder(2 * b.length);
        for (byte x : b) {
            s.append(Character.forDigit((x >> 4) & 0xF, 16)).append(Character.forDigit(x & 0xF, 16));
        }
        return s.toString();
    }
}
