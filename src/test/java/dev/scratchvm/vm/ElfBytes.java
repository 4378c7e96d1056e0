package dev.scratchvm.vm;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/** Hand-made ELF files, for inputs no compiler here produces (32-bit, other machines, broken headers). */
final class ElfBytes {
    static final int ET_REL = 1, ET_EXEC = 2, ET_DYN = 3;
    static final int EM_386 = 3, EM_X86_64 = 62, EM_AARCH64 = 183;
    static final int PT_LOAD = 1, PT_DYNAMIC = 2, PT_INTERP = 3;
    static final long BASE = 0x400000;
    /** mov $60, %eax; mov $42, %edi; syscall: exit(42) without any libc. */
    static final byte[] EXIT_42 = {(byte) 0xb8, 60, 0, 0, 0, (byte) 0xbf, 42, 0, 0, 0, 0x0f, 0x05};

    /** One program header. */
    record Phdr(int type, int flags, long offset, long vaddr, long filesz, long memsz) {
        static Phdr load(long offset, long vaddr, long size) {
            return new Phdr(PT_LOAD, 5, offset, vaddr, size, size);
        }
    }

    private ElfBytes() {
    }

    /** 64-bit little-endian header, then the program headers, then {@code body}. */
    static byte[] elf64(int type, int machine, long entry, List<Phdr> phdrs, byte[] body) {
        ByteBuffer b = ByteBuffer.allocate(64 + 56 * phdrs.size() + body.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[]{0x7f, 'E', 'L', 'F', 2, 1, 1, 0}).put(new byte[8]);
        b.putShort((short) type).putShort((short) machine).putInt(1).putLong(entry).putLong(64).putLong(0)
                .putInt(0).putShort((short) 64).putShort((short) 56).putShort((short) phdrs.size())
                .putShort((short) 64).putShort((short) 0).putShort((short) 0);
        for (Phdr p : phdrs) {
            b.putInt(p.type()).putInt(p.flags()).putLong(p.offset()).putLong(p.vaddr()).putLong(p.vaddr())
                    .putLong(p.filesz()).putLong(p.memsz()).putLong(0x1000);
        }
        return b.put(body).array();
    }

    /** Offset of the body in a file with {@code phnum} program headers. */
    static long bodyOffset(int phnum) {
        return 64 + 56L * phnum;
    }

    /** A complete static x86-64 executable at {@code vaddr} that exits with status 42. */
    static byte[] exit42(long vaddr) {
        long size = bodyOffset(1) + EXIT_42.length;
        return elf64(ET_EXEC, EM_X86_64, vaddr + bodyOffset(1), List.of(Phdr.load(0, vaddr, size)), EXIT_42);
    }

    /** The same program as an i386 (ELFCLASS32) executable, as gcc -m32 -static would make. */
    static byte[] elf32() {
        ByteBuffer b = ByteBuffer.allocate(52 + 32 + EXIT_42.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[]{0x7f, 'E', 'L', 'F', 1, 1, 1, 0}).put(new byte[8]);
        b.putShort((short) ET_EXEC).putShort((short) EM_386).putInt(1).putInt(0x8048000 + 84).putInt(52).putInt(0)
                .putInt(0).putShort((short) 52).putShort((short) 32).putShort((short) 1)
                .putShort((short) 40).putShort((short) 0).putShort((short) 0);
        b.putInt(PT_LOAD).putInt(0).putInt(0x8048000).putInt(0x8048000).putInt(b.capacity()).putInt(b.capacity())
                .putInt(5).putInt(0x1000);
        return b.put(EXIT_42).array();
    }
}
