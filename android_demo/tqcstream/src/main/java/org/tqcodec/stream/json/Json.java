package org.tqcodec.stream.json;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small strict JSON (RFC 8259) parser for manifests and test vectors; no dependencies.
 *
 * <p>Values map to: object → {@code Map<String, Object>} (insertion order kept), array →
 * {@code List<Object>}, string → {@code String}, {@code true/false} → {@code Boolean},
 * {@code null} → {@code null}, number → {@code Long} when it has no fraction or exponent and
 * fits, else {@code Double}. Duplicate keys, trailing commas, comments, NaN and a nesting
 * deeper than {@value #MAX_DEPTH} are rejected with a {@link JsonException} naming the position.
 */
public final class Json {
    public static final int MAX_DEPTH = 256;

    private final String s;
    private int i;
    private int depth;

    private Json(String s) {
        this.s = s;
    }

    /** Parse one JSON text (surrounding whitespace allowed). */
    public static Object parse(String text) {
        Json p = new Json(text);
        p.skipWs();
        Object v = p.value();
        p.skipWs();
        if (p.i != text.length()) {
            throw p.error("unexpected data after the JSON value");
        }
        return v;
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

    // ---- the parser

    private Object value() {
        if (i >= s.length()) {
            throw error("unexpected end of input, expected a value");
        }
        char c = s.charAt(i);
        switch (c) {
            case '{':
                return object();
            case '[':
                return array();
            case '"':
                return string();
            case 't':
                return literal("true", Boolean.TRUE);
            case 'f':
                return literal("false", Boolean.FALSE);
            case 'n':
                return literal("null", null);
            default:
                if (c == '-' || (c >= '0' && c <= '9')) {
                    return number();
                }
                throw error("unexpected character '" + c + "'");
        }
    }

    private Map<String, Object> object() {
        enter();
        i++; // {
        Map<String, Object> m = new LinkedHashMap<>();
        skipWs();
        if (peek() == '}') {
            i++;
            depth--;
            return m;
        }
        while (true) {
            skipWs();
            if (peek() != '"') {
                throw error("expected a string key");
            }
            int keyAt = i;
            String key = string();
            skipWs();
            expect(':');
            skipWs();
            Object v = value();
            if (m.containsKey(key)) {
                i = keyAt;
                throw error("duplicate key '" + key + "'");
            }
            m.put(key, v);
            skipWs();
            char c = next();
            if (c == '}') {
                depth--;
                return m;
            }
            if (c != ',') {
                i--;
                throw error("expected ',' or '}'");
            }
        }
    }

    private List<Object> array() {
        enter();
        i++; // [
        List<Object> list = new ArrayList<>();
        skipWs();
        if (peek() == ']') {
            i++;
            depth--;
            return list;
        }
        while (true) {
            skipWs();
            list.add(value());
            skipWs();
            char c = next();
            if (c == ']') {
                depth--;
                return list;
            }
            if (c != ',') {
                i--;
                throw error("expected ',' or ']'");
            }
        }
    }

    private String string() {
        i++; // opening quote
        StringBuilder sb = null;
        int start = i;
        while (true) {
            if (i >= s.length()) {
                throw error("unterminated string");
            }
            char c = s.charAt(i);
            if (c == '"') {
                String out = sb == null ? s.substring(start, i) : sb.append(s, start, i).toString();
                i++;
                return out;
            }
            if (c < 0x20) {
                throw error("control character in string");
            }
            if (c != '\\') {
                i++;
                continue;
            }
            if (sb == null) {
                sb = new StringBuilder();
            }
            sb.append(s, start, i);
            i++;
            char e = next();
            switch (e) {
                case '"': sb.append('"'); break;
                case '\\': sb.append('\\'); break;
                case '/': sb.append('/'); break;
                case 'b': sb.append('\b'); break;
                case 'f': sb.append('\f'); break;
                case 'n': sb.append('\n'); break;
                case 'r': sb.append('\r'); break;
                case 't': sb.append('\t'); break;
                case 'u': sb.append(hex4()); break;
                default:
                    i--;
                    throw error("bad escape '\\" + e + "'");
            }
            start = i;
        }
    }

    private char hex4() {
        if (i + 4 > s.length()) {
            throw error("truncated \\u escape");
        }
        int v = 0;
        for (int k = 0; k < 4; k++) {
            int d = Character.digit(s.charAt(i + k), 16);
            if (d < 0) {
                throw error("bad \\u escape");
            }
            v = v * 16 + d;
        }
        i += 4;
        return (char) v; // surrogate pairs arrive as two escapes and join in the StringBuilder
    }

    private Object number() {
        int start = i;
        if (peek() == '-') {
            i++;
        }
        if (peek() == '0') {
            i++;
        } else if (isDigit(peek())) {
            while (isDigit(peek())) {
                i++;
            }
        } else {
            throw error("bad number");
        }
        boolean integer = true;
        if (peek() == '.') {
            integer = false;
            i++;
            if (!isDigit(peek())) {
                throw error("bad number: digits expected after '.'");
            }
            while (isDigit(peek())) {
                i++;
            }
        }
        if (peek() == 'e' || peek() == 'E') {
            integer = false;
            i++;
            if (peek() == '+' || peek() == '-') {
                i++;
            }
            if (!isDigit(peek())) {
                throw error("bad number: digits expected in the exponent");
            }
            while (isDigit(peek())) {
                i++;
            }
        }
        String text = s.substring(start, i);
        if (integer) {
            try {
                return Long.parseLong(text);
            } catch (NumberFormatException tooBig) {
                // beyond a long: kept as an (inexact) Double; manifests and vectors stay below 2^53
            }
        }
        return Double.parseDouble(text);
    }

    private Object literal(String word, Object v) {
        if (!s.startsWith(word, i)) {
            throw error("unexpected token, expected '" + word + "'");
        }
        i += word.length();
        return v;
    }

    private void enter() {
        if (++depth > MAX_DEPTH) {
            throw error("nesting deeper than " + MAX_DEPTH);
        }
    }

    private void skipWs() {
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
                return;
            }
            i++;
        }
    }

    private char peek() {
        return i < s.length() ? s.charAt(i) : '\0';
    }

    private char next() {
        if (i >= s.length()) {
            throw error("unexpected end of input");
        }
        return s.charAt(i++);
    }

    private void expect(char c) {
        if (peek() != c) {
            throw error("expected '" + c + "'");
        }
        i++;
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private JsonException error(String what) {
        int line = 1, col = 1;
        for (int k = 0; k < Math.min(i, s.length()); k++) {
            if (s.charAt(k) == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        return new JsonException("JSON " + what + " at line " + line + ", column " + col + " (char " + i + ")");
    }
}
