package dev.scratchvm.control;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.scratchvm.util.FlatJson;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * The fields of a PUT request's one-level JSON object, each read with the type its endpoint
 * expects; anything else (not an object, an unknown field, a wrong type, trailing bytes) is a
 * {@link Refused} whose message is the 400's one line.
 */
final class RequestBody {
    /** Why a body was refused, in the words the client sees. */
    static final class Refused extends Exception {
        Refused(String message) {
            super(message, null, false, false);
        }
    }

    private final Map<String, Object> fields;

    private RequestBody(Map<String, Object> fields) {
        this.fields = fields;
    }

    /** Reads {@code body}, which may name only {@code known} fields. */
    static RequestBody parse(byte[] body, Set<String> known) throws Refused {
        Map<String, Object> fields = new HashMap<>();
        try (JsonParser p = FlatJson.parser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) throw new Refused("the body must be a JSON object");
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                if (!known.contains(field)) throw new Refused("unknown field \"" + ApiServer.printable(field) + "\"");
                JsonToken value = p.nextToken();
                fields.put(field, switch (value) {
                    case VALUE_STRING -> p.getText();
                    case VALUE_TRUE, VALUE_FALSE -> p.getBooleanValue();
                    case VALUE_NUMBER_INT -> p.getNumberValue();
                    default -> {
                        p.skipChildren();
                        yield value; // a type no field has: refused when the field is read
                    }
                });
            }
            if (p.currentToken() != JsonToken.END_OBJECT || p.nextToken() != null) throw new Refused("malformed JSON body");
        } catch (JacksonException e) {
            throw new Refused("malformed JSON body: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new Refused("malformed JSON body: " + e.getMessage());
        }
        return new RequestBody(fields);
    }

    /** A string field, or {@code absent} (null: the field is required). */
    String string(String field, String absent) throws Refused {
        Object v = fields.get(field);
        if (v == null) {
            if (absent == null) throw new Refused("\"" + field + "\" is required");
            return absent;
        }
        if (!(v instanceof String s)) throw new Refused("\"" + field + "\" must be a string");
        return s;
    }

    boolean bool(String field, boolean absent) throws Refused {
        Object v = fields.get(field);
        if (v == null) return absent;
        if (!(v instanceof Boolean b)) throw new Refused("\"" + field + "\" must be true or false");
        return b;
    }

    /** A whole number from {@code min} to {@code max}. */
    long number(String field, long absent, long min, long max) throws Refused {
        Object v = fields.get(field);
        if (v == null) return absent;
        if (!(v instanceof Long || v instanceof Integer) || ((Number) v).longValue() < min || ((Number) v).longValue() > max) {
            throw new Refused("\"" + field + "\" must be a whole number from " + min + " to " + max);
        }
        return ((Number) v).longValue();
    }
}
