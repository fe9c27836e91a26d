package org.tqcodec.stream.player;

/**
 * The decoder's runtime cannot run on this device: its native library is missing or does not
 * link (e.g. ExecuTorch's AAR ships 64-bit code only, and a 32-bit device has none to load).
 * The player shows this as an error state instead of crashing on the {@link LinkageError}.
 */
public final class DecoderUnavailableException extends Exception {
    private static final long serialVersionUID = 1L;

    public DecoderUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }

    /**
     * @param runtime the runtime's name, e.g. "ExecuTorch"
     * @param deviceAbis the device's ABIs, most preferred first (Android: {@code Build.SUPPORTED_ABIS})
     * @param shippedAbis the ABIs the app ships native code for
     */
    public static DecoderUnavailableException of(String runtime, LinkageError e, String[] deviceAbis,
                                                 String[] shippedAbis) {
        return new DecoderUnavailableException(runtime + "'s native library cannot be loaded on this device (ABIs "
                + join(deviceAbis) + "; the app ships " + join(shippedAbis) + "): " + e, e);
    }

    private static String join(String[] items) {
        if (items == null || items.length == 0) {
            return "none";
        }
        StringBuilder b = new StringBuilder();
        for (String s : items) {
            if (b.length() > 0) {
                b.append(", ");
            }
            b.append(s);
        }
        return b.toString();
    }
}
