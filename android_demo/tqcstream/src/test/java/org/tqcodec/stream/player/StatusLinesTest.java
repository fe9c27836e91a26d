package org.tqcodec.stream.player;

import org.junit.Test;
import org.tqcodec.stream.StreamHeader;
import org.tqcodec.stream.TestStreams;

import static org.junit.Assert.assertEquals;

public class StatusLinesTest {
    @Test
    public void beforeAnythingArrived() {
        StatusLines l = StatusLines.of(new PlayerStats(), null, 0, 0.0, true, -1);
        assertEquals("decode real-time factor: –", l.realTime);
        assertEquals("buffer: 0.00 s (filling)", l.buffer);
        assertEquals("underruns: 0", l.underruns);
        assertEquals("bitrate: waiting for the header; received –", l.bitrate);
        assertEquals("damaged packets: 0 (0 frames concealed; 0 reader events)", l.damage);
        assertEquals("stream: –", l.stream);
        assertEquals("chunk decode: –", l.chunkTimes);
        assertEquals("position: –", l.position);
    }

    @Test
    public void positionChunkTimesAndTheSeekBar() {
        PlayerStats st = new PlayerStats();
        st.setChunkSeconds(8 * 64 / 44100.0);
        st.chunkDecoded(3_000_000, 8);
        st.chunkDecoded(7_000_000, 8);
        st.chunkDecoded(2_000_000, 8);
        st.decoderResets.set(2);
        StatusLines l = StatusLines.of(st, null, 0, 1.0, false, -1, 75.25, 225.0, true);
        assertEquals("chunk decode: last 2.0 ms, mean 4.0 ms, max 7.0 ms (a chunk is 11.6 ms of audio)", l.chunkTimes);
        assertEquals("position: 1:15.3 / 3:45.0 (paused)", l.position);
        assertEquals("damaged packets: 0 (0 frames concealed; 0 reader events); 2 long gaps skipped", l.damage);
        assertEquals("position: 0:59.9 (length unknown)",
                StatusLines.of(st, null, 0, 1.0, false, -1, 59.94, Double.NaN, false).position);
        assertEquals(334, StatusLines.seekBarValue(75.25, 225.0, 1000));
        assertEquals(0, StatusLines.seekBarValue(75.25, Double.NaN, 1000));
        assertEquals(1000, StatusLines.seekBarValue(300, 225.0, 1000));
        assertEquals(112.5, StatusLines.seekBarSeconds(500, 1000, 225.0), 1e-12);
        assertEquals(0.0, StatusLines.seekBarSeconds(500, 1000, Double.NaN), 0);
    }

    @Test
    public void whilePlaying() throws Exception {
        StreamHeader h = new StreamHeader.Builder(2, 10, TestStreams.fingerprint(5)).bits(9).build();
        PlayerStats st = new PlayerStats();
        st.setFrameSeconds(64.0 / 44100);
        RingBuffer ring = new RingBuffer(1 << 16);
        ring.write(new float[2 * 22050], 0, 2 * 22050);
        st.setBuffer(ring, 2, 44100);
        st.decodedFrames.set(6891); // 10.0 s of audio
        st.decodeNanos.set(2_500_000_000L);
        st.chunksDecoded.set(431);
        st.underruns.set(2);
        st.damagedPackets.set(3);
        st.concealedFrames.set(96);
        st.streamEvents.set(4);
        StatusLines l = StatusLines.of(st, h, 160_000, 10.0, false, 1);
        assertEquals("decode real-time factor: 0.250 (4.0× real time, 431 chunks)", l.realTime);
        assertEquals("buffer: 0.50 s", l.buffer);
        assertEquals("underruns: 2 (AudioTrack: 1)", l.underruns);
        assertEquals("bitrate: 125.6 kbps (codes 124.0, overhead 1.25 %); received 128.0 kbps", l.bitrate);
        assertEquals("damaged packets: 3 (96 frames concealed; 4 reader events)", l.damage);
        assertEquals("stream: 44100 Hz, stereo, 10 codebooks × 9 bits, 32 frames per packet", l.stream);
    }
}
