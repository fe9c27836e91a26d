package org.tqcodec.stream.player;

/** A manifest that cannot be read, is not JSON, or breaks the exporter's contract. */
public final class ManifestException extends Exception {
    private static final long serialVersionUID = 1L;

    public ManifestException(String message) {
        super(message);
    }

    public ManifestException(String message, Throwable cause) {
        super(message, cause);
    }
}
