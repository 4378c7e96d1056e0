package dev.scratchvm.vm;

import dev.scratchvm.testing.KvmTest;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scratchvm.testing.GuestPrograms.Libc;
import dev.scratchvm.testing.VmmProcess;
import dev.scratchvm.testing.VmmProcess.Result;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What is not a static x86-64 executable is refused before any VM starts: one clear line on
 * stderr naming the file and the reason, a non-zero exit, nothing on stdout, no stack trace.
 */
@KvmTest
@DisplayName("Programs the VMM cannot run")
class MalformedProgramTest {
    @TempDir
    Path dir;

    private Result run(String program) {
        return VmmProcess.run(dir, "run", program);
    }

    private Result run(String name, byte[] content) throws IOException {
        Files.write(dir.resolve(name), content);
        return run(name);
    }

    @Test
    @DisplayName("a missing file")
    void missing() {
        Result r = run("no_such_program");
        Guest.assertOneLineError(r, "no_such_program", "no such file");
        assertThat(r.stdout()).isEmpty();
    }

    @Test
    @DisplayName("a directory")
    void directory() throws IOException {
        Files.createDirectory(dir.resolve("adir"));
        Guest.assertOneLineError(run("adir"), "adir", "cannot read");
    }

    @Test
    @DisplayName("a text file, and an empty one")
    void notElf() throws IOException {
        Guest.assertOneLineError(run("script.sh", "#!/bin/sh\necho hello from a script\n".getBytes()),
                "script.sh", "not an ELF executable");
        Guest.assertOneLineError(run("empty", new byte[0]), "empty", "not an ELF executable");
    }

    @Test
    @DisplayName("a 32-bit (i386) ELF")
    void elf32() throws IOException {
        Guest.assertOneLineError(run("prog32", ElfBytes.elf32()), "prog32", "32-bit");
    }

    @Test
    @DisplayName("an ELF for another machine (aarch64)")
    void otherMachine() throws IOException {
        byte[] elf = ElfBytes.exit42(ElfBytes.BASE);
        elf[18] = (byte) ElfBytes.EM_AARCH64;
        Guest.assertOneLineError(run("arm", elf), "arm", "machine 183", "not x86-64");
    }

    @Test
    @DisplayName("a real executable cut short inside its program headers")
    void truncated() throws IOException {
        byte[] hello = Files.readAllBytes(Guest.build("hello", Libc.GLIBC));
        Guest.assertOneLineError(run("cut", Arrays.copyOf(hello, 100)), "cut", "malformed");
    }

    @Test
    @DisplayName("a dynamically linked program (gcc without -static)")
    void dynamic() {
        Path dynamic = Guest.gcc(Guest.source("hello.c"), dir.resolve("hello-dynamic"));
        Guest.assertOneLineError(run(dynamic.toString()), "dynamically linked", "-static");
    }

    @Test
    @DisplayName("an object file (gcc -c)")
    void objectFile() {
        Path object = Guest.gcc(Guest.source("hello.c"), dir.resolve("hello.o"), "-c");
        Guest.assertOneLineError(run(object.toString()), "hello.o", "not an executable");
    }

    @Test
    @DisplayName("a program linked into the VMM's low 2 MiB")
    void belowGuestBase() throws IOException {
        Guest.assertOneLineError(run("low", ElfBytes.exit42(0x100000)), "low", "0x100000", "below");
    }

    @Test
    @DisplayName("a program bigger than guest memory")
    void tooBig() throws IOException {
        long size = ElfBytes.bodyOffset(1) + ElfBytes.EXIT_42.length;
        byte[] huge = ElfBytes.elf64(ElfBytes.ET_EXEC, ElfBytes.EM_X86_64, ElfBytes.BASE + ElfBytes.bodyOffset(1),
                List.of(new ElfBytes.Phdr(ElfBytes.PT_LOAD, 6, 0, ElfBytes.BASE, size, 1L << 33)), ElfBytes.EXIT_42);
        Guest.assertOneLineError(run("huge", huge), "huge", "does not fit");
    }

    @Test
    @DisplayName("for contrast: a hand-made 132-byte static ELF runs and exits 42")
    void minimalElfRuns() throws IOException {
        Result r = run("tiny", ElfBytes.exit42(ElfBytes.BASE));
        assertThat(r.exit()).as(r.describe()).isEqualTo(42);
        assertThat(r.stderr()).isEqualTo("EXIT 42\n");
    }

    @Test
    @DisplayName("an entry point outside the program crashes the guest, not the VMM")
    void entryPointNowhere() throws IOException {
        long size = ElfBytes.bodyOffset(1) + ElfBytes.EXIT_42.length;
        byte[] elf = ElfBytes.elf64(ElfBytes.ET_EXEC, ElfBytes.EM_X86_64, 0x1000,
                List.of(ElfBytes.Phdr.load(0, ElfBytes.BASE, size)), ElfBytes.EXIT_42);
        Result r = run("lost", elf);
        assertThat(r.exit()).as(r.describe()).isEqualTo(139);
        Guest.assertOneLineError(r, "page fault", "rip 0x1000");
    }
}
