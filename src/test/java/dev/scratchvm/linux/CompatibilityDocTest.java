package dev.scratchvm.linux;

import dev.scratchvm.testing.GuestPrograms;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * docs/compatibility.md cannot drift from the dispatch table: it is rendered again here from a
 * freshly booted kernel and must match. {@code -Dcompat.doc.write=true} rewrites it after a
 * system call is added or its note changes.
 */
class CompatibilityDocTest {
    private static final Path DOC = GuestPrograms.repoRoot().resolve("docs/compatibility.md");

    @TempDir
    Path root;

    @Test
    void theCompatibilityDocIsRenderedFromTheLiveDispatchTable() throws IOException {
        String expected = CompatibilityDoc.render(CompatibilityDoc.rows(CompatibilityDoc.liveTable(root)));
        String actual = Files.exists(DOC) ? Files.readString(DOC) : "";
        if (Boolean.getBoolean("compat.doc.write") && !actual.equals(expected)) {
            Files.writeString(DOC, expected);
            actual = expected;
        }
        assertThat(actual).as("docs/compatibility.md differs from the system call table; regenerate it with"
                + " SCRATCHVM_TESTVM=off mvn -B -q -o test -Dtest=CompatibilityDocTest -Dcompat.doc.write=true").isEqualTo(expected);
    }

    @Test
    void everyRegisteredCallCarriesTheKernelsNameForItsNumber() throws IOException {
        SyscallTable table = CompatibilityDoc.liveTable(root);
        Map<Integer, String> kernel = CompatibilityDoc.kernelCalls().stream().map(l -> l.split(" "))
                .collect(Collectors.toMap(f -> Integer.parseInt(f[0]), f -> f[1]));
        for (int nr = 0; nr < 512; nr++) {
            SyscallTable.Entry e = table.lookup(nr);
            if (e != null) assertThat(e.name()).as("handler registered at %d", nr).isEqualTo(kernel.get(nr));
        }
    }

    @Test
    void everyNoteNamesARegisteredCall() throws IOException {
        List<CompatibilityDoc.Row> rows = CompatibilityDoc.rows(CompatibilityDoc.liveTable(root));
        Set<String> registered = rows.stream().filter(r -> r.entry() != null).map(CompatibilityDoc.Row::name)
                .collect(Collectors.toSet());
        Stream.concat(SyscallNotes.PARTIAL.keySet().stream(), SyscallNotes.DECLINED.keySet().stream())
                .forEach(name -> assertThat(registered).as("note for %s", name).contains(name));
        assertThat(rows).as("the kernel's list runs from read to the last call").first()
                .extracting(CompatibilityDoc.Row::name).isEqualTo("read");
    }
}
