package dev.scratchvm.util;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One-level JSON objects, the shape of the control socket's messages and of a metrics
 * line: written on one line, read back as name → scalar. Input is bounded (nesting,
 * string length), since it may come from another process.
 */
public final class FlatJson {
    private static final JsonFactory JSON = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(4).maxStringLength(8192).build())
            .build();

    private FlatJson() {
    }

    /** Writes an object's fields. */
    @FunctionalInterface
    public interface Fields {
        void write(JsonGenerator g) throws IOException;
    }

    /** {@code {...}} on one line, then a newline. */
    public static byte[] write(Fields fields) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            fields.write(g);
            g.writeEndObject();
        } catch (IOException e) {
            throw new IllegalStateException(e); // writing to memory cannot fail
        }
        out.write('\n');
        return out.toByteArray();
    }

    /** A parser for a caller that checks each field's type itself, with the same bounds. */
    public static JsonParser parser(byte[] json) throws IOException {
        return JSON.createParser(json);
    }

    /**
     * The top-level scalar fields of a JSON object: Long, Double, Boolean or String (null for
     * a nested value or JSON null).
     *
     * @throws IOException naming what is wrong, when {@code json} is not one JSON object
     */
    public static Map<String, Object> read(byte[] json) throws IOException {
        Map<String, Object> out = new LinkedHashMap<>();
        try (JsonParser p = JSON.createParser(json)) {
            if (p.nextToken() != JsonToken.START_OBJECT) throw new IOException("not a JSON object");
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken t = p.nextToken();
                out.put(name, switch (t) {
                    case VALUE_NUMBER_INT -> p.getLongValue();
                    case VALUE_NUMBER_FLOAT -> p.getDoubleValue();
                    case VALUE_TRUE, VALUE_FALSE -> p.getBooleanValue();
                    case VALUE_STRING -> p.getText();
                    default -> {
                        p.skipChildren();
                        yield null;
                    }
                });
            }
        } catch (JacksonException e) {
            throw new IOException("not valid JSON: " + e.getOriginalMessage());
        }
        return out;
    }
}
