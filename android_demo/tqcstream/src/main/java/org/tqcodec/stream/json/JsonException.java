package org.tqcodec.stream.json;

/** Malformed JSON, or JSON of the wrong shape for what reads it. */
public final class JsonException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public JsonException(String message) {
        super(message);
    }
}
