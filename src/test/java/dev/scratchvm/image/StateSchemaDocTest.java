package dev.scratchvm.image;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import dev.scratchvm.image.schema.StateProto;
import dev.scratchvm.testing.GuestPrograms;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The docs cannot drift from the schema: docs/image-format.md holds the tables rendered from
 * state.proto, docs/vm-state.md names every kernel field, and the schema itself follows the
 * format's rules. {@code -Dstate.schema.write=true} rewrites the generated block after a change
 * to state.proto.
 */
class StateSchemaDocTest {
    private static final Path IMAGE_FORMAT = GuestPrograms.repoRoot().resolve("docs/image-format.md");
    private static final Path VM_STATE = GuestPrograms.repoRoot().resolve("docs/vm-state.md");

    @Test
    void imageFormatDocHoldsTheTablesRenderedFromTheSchema() throws IOException {
        String doc = Files.readString(IMAGE_FORMAT);
        int begin = doc.indexOf(StateSchemaDoc.BEGIN), end = doc.indexOf(StateSchemaDoc.END);
        assertThat(begin).as("generated block in %s", IMAGE_FORMAT).isNotNegative();
        assertThat(end).isGreaterThan(begin);
        String expected = StateSchemaDoc.render();
        String actual = doc.substring(begin + StateSchemaDoc.BEGIN.length() + 1, end);
        if (Boolean.getBoolean("state.schema.write") && !actual.equals(expected)) {
            Files.writeString(IMAGE_FORMAT, doc.substring(0, begin + StateSchemaDoc.BEGIN.length() + 1) + expected
                    + doc.substring(end));
            actual = expected;
        }
        assertThat(actual).as("docs/image-format.md differs from state.proto; rerun with -Dstate.schema.write=true")
                .isEqualTo(expected);
    }

    @Test
    void vmStateDocExplainsEveryKernelField() throws IOException {
        String doc = Files.readString(VM_STATE);
        for (FieldDescriptor f : StateProto.Kernel.getDescriptor().getFields()) {
            assertThat(doc).as("docs/vm-state.md explains kernel field %s", f.getName()).contains("`" + f.getName() + "`");
        }
    }

    @Test
    void theSchemaFollowsTheFormatRules() {
        Set<String> versions = Set.of("1.0", "1.1", "1.2");
        for (Descriptor m : StateProto.getDescriptor().getMessageTypes()) {
            for (FieldDescriptor f : m.getFields()) {
                String name = f.getFullName();
                assertThat(StateWire.wireType(f)).as("%s has a wire type", name).isBetween(0, 2);
                assertThat(versions).as("%s: since", name).contains(StateSchema.since(f));
                if (f.isRepeated()) assertThat(StateSchema.maxCount(f)).as("%s: max_count", name).isPositive();
                else if (StateSchema.since(f).equals("1.0")) assertThat(f.isRequired()).as("%s: a 1.0 field is required", name).isTrue();
                else assertThat(f.isOptional() && !f.isRequired()).as("%s: a later field is optional", name).isTrue();
                if (f.getType() == FieldDescriptor.Type.STRING) {
                    assertThat(f.getOptions().hasExtension(StateProto.maxBytes)).as("%s: max_bytes", name).isTrue();
                }
            }
        }
        assertThat(List.of(StateLimits.MAX_ENCODED_BYTES, StateLimits.MAX_CPUID_ENTRIES, StateLimits.MAX_MSRS,
                StateLimits.MAX_XCRS, StateLimits.MAX_XSAVE_BYTES, StateLimits.MAX_MAPPINGS, StateLimits.MAX_FILES,
                StateLimits.MAX_FDS, StateLimits.MAX_SIGNAL_ACTIONS, StateLimits.MAX_PATH_BYTES))
                .containsExactly(16 << 20, 4096, 1024, 64, 64 << 10, 65536, 65536, 65536, 64, 4096);
        assertThat(StateLimits.MAX_MEMORY_BYTES).isEqualTo(64L << 30);
    }
}
