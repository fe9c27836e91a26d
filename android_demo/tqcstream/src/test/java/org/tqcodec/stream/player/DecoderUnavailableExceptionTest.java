package org.tqcodec.stream.player;

import org.junit.Test;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertSame;

public class DecoderUnavailableExceptionTest {
    @Test
    public void aLinkErrorBecomesOneLineNamingTheDevicesAndTheShippedAbis() {
        UnsatisfiedLinkError e = new UnsatisfiedLinkError("dlopen failed: library \"libexecutorch.so\" not found");
        DecoderUnavailableException x = DecoderUnavailableException.of("ExecuTorch", e,
                new String[] {"armeabi-v7a", "armeabi"}, new String[] {"arm64-v8a", "x86_64"});
        assertEquals("ExecuTorch's native library cannot be loaded on this device (ABIs armeabi-v7a, armeabi;"
                + " the app ships arm64-v8a, x86_64): java.lang.UnsatisfiedLinkError: dlopen failed: library"
                + " \"libexecutorch.so\" not found", x.getMessage());
        assertSame(e, x.getCause());
        assertEquals("ExecuTorch's native library cannot be loaded on this device (ABIs none; the app ships none): "
                + "java.lang.NoClassDefFoundError: Module", DecoderUnavailableException.of("ExecuTorch",
                new NoClassDefFoundError("Module"), null, new String[0]).getMessage());
    }
}
