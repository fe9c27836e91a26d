/**
 * The player's tested core: the exporter's {@link org.tqcodec.stream.player.Manifest}, the decode
 * thread ({@link org.tqcodec.stream.player.DecodeLoop}: packets → chunks → decoder → ring, with
 * concealment of lost packets), the lock-free {@link org.tqcodec.stream.player.RingBuffer}, and
 * the audio thread's {@link org.tqcodec.stream.player.PlaybackPump}. The Android shell supplies a
 * {@link org.tqcodec.stream.player.ChunkDecoder} (the artifact), an
 * {@link org.tqcodec.stream.player.AudioSink} (AudioTrack) and an InputStream; nothing else.
 */
package org.tqcodec.stream.player;
