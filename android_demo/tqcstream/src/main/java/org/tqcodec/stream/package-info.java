/**
 * The {@code .tqc} stream format (docs/bitstream.md) for Java: {@link org.tqcodec.stream.StreamReader}
 * mirrors {@code tqcodec/bitstream.py} check for check, with the same error kinds, offsets and
 * packet numbers, as tests/vectors pins them down. Plain Java 8, no Android imports.
 */
package org.tqcodec.stream;
