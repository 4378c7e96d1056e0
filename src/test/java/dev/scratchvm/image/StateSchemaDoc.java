package dev.scratchvm.image;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import dev.scratchvm.image.schema.StateProto;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The docs' tables of the STATE encoding, rendered from scratchvm/state.proto: what
 * docs/image-format.md must contain between the generated-block markers.
 */
final class StateSchemaDoc {
    static final String BEGIN = "<!-- state schema: generated from src/main/protobuf/scratchvm/state.proto by StateSchemaDocTest; do not edit -->";
    static final String END = "<!-- end of state schema -->";

    private StateSchemaDoc() {
    }

    /** The tag table, then which fields each version has. */
    static String render() {
        StringBuilder out = new StringBuilder();
        out.append("| Message | Fields (number, name, encoding; limits and rules) |\n");
        out.append("|---------|--------------------------------------------------|\n");
        for (Descriptor m : StateProto.getDescriptor().getMessageTypes()) {
            List<String> fields = new ArrayList<>();
            for (FieldDescriptor f : m.getFields()) fields.add(field(f));
            String limit = m.getOptions().hasExtension(StateProto.maxMessageBytes)
                    ? " (at most " + bytes(StateSchema.maxMessageBytes(m)) + " encoded)" : "";
            out.append("| ").append(m.getName()).append(limit).append(" | ").append(String.join(", ", fields)).append(" |\n");
        }
        out.append("\n| Version | Fields it adds |\n|---------|----------------|\n");
        Map<String, List<String>> byVersion = new LinkedHashMap<>();
        for (Descriptor m : StateProto.getDescriptor().getMessageTypes()) {
            for (FieldDescriptor f : m.getFields()) {
                byVersion.computeIfAbsent(StateSchema.since(f), v -> new ArrayList<>())
                        .add(m.getName() + "." + f.getName() + " (" + f.getNumber() + ")");
            }
        }
        for (var e : byVersion.entrySet()) {
            String fields = e.getKey().equals("1.0") ? "all others" : String.join(", ", e.getValue());
            out.append("| ").append(e.getKey()).append(" | ").append(fields).append(" |\n");
        }
        return out.toString();
    }

    private static String field(FieldDescriptor f) {
        List<String> parts = new ArrayList<>();
        parts.add(switch (f.getType()) {
            case FIXED64 -> "I64";
            case SINT32 -> "VARINT";
            case BOOL -> "VARINT 0/1";
            case STRING -> "string";
            case BYTES -> "bytes";
            case MESSAGE -> f.getMessageType().getName();
            default -> throw new IllegalStateException(f.getFullName() + ": " + f.getType());
        });
        if (f.isRepeated()) parts.add("list of ≤ " + StateSchema.maxCount(f));
        if (f.getOptions().hasExtension(StateProto.maxBytes)) parts.add("≤ " + bytes(StateSchema.maxBytes(f)));
        if (!StateSchema.note(f).isEmpty()) parts.add(StateSchema.note(f));
        if (f.isOptional()) parts.add("optional, since " + StateSchema.since(f));
        return f.getNumber() + " " + f.getName() + " (" + String.join("; ", parts) + ")";
    }

    private static String bytes(long n) {
        if (n >= 1 << 20 && n % (1 << 20) == 0) return (n >> 20) + " MiB";
        if (n >= 1 << 10 && n % (1 << 10) == 0) return (n >> 10) + " KiB";
        return n + " bytes";
    }
}
