package org.tqcodec.stream.player;

import org.junit.Test;
import org.tqcodec.stream.Vectors;
import org.tqcodec.stream.json.Json;

import java.util.Arrays;
import java.util.Collections;
import java.util.Map;

import static org.junit.Assert.assertEquals;

/** The policy of docs/bitstream.md, step by step; ConcealmentVectorsTest checks it against Python's plans. */
public class ConcealmentPlannerTest {
    static final ConcealmentPlanner.Step RESET = ConcealmentPlanner.Step.reset();

    static ConcealmentPlanner.Step decode(int seq, int frames) {
        return ConcealmentPlanner.Step.decode(seq, frames);
    }

    static ConcealmentPlanner.Step conceal(int frames) {
        return ConcealmentPlanner.Step.conceal(frames);
    }

    @Test
    public void theConstantsAreThePolicyBlockOfTheSharedVectors() {
        Map<String, Object> policy = Json.asObject(Vectors.manifest().get("policy"), "policy");
        assertEquals(Json.asLong(policy.get("max_conceal_frames"), "max_conceal_frames"),
                ConcealmentPlanner.MAX_CONCEAL_FRAMES);
        assertEquals(Json.asLong(policy.get("fade_samples"), "fade_samples"), ConcealmentPlanner.FADE_SAMPLES);
        assertEquals(Json.asLong(policy.get("seek_preroll_frames"), "seek_preroll_frames"),
                SeekPlanner.SEEK_PREROLL_FRAMES);
    }

    @Test
    public void aPacketWithNothingLostBeforeIsDecoded() {
        assertEquals(Collections.singletonList(decode(7, 32)), new ConcealmentPlanner(32, 64).plan(7, 32, 0));
    }

    @Test
    public void aShortGapIsConcealedWholeUpToTheLimit() {
        ConcealmentPlanner p = new ConcealmentPlanner(32, 64);
        assertEquals(Arrays.asList(conceal(32), decode(3, 32)), p.plan(3, 32, 1));
        assertEquals(Arrays.asList(conceal(256), decode(9, 5)), p.plan(9, 5, 8)); // exactly 256 frames
    }

    @Test
    public void aLongerGapIsAFadeTailAndAResetWhateverItsLength() {
        ConcealmentPlanner p = new ConcealmentPlanner(32, 64);
        assertEquals(Arrays.asList(conceal(4), RESET, decode(10, 32)), p.plan(10, 32, 9)); // 288 frames
        // a forged 32767-packet jump costs the same 4 frames, not 32767·255 frames of silence
        assertEquals(Arrays.asList(conceal(4), RESET, decode(32767, 1)),
                new ConcealmentPlanner(255, 64).plan(32767, 1, 32767));
        assertEquals(4, ConcealmentPlanner.outputFrames(Arrays.asList(conceal(4), RESET)));
    }

    @Test
    public void theFadeTailIsFadeSamplesOverTheHopRoundedUp() {
        assertEquals(4, ConcealmentPlanner.fadeFrames(64));
        assertEquals(3, ConcealmentPlanner.fadeFrames(100));
        assertEquals(1, ConcealmentPlanner.fadeFrames(512));
        assertEquals(256, ConcealmentPlanner.fadeFrames(1));
    }

    @Test
    public void fadesAreHalfCosines() {
        assertEquals(1f, ConcealmentPlanner.fadeOut(0, 200), 0f);
        assertEquals(0.5f, ConcealmentPlanner.fadeOut(100, 200), 1e-7f);
        assertEquals(0f, ConcealmentPlanner.fadeOut(200, 200), 0f);
        assertEquals(0f, ConcealmentPlanner.fadeOut(5000, 200), 0f);
        assertEquals(0f, ConcealmentPlanner.fadeIn(0), 0f);
        assertEquals(0.5f, ConcealmentPlanner.fadeIn(128), 1e-7f);
        assertEquals(1f, ConcealmentPlanner.fadeIn(256), 0f);
        for (int n = 1; n < 256; n++) { // monotone, and the two fades are mirror images
            assertEquals(true, ConcealmentPlanner.fadeIn(n) > ConcealmentPlanner.fadeIn(n - 1));
            assertEquals(1f - ConcealmentPlanner.fadeIn(n), ConcealmentPlanner.fadeOut(n, 256), 1e-6f);
        }
    }

    @Test
    public void stepsPrintAsTheManifestWritesThem() {
        assertEquals("[\"decode\", 32767, 8]", decode(32767, 8).toString());
        assertEquals("[\"conceal\", 4]", conceal(4).toString());
        assertEquals("[\"reset\"]", RESET.toString());
    }
}
