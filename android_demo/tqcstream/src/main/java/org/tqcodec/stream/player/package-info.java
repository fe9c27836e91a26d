/**
 * The player's tested core: the exporter's {@link org.tqcodec.stream.player.Manifest}, the
 * network thread's {@link org.tqcodec.stream.player.ReadAheadStream}, the decode thread
 * ({@link org.tqcodec.stream.player.DecodeLoop}: packets → chunks → decoder → ring, concealment
 * by {@link org.tqcodec.stream.player.ConcealmentPlanner}, seeks by
 * {@link org.tqcodec.stream.player.SeekPlanner}), the {@link org.tqcodec.stream.player.RingBuffer}
 * whose sides sleep until signalled, the audio thread's
 * {@link org.tqcodec.stream.player.PlaybackPump}, safe closing
 * ({@link org.tqcodec.stream.player.GuardedDecoder}) and the music player's focus decisions
 * ({@link org.tqcodec.stream.player.PlaybackFocus}). The Android shell supplies a
 * {@link org.tqcodec.stream.player.ChunkDecoder} (the artifact), an
 * {@link org.tqcodec.stream.player.AudioOutput} (AudioTrack) and an InputStream, and maps
 * Android's callbacks to calls and events; nothing else.
 */
package org.tqcodec.stream.player;
