package org.tqcodec.stream.player;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

public class ArtifactFilesTest {
    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    static final byte[] PROGRAM = "not really a program, but bytes with a digest".getBytes(StandardCharsets.UTF_8);
    // mobile_export.manifest.file_sha256 of PROGRAM saved as each name: sha256(name + bytes)
    static final String SHA_AS_A = "d1b1d4e62e6a6bdc7f0d369e890a67f0f22cc7cbdfd4e93ab4ba353c6d6fd942"; // a-int8-k16.pte
    static final String SHA_AS_X = "9e673bee80425b4cef1272b36fc92b03d377d5f41b6e63aa12b1825691369056"; // x.pte

    static String manifest(String format, String artifact, String sha) {
        return ManifestTest.EXAMPLE.replace("\"format\": \"litert\"", "\"format\": \"" + format + "\"")
                .replace("\"artifact\": \"tq64_int8.tflite\"", "\"artifact\": \"" + artifact + "\"")
                .replace("\"artifact_sha256\": \"" + ManifestTest.ARTIFACT_SHA256 + "\"", "\"artifact_sha256\": \"" + sha + "\"");
    }

    static void write(File f, byte[] data) throws IOException {
        try (OutputStream out = new FileOutputStream(f)) {
            out.write(data);
        }
    }

    @Test
    public void digestsLikeTheExporter() throws IOException {
        File f = tmp.newFile("anything.bin");
        write(f, PROGRAM);
        assertEquals(SHA_AS_X, ArtifactFiles.artifactSha256(f, "x.pte"));
        assertEquals(SHA_AS_A, ArtifactFiles.artifactSha256(f, "a-int8-k16.pte"));
        assertEquals("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                ArtifactFiles.sha256(new ByteArrayInputStream(new byte[0])));
    }

    @Test
    public void findsManifestsOfOneFormatWithTheirArtifacts() throws IOException {
        File dir = tmp.newFolder("models");
        write(new File(dir, "a-int8-k16.pte"), PROGRAM);
        write(new File(dir, "a-int8-k16.manifest.json"),
                manifest("executorch-xnnpack", "a-int8-k16.pte", SHA_AS_A).getBytes(StandardCharsets.UTF_8));
        write(new File(dir, "b.manifest.json"),
                manifest("executorch-xnnpack", "missing.pte", SHA_AS_X).getBytes(StandardCharsets.UTF_8));
        write(new File(dir, "c.manifest.json"),
                manifest("litert", "c.tflite", SHA_AS_X).getBytes(StandardCharsets.UTF_8));
        write(new File(dir, "d.manifest.json"), "{ not json".getBytes(StandardCharsets.UTF_8));
        write(new File(dir, "e.manifest.json"),
                manifest("executorch-xnnpack", "../a-int8-k16.pte", SHA_AS_X).getBytes(StandardCharsets.UTF_8));
        write(new File(dir, "notes.txt"), PROGRAM);
        List<String> problems = new ArrayList<>();
        List<ArtifactFiles.Found> found = ArtifactFiles.find(dir, ExportContract.FORMAT_EXECUTORCH, problems);
        assertEquals(1, found.size());
        assertEquals("a-int8-k16.manifest.json", found.get(0).toString());
        assertEquals(new File(dir, "a-int8-k16.pte"), found.get(0).artifact);
        assertEquals(3, problems.size()); // b: missing artifact, d: not JSON, e: a path, not a name
        assertTrue(problems.toString(), problems.get(0).contains("missing.pte"));
        ArtifactFiles.verify(found.get(0).artifact, found.get(0).manifest);
        assertTrue(ArtifactFiles.find(new File(dir, "nothing-here"), "x", null).isEmpty());
    }

    @Test
    public void refusesAnArtifactThatIsNotTheManifests() throws Exception {
        File dir = tmp.newFolder();
        File pte = new File(dir, "x.pte");
        write(pte, "other bytes".getBytes(StandardCharsets.UTF_8));
        Manifest m = Manifest.parse(manifest("executorch-xnnpack", "x.pte", SHA_AS_X));
        try {
            ArtifactFiles.verify(pte, m);
            fail("accepted the wrong artifact");
        } catch (IOException e) {
            assertTrue(e.getMessage().contains(SHA_AS_X));
        }
    }

    @Test
    public void installsOnceAndOnlyCheckedBytes() throws Exception {
        File dest = new File(tmp.getRoot(), "models/x.pte");
        final int[] opens = {0};
        ArtifactFiles.Opener good = () -> {
            opens[0]++;
            return new ByteArrayInputStream(PROGRAM);
        };
        Manifest m = Manifest.parse(manifest("executorch-xnnpack", "x.pte", SHA_AS_X));
        assertTrue(ArtifactFiles.install(good, dest, m));
        assertEquals(SHA_AS_X, ArtifactFiles.artifactSha256(dest, "x.pte"));
        assertFalse("copied again although the file matched", ArtifactFiles.install(good, dest, m));
        assertEquals(1, opens[0]);

        File other = new File(tmp.getRoot(), "models/y.pte");
        try {
            ArtifactFiles.install(() -> new ByteArrayInputStream("corrupt".getBytes(StandardCharsets.UTF_8)), other, m);
            fail("installed bytes that fail the digest");
        } catch (IOException e) {
            assertTrue(e.getMessage().contains("sha256"));
        }
        assertFalse(other.exists());
        String[] left = dest.getParentFile().list();
        assertEquals("temporary files left behind: " + String.join(", ", left), 1, left.length);
    }
}
