package dev.scratchvm.boot;

import dev.scratchvm.memory.GuestMemory;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * Loads a static ELF into guest memory and builds the initial process stack the
 * x86-64 System V ABI prescribes: argc, argv, envp, then the auxiliary vector.
 */
public final class ProgramLoader {
    private static final int AT_NULL = 0, AT_PHDR = 3, AT_PHENT = 4, AT_PHNUM = 5, AT_PAGESZ = 6, AT_BASE = 7,
            AT_FLAGS = 8, AT_ENTRY = 9, AT_UID = 11, AT_EUID = 12, AT_GID = 13, AT_EGID = 14, AT_PLATFORM = 15,
            AT_HWCAP = 16, AT_CLKTCK = 17, AT_SECURE = 23, AT_RANDOM = 25, AT_HWCAP2 = 26, AT_EXECFN = 31;
    private static final long PAGE = GuestMemory.PAGE_SIZE;

    private ProgramLoader() {
    }

    /** Where things ended up: the vCPU starts at {@code entry} with rsp = {@code stackPointer}. */
    public record LoadedProgram(long entry, long stackPointer, long imageEnd, long stackBottom) {
    }

    /** Identity of the process the auxiliary vector describes. */
    public record ProcessIdentity(int uid, int euid, int gid, int egid, long hwcap) {
    }

    public static LoadedProgram load(GuestMemory memory, ElfImage elf, List<String> argv, List<String> env,
                                     String execfn, byte[] random16, ProcessIdentity id, long stackSize)
            throws ElfException {
        long bias = elf.positionIndependent() ? BootLayout.PIE_LOAD_BASE - elf.lowAddress() : 0;
        long low = elf.lowAddress() + bias, high = elf.highAddress() + bias;
        long stackTop = memory.size();
        long stackBottom = stackTop - stackSize;
        if (low < BootLayout.GUEST_BASE) {
            throw new ElfException(execfn + ": loads at 0x" + Long.toHexString(low) + ", below the lowest guest address 0x"
                    + Long.toHexString(BootLayout.GUEST_BASE));
        }
        if (high > stackBottom - PAGE) {
            long needMiB = ((high + stackSize + (4L << 20)) >> 20) + 1;
            throw new ElfException(execfn + ": does not fit in " + (memory.size() >> 20) + " MiB of guest memory (try --memory "
                    + ((needMiB + 1) & ~1L) + "M)");
        }
        for (ElfImage.Segment s : elf.segments()) {
            // The file part of the segment; its bss needs nothing, fresh guest memory is zero.
            memory.write(s.vaddr() + bias, elf.file(), (int) s.fileOffset(), (int) s.fileSize());
        }
        long sp = buildStack(memory, elf, bias, argv, env, execfn, random16, id, stackTop);
        LongMode.unmapGuardPage(memory, stackBottom - PAGE);
        return new LoadedProgram(elf.entry() + bias, sp, (high + PAGE - 1) & ~(PAGE - 1), stackBottom);
    }

    private static long buildStack(GuestMemory memory, ElfImage elf, long bias, List<String> argv, List<String> env,
                                   String execfn, byte[] random16, ProcessIdentity id, long stackTop) {
        // The random bytes and the strings go at the top, below the ProcessRecord; the pointer block below them.
        ByteArrayOutputStream strings = new ByteArrayOutputStream();
        long randomOffset = strings.size();
        strings.writeBytes(random16);
        List<Long> argvOffsets = new ArrayList<>(), envOffsets = new ArrayList<>();
        for (String a : argv) argvOffsets.add(append(strings, a));
        long argEnd = strings.size();
        for (String e : env) envOffsets.add(append(strings, e));
        long envEnd = strings.size();
        long execfnOffset = append(strings, execfn);
        long platformOffset = append(strings, "x86_64");
        byte[] blob = strings.toByteArray();
        long blobAddr = stackTop - ProcessRecord.SIZE - blob.length;
        memory.write(blobAddr, blob);

        long phdr = elf.phdrAddress() == 0 ? 0 : elf.phdrAddress() + bias;
        long[] aux = {
                AT_PHDR, phdr, AT_PHENT, elf.phentsize(), AT_PHNUM, elf.phnum(), AT_PAGESZ, PAGE, AT_BASE, 0,
                AT_FLAGS, 0, AT_ENTRY, elf.entry() + bias, AT_UID, id.uid(), AT_EUID, id.euid(), AT_GID, id.gid(),
                AT_EGID, id.egid(), AT_PLATFORM, blobAddr + platformOffset, AT_HWCAP, id.hwcap(), AT_CLKTCK, 100,
                AT_SECURE, 0, AT_RANDOM, blobAddr + randomOffset, AT_HWCAP2, 0, AT_EXECFN, blobAddr + execfnOffset,
                AT_NULL, 0};
        int words = 1 + argv.size() + 1 + env.size() + 1 + aux.length;
        long sp = (blobAddr - 8L * words) & ~15L;
        new ProcessRecord(blobAddr + 16, blobAddr + argEnd, blobAddr + envEnd, phdr, elf.phnum(), bias).write(memory);
        long at = sp;
        memory.writeLong(at, argv.size());
        at += 8;
        for (long off : argvOffsets) {
            memory.writeLong(at, blobAddr + off);
            at += 8;
        }
        memory.writeLong(at, 0);
        at += 8;
        for (long off : envOffsets) {
            memory.writeLong(at, blobAddr + off);
            at += 8;
        }
        memory.writeLong(at, 0);
        at += 8;
        for (long v : aux) {
            memory.writeLong(at, v);
            at += 8;
        }
        return sp;
    }

    private static long append(ByteArrayOutputStream out, String s) {
        long offset = out.size();
        out.writeBytes(s.getBytes(StandardCharsets.UTF_8));
        out.write(0);
        return offset;
    }
}
