package dev.scratchvm.vm;

import static dev.scratchvm.vm.ElfBytes.BASE;
import static dev.scratchvm.vm.ElfBytes.EM_X86_64;
import static dev.scratchvm.vm.ElfBytes.ET_DYN;
import static dev.scratchvm.vm.ElfBytes.ET_EXEC;
import static dev.scratchvm.vm.ElfBytes.EXIT_42;
import static dev.scratchvm.vm.ElfBytes.PT_DYNAMIC;
import static dev.scratchvm.vm.ElfBytes.PT_INTERP;
import static dev.scratchvm.vm.ElfBytes.PT_LOAD;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scratchvm.boot.ElfException;
import dev.scratchvm.boot.ElfImage;
import dev.scratchvm.testing.GuestPrograms.Libc;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** ElfImage accepts static x86-64 executables and refuses everything else with a one-line reason (no KVM needed). */
@DisplayName("ELF parsing")
class ElfImageTest {
    private static final long BODY = ElfBytes.bodyOffset(1);
    private static final long SIZE = BODY + EXIT_42.length;

    private static ElfImage parse(byte[] file) throws ElfException {
        return ElfImage.parse(file, "prog");
    }

    private static void refused(byte[] file, String reason) {
        assertThatThrownBy(() -> parse(file)).isInstanceOf(ElfException.class)
                .hasMessageStartingWith("prog: ").hasMessageContaining(reason)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    private static byte[] withSegment(ElfBytes.Phdr phdr) {
        return ElfBytes.elf64(ET_EXEC, EM_X86_64, BASE + BODY, List.of(phdr), EXIT_42);
    }

    @Test
    @DisplayName("a minimal static executable: entry, one PT_LOAD, program headers inside it")
    void minimal() throws ElfException {
        ElfImage elf = parse(ElfBytes.exit42(BASE));
        assertThat(elf.positionIndependent()).isFalse();
        assertThat(elf.entry()).isEqualTo(BASE + BODY);
        assertThat(elf.segments()).containsExactly(new ElfImage.Segment(BASE, 0, SIZE, SIZE, 5));
        assertThat(elf.lowAddress()).isEqualTo(BASE);
        assertThat(elf.highAddress()).isEqualTo(BASE + SIZE);
        assertThat(elf.phdrAddress()).isEqualTo(BASE + 64);
    }

    @Test
    @DisplayName("real gcc and musl-gcc static binaries parse")
    void realBinaries() throws IOException, ElfException {
        for (Libc libc : Libc.values()) {
            ElfImage elf = parse(Files.readAllBytes(Guest.build("hello", libc)));
            assertThat(elf.segments()).isNotEmpty();
            assertThat(elf.lowAddress()).isGreaterThanOrEqualTo(0x200000);
            assertThat(elf.phdrAddress()).isNotZero();
        }
    }

    @Test
    @DisplayName("not ELF: too short, wrong magic")
    void notElf() {
        refused(new byte[0], "not an ELF");
        refused(Arrays.copyOf(ElfBytes.exit42(BASE), 63), "not an ELF");
        byte[] bad = ElfBytes.exit42(BASE);
        bad[1] = 'X';
        refused(bad, "not an ELF");
    }

    @Test
    @DisplayName("wrong class, byte order, machine or type")
    void wrongKind() {
        refused(ElfBytes.elf32(), "32-bit");
        byte[] big = ElfBytes.exit42(BASE);
        big[5] = 2;
        refused(big, "big-endian");
        refused(ElfBytes.elf64(ET_EXEC, 183, BASE, List.of(ElfBytes.Phdr.load(0, BASE, SIZE)), EXIT_42), "not x86-64");
        refused(ElfBytes.elf64(ElfBytes.ET_REL, EM_X86_64, 0, List.of(ElfBytes.Phdr.load(0, BASE, SIZE)), EXIT_42),
                "not an executable");
    }

    @Test
    @DisplayName("broken program header tables")
    void brokenProgramHeaders() {
        byte[] noHeaders = ElfBytes.elf64(ET_EXEC, EM_X86_64, BASE, List.of(), EXIT_42);
        refused(noHeaders, "malformed ELF program header table");
        byte[] wrongEntrySize = ElfBytes.exit42(BASE);
        wrongEntrySize[54] = 32;
        refused(wrongEntrySize, "malformed ELF program header table");
        byte[] pastEnd = ElfBytes.exit42(BASE);
        ByteBuffer.wrap(pastEnd).order(ByteOrder.LITTLE_ENDIAN).putLong(32, pastEnd.length - 10);
        refused(pastEnd, "malformed ELF program header table");
        byte[] negative = ElfBytes.exit42(BASE);
        ByteBuffer.wrap(negative).order(ByteOrder.LITTLE_ENDIAN).putLong(32, -8);
        refused(negative, "malformed ELF program header table");
        byte[] tooMany = ElfBytes.exit42(BASE);
        ByteBuffer.wrap(tooMany).order(ByteOrder.LITTLE_ENDIAN).putShort(56, (short) 0xffff);
        refused(tooMany, "malformed ELF program header table");
    }

    @Test
    @DisplayName("broken PT_LOAD segments")
    void brokenSegments() {
        refused(withSegment(new ElfBytes.Phdr(PT_LOAD, 5, 0, BASE, SIZE, SIZE - 1)), "malformed PT_LOAD segment 0");
        refused(withSegment(new ElfBytes.Phdr(PT_LOAD, 5, SIZE + 1, BASE, 1, 1)), "malformed PT_LOAD segment 0");
        refused(withSegment(new ElfBytes.Phdr(PT_LOAD, 5, 0, BASE, SIZE + 1, SIZE + 1)), "malformed PT_LOAD segment 0");
        refused(withSegment(new ElfBytes.Phdr(PT_LOAD, 5, -1, BASE, 1, 1)), "malformed PT_LOAD segment 0");
        refused(withSegment(new ElfBytes.Phdr(PT_LOAD, 5, 0, -BASE, SIZE, SIZE)), "malformed PT_LOAD segment 0");
        refused(withSegment(new ElfBytes.Phdr(PT_LOAD, 5, 0, BASE, SIZE, Long.MAX_VALUE)), "malformed PT_LOAD segment 0");
        refused(withSegment(new ElfBytes.Phdr(PT_LOAD, 5, 0, 1L << 62, SIZE, SIZE)), "malformed PT_LOAD segment 0");
        refused(withSegment(new ElfBytes.Phdr(6, 5, 0, BASE, SIZE, SIZE)), "no loadable segments");
    }

    @Test
    @DisplayName("dynamically linked: PT_INTERP, or PT_DYNAMIC in a non-PIE executable")
    void dynamic() {
        List<ElfBytes.Phdr> interp = List.of(ElfBytes.Phdr.load(0, BASE, SIZE + 2),
                new ElfBytes.Phdr(PT_INTERP, 4, SIZE, BASE + SIZE, 2, 2));
        refused(ElfBytes.elf64(ET_DYN, EM_X86_64, BASE, interp, Arrays.copyOf(EXIT_42, EXIT_42.length + 2)),
                "dynamically linked");
        List<ElfBytes.Phdr> dynamic = List.of(ElfBytes.Phdr.load(0, BASE, SIZE),
                new ElfBytes.Phdr(PT_DYNAMIC, 6, 0, BASE, 0, 0));
        refused(ElfBytes.elf64(ET_EXEC, EM_X86_64, BASE, dynamic, EXIT_42), "dynamically linked");
    }

    @Test
    @DisplayName("static-pie: PT_DYNAMIC in an ET_DYN file is accepted and marked position-independent")
    void staticPie() throws ElfException {
        List<ElfBytes.Phdr> phdrs = List.of(ElfBytes.Phdr.load(0, 0, SIZE), new ElfBytes.Phdr(PT_DYNAMIC, 6, 0, 0, 0, 0));
        ElfImage elf = parse(ElfBytes.elf64(ET_DYN, EM_X86_64, ElfBytes.bodyOffset(2), phdrs, EXIT_42));
        assertThat(elf.positionIndependent()).isTrue();
        assertThat(elf.lowAddress()).isZero();
    }
}
