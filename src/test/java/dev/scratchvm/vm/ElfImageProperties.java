package dev.scratchvm.vm;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scratchvm.boot.ElfException;
import dev.scratchvm.boot.ElfImage;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * Whatever bytes a user passes as PROGRAM, parsing ends in an ElfImage whose segments lie
 * inside the file, or in an ElfException with a one-line message; never in another exception.
 */
class ElfImageProperties {

    @Property(tries = 300)
    void arbitraryBytes(@ForAll @Size(max = 400) byte[] file) {
        check(file);
    }

    /** A valid executable with a few header or program-header bytes overwritten. */
    @Property(tries = 1000)
    void corruptedHeaders(@ForAll @Size(min = 1, max = 6) List<@IntRange(min = 0, max = 119) Integer> positions,
                          @ForAll @Size(min = 6, max = 6) byte[] values) {
        byte[] file = ElfBytes.exit42(ElfBytes.BASE);
        for (int i = 0; i < positions.size(); i++) file[positions.get(i)] = values[i];
        check(file);
    }

    private static void check(byte[] file) {
        try {
            ElfImage elf = ElfImage.parse(file, "prog");
            assertThat(elf.segments()).isNotEmpty().allSatisfy(s -> {
                assertThat(s.fileOffset()).isBetween(0L, (long) file.length);
                assertThat(s.fileSize()).isBetween(0L, file.length - s.fileOffset());
                assertThat(s.memSize()).isGreaterThanOrEqualTo(s.fileSize());
            });
        } catch (ElfException e) {
            assertThat(e.getMessage()).startsWith("prog: ").doesNotContain("\n");
        }
    }
}
