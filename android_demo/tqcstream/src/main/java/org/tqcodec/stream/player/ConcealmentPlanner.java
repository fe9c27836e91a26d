package org.tqcodec.stream.player;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The one concealment policy of docs/bitstream.md ("Playing a damaged stream: the concealment
 * policy"), shared with Python ({@code tqcodec/concealment.py}) and Swift: a pure function from a
 * delivered packet to the steps that play it, plus the fade gains.
 *
 * <p>Why a plan: a stream's sequence numbers are not to be trusted (two CRC-valid packets
 * numbered 0 and 32767 claim a gap of 32767 packets, hours of audio), so a gap is concealed only
 * up to {@link #MAX_CONCEAL_FRAMES}; a longer one gets a short fade-out tail and a decoder
 * reset, and its time is not inserted. Every packet then adds at most
 * {@code frames_per_packet + MAX_CONCEAL_FRAMES} frames. {@code tests/vectors/manifest.json} pins
 * the plan of every damaged vector, and its {@code policy} block these constants.
 */
public final class ConcealmentPlanner {
    /** Longest gap filled with concealment (371 ms at 689 frames/s). */
    public static final int MAX_CONCEAL_FRAMES = 256;
    /** Length of every fade-out and fade-in (5.8 ms at 44.1 kHz). */
    public static final int FADE_SAMPLES = 256;

    /** One step of a plan: {@code ["decode", sequence, frames]}, {@code ["conceal", frames]} or {@code ["reset"]}. */
    public static final class Step {
        public enum Kind { DECODE, CONCEAL, RESET }

        public final Kind kind;
        /** The packet's sequence number (DECODE only, else -1). */
        public final int sequence;
        /** Frames decoded or concealed (0 for RESET). */
        public final long frames;

        private Step(Kind kind, int sequence, long frames) {
            this.kind = kind;
            this.sequence = sequence;
            this.frames = frames;
        }

        public static Step decode(int sequence, long frames) {
            return new Step(Kind.DECODE, sequence, frames);
        }

        public static Step conceal(long frames) {
            return new Step(Kind.CONCEAL, -1, frames);
        }

        public static Step reset() {
            return new Step(Kind.RESET, -1, 0);
        }

        /** As the manifest writes it, e.g. {@code ["decode", 3, 8]}. */
        @Override
        public String toString() {
            switch (kind) {
                case DECODE:
                    return "[\"decode\", " + sequence + ", " + frames + "]";
                case CONCEAL:
                    return "[\"conceal\", " + frames + "]";
                default:
                    return "[\"reset\"]";
            }
        }

        @Override
        public boolean equals(Object o) {
            if (!(o instanceof Step)) {
                return false;
            }
            Step s = (Step) o;
            return kind == s.kind && sequence == s.sequence && frames == s.frames;
        }

        @Override
        public int hashCode() {
            return (kind.ordinal() * 31 + sequence) * 31 + (int) frames;
        }
    }

    private final int framesPerPacket;
    private final int hop;

    public ConcealmentPlanner(int framesPerPacket, int hop) {
        if (framesPerPacket < 1 || hop < 1) {
            throw new IllegalArgumentException("framesPerPacket and hop must be positive");
        }
        this.framesPerPacket = framesPerPacket;
        this.hop = hop;
    }

    /** Frames of fade-out tail before a reset: FADE_SAMPLES / hop, rounded up. */
    public static int fadeFrames(int hop) {
        return (FADE_SAMPLES + hop - 1) / hop;
    }

    /**
     * The steps that play one delivered packet (what a live player does on its arrival).
     *
     * @param lostBefore packets the reader says are missing just before it
     */
    public List<Step> plan(int sequence, int frames, long lostBefore) {
        Step decode = Step.decode(sequence, frames);
        long gap = lostBefore * framesPerPacket;
        if (gap <= 0) {
            return Collections.singletonList(decode);
        }
        List<Step> out = new ArrayList<>(3);
        if (gap <= MAX_CONCEAL_FRAMES) {
            out.add(Step.conceal(gap));
        } else {
            out.add(Step.conceal(fadeFrames(hop)));
            out.add(Step.reset());
        }
        out.add(decode);
        return out;
    }

    /** Output frames of a plan (before any total_samples cap). */
    public static long outputFrames(List<Step> steps) {
        long n = 0;
        for (Step s : steps) {
            n += s.frames;
        }
        return n;
    }

    /** Gain of sample n of a fade-out over {@code length} samples: 0.5·(1 + cos(π·n/length)), 0 from n = length on. */
    public static float fadeOut(long n, int length) {
        return n < length ? (float) (0.5 * (1.0 + Math.cos(Math.PI * n / length))) : 0f;
    }

    /** Gain of sample n after a gap: 0.5·(1 − cos(π·n/FADE_SAMPLES)), 1 from n = FADE_SAMPLES on. */
    public static float fadeIn(long n) {
        return n < FADE_SAMPLES ? (float) (0.5 * (1.0 - Math.cos(Math.PI * n / FADE_SAMPLES))) : 1f;
    }
}
