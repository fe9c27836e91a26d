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
    public void rejectsMalformedTextNamingTheLineAndColumn() {
        String[] bad = {"", "{", "{\"a\":1,}", "{\"a\" 1}", "[1 2]", "\"abc", "\"\\u12\"", "[1] x", "{1:2}",
                "{\"a\":}", "]", "[\"a\" \"b\"]"};
        for (String s : bad) {
            try {
                Json.parse(s);
                fail("accepted " + s);
            } catch (JsonException e) {
                assertTrue(e.getMessage(), e.getMessage().contains("line "));
                assertTrue("no copy of the input: " + e.getMessage(), !e.getMessage().contains("at character"));
            }
        }
        assertEquals("unexpected data after the JSON value at line 2, column 3",
                message("{\"a\": [1]}\n  x"));
        for (String s : new String[] {"NaN", "[1, -Infinity]"}) {
            assertTrue(message(s), message(s).startsWith("not a JSON number"));
        }
    }

    /** org.json (Android's parser) is lenient here; pinned so that a change of parser shows. */
    @Test
    public void orgJsonLeniencyIsAsDocumented() {
        assertEquals(Arrays.asList(1L, null), Json.parse("[1,]"));          // a trailing comma: a null element
        assertEquals(2L, Json.asObject(Json.parse("{\"a\":1, \"a\":2}"), "o").get("a")); // the last value wins
        assertEquals(1L, Json.parse("// comment\n1"));
        assertEquals("tru", Json.parse("tru"));                             // an unquoted word is a string
        assertEquals(1L, Json.parse("01"));
    }

    static String message(String text) {
        try {
            Json.parse(text);
        } catch (JsonException e) {
            return e.getMessage();
        }
        throw new AssertionError("accepted " + text);
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
