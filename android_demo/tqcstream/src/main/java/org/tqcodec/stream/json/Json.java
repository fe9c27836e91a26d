package org.tqcodec.stream.json;

import org.json.JSONArray;
import org.json.JSONException;
import org.json.JSONObject;
import org.json.JSONTokener;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * JSON for manifests and test vectors, parsed by {@code org.json}: Android's own parser (part of
 * the platform, so the app carries no JSON library), and on the JVM the same code from Debian's
 * {@code libandroid-json-java}. This class only turns its tree into plain Java values and gives
 * typed access with the key path in every error.
 *
 * <p>Values map to: object → {@code Map<String, Object>} (insertion order kept), array →
 * {@code List<Object>}, string → {@code String}, {@code true/false} → {@code Boolean},
 * {@code null} → {@code null}, number → {@code Long} when it is an integer that fits, else
 * {@code Double}. Data after the value, NaN or infinite numbers, and a nesting deeper than
 * {@value #MAX_DEPTH} (org.json recurses: a deep enough file would overflow the stack) are
 * rejected with a {@link JsonException} naming the line and column. org.json is lenient
 * elsewhere (comments, unquoted names, a duplicate name's last value wins, a trailing comma in
 * an array reads as a null element); the typed helpers catch values of the wrong shape.
 */
public final class Json {
    public static final int MAX_DEPTH = 256;

    private Json() {
    }

    /** Parse one JSON text (surrounding whitespace allowed). */
    public static Object parse(String text) {
        checkDepth(text);
        JSONTokener t = new JSONTokener(text);
        Object v;
        try {
            v = t.nextValue();
            if (t.nextClean() != 0) {
                throw new JsonException("unexpected data after the JSON value" + where(text, position(t) - 1));
            }
        } catch (JSONException e) {
            throw new JsonException(message(e, text));
        }
        return plain(v, text);
    }

    // ---- typed access helpers (throw JsonException with the key path on a wrong type)

    @SuppressWarnings("unchecked")
    public static Map<String, Object> asObject(Object v, String what) {
        if (v instanceof Map) {
            return (Map<String, Object>) v;
        }
        throw new JsonException(what + ": expected an object, got " + describe(v));
    }

    @SuppressWarnings("unchecked")
    public static List<Object> asList(Object v, String what) {
        if (v instanceof List) {
            return (List<Object>) v;
        }
        throw new JsonException(what + ": expected an array, got " + describe(v));
    }

    public static String asString(Object v, String what) {
        if (v instanceof String) {
            return (String) v;
        }
        throw new JsonException(what + ": expected a string, got " + describe(v));
    }

    public static long asLong(Object v, String what) {
        if (v instanceof Long) {
            return (Long) v;
        }
        throw new JsonException(what + ": expected an integer, got " + describe(v));
    }

    public static int asInt(Object v, String what) {
        long x = asLong(v, what);
        if (x < Integer.MIN_VALUE || x > Integer.MAX_VALUE) {
            throw new JsonException(what + ": integer " + x + " out of int range");
        }
        return (int) x;
    }

    public static double asDouble(Object v, String what) {
        if (v instanceof Long || v instanceof Double) {
            return ((Number) v).doubleValue();
        }
        throw new JsonException(what + ": expected a number, got " + describe(v));
    }

    public static boolean asBoolean(Object v, String what) {
        if (v instanceof Boolean) {
            return (Boolean) v;
        }
        throw new JsonException(what + ": expected true or false, got " + describe(v));
    }

    /** The member {@code key} of {@code obj}; a missing key is an error (a null value is not). */
    public static Object get(Map<String, Object> obj, String key, String what) {
        if (!obj.containsKey(key)) {
            throw new JsonException(what + ": missing key '" + key + "'");
        }
        return obj.get(key);
    }

    private static String describe(Object v) {
        if (v == null) {
            return "null";
        }
        String t = v instanceof Map ? "object" : v instanceof List ? "array" : v instanceof String ? "string"
                : v instanceof Boolean ? "boolean" : "number";
        String text = String.valueOf(v);
        return t + " " + (text.length() > 40 ? text.substring(0, 40) + "..." : text);
    }

    // ---- org.json's tree to plain values

    private static Object plain(Object v, String text) {
        if (v == null || v == JSONObject.NULL) {
            return null;
        }
        if (v instanceof JSONObject) {
            JSONObject o = (JSONObject) v;
            Map<String, Object> out = new LinkedHashMap<>();
            Iterator<String> keys = o.keys();
            while (keys.hasNext()) {
                String k = keys.next();
                out.put(k, plain(o.opt(k), text));
            }
            return out;
        }
        if (v instanceof JSONArray) {
            JSONArray a = (JSONArray) v;
            List<Object> out = new ArrayList<>(a.length());
            for (int i = 0; i < a.length(); i++) {
                out.add(plain(a.opt(i), text));
            }
            return out;
        }
        if (v instanceof Integer || v instanceof Long) {
            return ((Number) v).longValue();
        }
        if (v instanceof Number) {
            double d = ((Number) v).doubleValue();
            if (Double.isNaN(d) || Double.isInfinite(d)) {
                throw new JsonException("not a JSON number: " + v);
            }
            return d;
        }
        return v; // String, Boolean
    }

    /** Refuse a nesting org.json would recurse into too deeply (strings are skipped). */
    private static void checkDepth(String text) {
        int depth = 0;
        boolean inString = false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (inString) {
                if (c == '\\') {
                    i++;
                } else if (c == '"') {
                    inString = false;
                }
            } else if (c == '"') {
                inString = true;
            } else if (c == '[' || c == '{') {
                if (++depth > MAX_DEPTH) {
                    throw new JsonException("nesting deeper than " + MAX_DEPTH + where(text, i));
                }
            } else if (c == ']' || c == '}') {
                depth--;
            }
        }
    }

    /** org.json's message without the copy of the whole input it appends, with line and column. */
    private static String message(JSONException e, String text) {
        String m = String.valueOf(e.getMessage());
        int at = m.indexOf(" at character ");
        if (at < 0) {
            return m;
        }
        int end = at + " at character ".length();
        int stop = end;
        while (stop < m.length() && Character.isDigit(m.charAt(stop))) {
            stop++;
        }
        int pos = stop > end ? Integer.parseInt(m.substring(end, stop)) : -1;
        return m.substring(0, at) + (pos >= 0 ? where(text, pos) : "");
    }

    private static int position(JSONTokener t) {
        String s = t.toString(); // " at character N of ..."
        int at = s.indexOf(" at character ");
        if (at < 0) {
            return -1;
        }
        int i = at + " at character ".length(), j = i;
        while (j < s.length() && Character.isDigit(s.charAt(j))) {
            j++;
        }
        return j > i ? Integer.parseInt(s.substring(i, j)) : -1;
    }

    private static String where(String text, int pos) {
        if (pos < 0) {
            return "";
        }
        int line = 1, col = 1;
        for (int i = 0; i < Math.min(pos, text.length()); i++) {
            if (text.charAt(i) == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        return " at line " + line + ", column " + col;
    }
}
