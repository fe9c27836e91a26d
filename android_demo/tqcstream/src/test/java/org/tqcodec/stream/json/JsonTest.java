package org.tqcodec.stream.json;

import org.junit.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

public class JsonTest {
    @Test
    public void parsesEveryKindOfValue() {
        Map<String, Object> m = Json.asObject(Json.parse(
                " {\"a\": [1, -2, 3.5, 1e3, -0.25E-2], \"b\": {\"c\": null, \"d\": true, \"e\": false},"
                        + " \"s\": \"x\\\"y\\\\z\\/\\n\\t\\u00e9\\ud83c\\udfb5\", \"empty\": [], \"o\": {}} \n"), "m");
        assertEquals(Arrays.<Object>asList(1L, -2L, 3.5, 1000.0, -0.0025), m.get("a"));
        Map<String, Object> b = Json.asObject(m.get("b"), "b");
        assertTrue(b.containsKey("c"));
        assertNull(b.get("c"));
        assertEquals(Boolean.TRUE, b.get("d"));
        assertEquals("x\"y\\z/\n\t\u00e9\ud83c\udfb5", m.get("s"));
        assertEquals(0, Json.asList(m.get("empty"), "empty").size());
        assertEquals(Arrays.asList("a", "b", "s", "empty", "o"), Arrays.asList(m.keySet().toArray()));
    }

    @Test
    public void bigIntegersStayExactUpTo2To63() {
        assertEquals(Long.MAX_VALUE, Json.parse("9223372036854775807"));
        assertEquals(1.8446744073709552E19, Json.parse("18446744073709551615"));
        assertEquals(9007199254740993L, Json.parse("9007199254740993"));
    }

    @Test
    public void rejectsMalformedText() {
        String[] bad = {"", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "[1 2]", "01", "1.", ".5", "-", "1e",
                "\"abc", "\"\\x\"", "\"\\u12\"", "tru", "nul", "NaN", "[1] x", "{\"a\":1, \"a\":2}", "{1:2}",
                "\"a\nb\"", "// c\n1", "+1"};
        for (String s : bad) {
            try {
                Json.parse(s);
                fail("accepted " + s);
            } catch (JsonException e) {
                assertTrue(e.getMessage(), e.getMessage().contains("line "));
            }
        }
    }

    @Test
    public void deepNestingIsAnErrorNotAStackOverflow() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 100000; i++) {
            sb.append('[');
        }
        try {
            Json.parse(sb.toString());
            fail();
        } catch (JsonException e) {
            assertTrue(e.getMessage().contains("nesting"));
        }
        StringBuilder ok = new StringBuilder();
        for (int i = 0; i < Json.MAX_DEPTH; i++) {
            ok.append('[');
        }
        for (int i = 0; i < Json.MAX_DEPTH; i++) {
            ok.append(']');
        }
        assertTrue(Json.parse(ok.toString()) instanceof List);
    }

    @Test
    public void typedAccessNamesWhatIsWrong() {
        Map<String, Object> m = Json.asObject(Json.parse("{\"n\": \"7\", \"big\": 3000000000}"), "m");
        try {
            Json.asInt(m.get("n"), "n");
            fail();
        } catch (JsonException e) {
            assertTrue(e.getMessage(), e.getMessage().startsWith("n: expected an integer"));
        }
        try {
            Json.asInt(m.get("big"), "big");
            fail();
        } catch (JsonException e) {
            assertTrue(e.getMessage().contains("out of int range"));
        }
        try {
            Json.get(m, "missing", "m");
            fail();
        } catch (JsonException e) {
            assertTrue(e.getMessage().contains("missing key 'missing'"));
        }
    }
}
