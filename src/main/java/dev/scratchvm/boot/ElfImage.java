package dev.scratchvm.boot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * A parsed static x86-64 ELF executable: what the loader needs and nothing more.
 * Anything else (dynamic, 32-bit, another machine, malformed) is refused with a reason.
 */
public record ElfImage(byte[] file, int type, long entry, long phoff, int phentsize, int phnum,
                       List<Segment> segments) {
    static final int ET_EXEC = 2, ET_DYN = 3;
    private static final int PT_LOAD = 1, PT_INTERP = 3, PT_DYNAMIC = 2, PT_PHDR = 6;
    private static final int EM_X86_64 = 62;

    /** One PT_LOAD segment. */
    public record Segment(long vaddr, long fileOffset, long fileSize, long memSize, int flags) {
    }

    public boolean positionIndependent() {
        return type == ET_DYN;
    }

    public static ElfImage parse(byte[] file, String name) throws ElfException {
        if (file.length < 64 || file[0] != 0x7f || file[1] != 'E' || file[2] != 'L' || file[3] != 'F') {
            throw new ElfException(name + ": not an ELF executable");
        }
        if (file[4] != 2) throw new ElfException(name + ": 32-bit ELF files are not supported (need x86-64)");
        if (file[5] != 1) throw new ElfException(name + ": big-endian ELF files are not supported");
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        int type = Short.toUnsignedInt(b.getShort(16));
        int machine = Short.toUnsignedInt(b.getShort(18));
        if (machine != EM_X86_64) throw new ElfException(name + ": ELF machine " + machine + " is not x86-64");
        if (type != ET_EXEC && type != ET_DYN) throw new ElfException(name + ": ELF type " + type + " is not an executable");
        long entry = b.getLong(24);
        long phoff = b.getLong(32);
        int phentsize = Short.toUnsignedInt(b.getShort(54));
        int phnum = Short.toUnsignedInt(b.getShort(56));
        if (phentsize != 56 || phnum == 0 || phnum > 256 || phoff < 0 || phoff > file.length
                || (long) phnum * phentsize > file.length - phoff) {
            throw new ElfException(name + ": malformed ELF program header table");
        }
        List<Segment> segments = new ArrayList<>();
        for (int i = 0; i < phnum; i++) {
            int at = (int) (phoff + (long) i * phentsize);
            int ptype = b.getInt(at);
            if (ptype == PT_INTERP) {
                throw new ElfException(name + ": dynamically linked programs are not supported (build with -static)");
            }
            if (ptype == PT_DYNAMIC && type == ET_EXEC) {
                throw new ElfException(name + ": dynamically linked programs are not supported (build with -static)");
            }
            if (ptype != PT_LOAD) continue;
            int flags = b.getInt(at + 4);
            long offset = b.getLong(at + 8), vaddr = b.getLong(at + 16), filesz = b.getLong(at + 32), memsz = b.getLong(at + 40);
            if (offset < 0 || filesz < 0 || memsz < filesz || offset > file.length || filesz > file.length - offset
                    || vaddr < 0 || memsz > (1L << 40) || vaddr > (1L << 46)) {
                throw new ElfException(name + ": malformed PT_LOAD segment " + i);
            }
            segments.add(new Segment(vaddr, offset, filesz, memsz, flags));
        }
        if (segments.isEmpty()) throw new ElfException(name + ": no loadable segments");
        return new ElfImage(file, type, entry, phoff, phentsize, phnum, List.copyOf(segments));
    }

    /** Lowest and highest (exclusive) virtual address of the loaded image, before relocation. */
    public long lowAddress() {
        return segments.stream().mapToLong(Segment::vaddr).min().orElseThrow() & ~0xfffL;
    }

    public long highAddress() {
        return segments.stream().mapToLong(s -> s.vaddr() + s.memSize()).max().orElseThrow();
    }

    /** Virtual address of the program headers once loaded (for AT_PHDR), before relocation. */
    public long phdrAddress() {
        for (Segment s : segments) {
            if (phoff >= s.fileOffset() && phoff + (long) phnum * phentsize <= s.fileOffset() + s.fileSize()) {
                return s.vaddr() + (phoff - s.fileOffset());
            }
        }
        return 0;
    }
}
