package dev.scratchvm.migration;

import dev.scratchvm.x86.CpuidEntry;
import dev.scratchvm.x86.Xcr;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Payloads of the protocol's messages (docs/migration-protocol.md). All integers are big-endian.
 * Each record encodes itself to a buffer ready to send, and {@code decode} accepts exactly the
 * bytes {@code encode} produces, throwing a protocol error for anything else.
 */
final class Messages {
    static final int PAGE = 4096;
    static final int NONCE = 32, MAC = 32;
    static final int FILE_CHUNK = 1 << 20;
    static final int MAX_ERROR_TEXT = 1024;

    private Messages() {
    }

    /** Sent raw by both sides before any frame: magic, protocol major and minor version. */
    record Preamble(int major, int minor) {
        static final byte[] MAGIC = {'S', 'V', 'M', 'M', 'I', 'G', '\r', '\n'};
        static final int BYTES = 12;
        static final Preamble CURRENT = new Preamble(2, 0);
        /** The oldest version a server still speaks: clients of versions N and N-1 are served. */
        static final Preamble OLDEST = new Preamble(1, 0);

        /** Whether a server of this build speaks {@code major}. */
        static boolean served(int major) {
            return major >= OLDEST.major && major <= CURRENT.major;
        }

        ByteBuffer encode() {
            return ByteBuffer.allocate(BYTES).put(MAGIC).putShort((short) major).putShort((short) minor).flip();
        }

        /** Null when the bytes do not start with the magic (not a migration peer at all). */
        static Preamble decode(ByteBuffer b) {
            byte[] magic = new byte[MAGIC.length];
            b.get(0, magic);
            if (!Arrays.equals(magic, MAGIC)) return null;
            return new Preamble(Short.toUnsignedInt(b.getShort(8)), Short.toUnsignedInt(b.getShort(10)));
        }

        @Override
        public String toString() {
            return major + "." + minor;
        }
    }

    /** Why a client connects. */
    enum Purpose {
        MIGRATE(1), QUERY(2);

        final int code;

        Purpose(int code) {
            this.code = code;
        }
    }

    /** Client's first message: purpose and a fresh nonce (for MIGRATE, also the migration's id). */
    record Hello(Purpose purpose, byte[] nonce) {
        static final int BYTES = 1 + NONCE;

        ByteBuffer encode() {
            return ByteBuffer.allocate(BYTES).put((byte) purpose.code).put(nonce).flip();
        }

        static Hello decode(byte[] p) throws MigrationException {
            exact(p, BYTES, "HELLO");
            Purpose purpose = switch (p[0]) {
                case 1 -> Purpose.MIGRATE;
                case 2 -> Purpose.QUERY;
                default -> throw MigrationException.protocol("HELLO has unknown purpose " + p[0]);
            };
            return new Hello(purpose, Arrays.copyOfRange(p, 1, BYTES));
        }
    }

    /** Server's nonce, which the client must prove it can MAC. */
    record Challenge(byte[] nonce) {
        static final int BYTES = NONCE;

        ByteBuffer encode() {
            return ByteBuffer.wrap(nonce.clone());
        }

        static Challenge decode(byte[] p) throws MigrationException {
            exact(p, BYTES, "CHALLENGE");
            return new Challenge(p);
        }
    }

    /** HMAC-SHA256 proof of the shared key over the handshake transcript. */
    record Auth(byte[] mac) {
        static final int BYTES = MAC;

        ByteBuffer encode() {
            return ByteBuffer.wrap(mac.clone());
        }

        static Auth decode(byte[] p) throws MigrationException {
            exact(p, BYTES, "AUTH");
            return new Auth(p);
        }
    }

    /** STATE: flags and the StateCodec encoding of the machine state. */
    record StateOffer(int flags, byte[] state) {
        /** The client can send the contents of the guest's open files. */
        static final int FILES_OFFERED = 1;

        ByteBuffer[] encode() {
            return new ByteBuffer[]{ByteBuffer.allocate(4).putInt(flags).flip(), ByteBuffer.wrap(state)};
        }

        static StateOffer decode(byte[] p) throws MigrationException {
            if (p.length < 4) throw MigrationException.protocol("STATE message too short");
            int flags = ByteBuffer.wrap(p).getInt();
            if ((flags & ~FILES_OFFERED) != 0) throw MigrationException.protocol("STATE has unknown flags 0x" + Integer.toHexString(flags));
            return new StateOffer(flags, Arrays.copyOfRange(p, 4, p.length));
        }

        boolean filesOffered() {
            return (flags & FILES_OFFERED) != 0;
        }
    }

    /** The server takes the VM; it wants the contents of these files (indexes into the state's file list). */
    record Accept(List<Integer> wantedFiles) {
        ByteBuffer encode() {
            ByteBuffer b = ByteBuffer.allocate(4 + 4 * wantedFiles.size()).putInt(wantedFiles.size());
            for (int i : wantedFiles) b.putInt(i);
            return b.flip();
        }

        static Accept decode(byte[] p) throws MigrationException {
            if (p.length < 4) throw MigrationException.protocol("ACCEPT message too short");
            ByteBuffer b = ByteBuffer.wrap(p);
            int n = b.getInt();
            if (n < 0 || p.length != 4 + 4L * n) throw MigrationException.protocol("ACCEPT message has the wrong length");
            List<Integer> wanted = new ArrayList<>(n);
            for (int i = 0; i < n; i++) wanted.add(b.getInt());
            return new Accept(wanted);
        }
    }

    /** Starts the contents of one file: FILE_DATA messages with {@code size} bytes in total follow. */
    record FileHeader(int index, long size, int mode) {
        static final int BYTES = 16;

        ByteBuffer encode() {
            return ByteBuffer.allocate(BYTES).putInt(index).putLong(size).putInt(mode).flip();
        }

        static FileHeader decode(byte[] p) throws MigrationException {
            exact(p, BYTES, "FILE");
            ByteBuffer b = ByteBuffer.wrap(p);
            FileHeader h = new FileHeader(b.getInt(), b.getLong(), b.getInt());
            if (h.size < 0) throw MigrationException.protocol("FILE has negative size");
            return h;
        }
    }

    /** Header of a MEMORY message; {@code pageCount} pages of raw guest memory follow it. */
    record MemoryRun(long firstPage, int pageCount) {
        static final int BYTES = 12;

        ByteBuffer encode(ByteBuffer into) {
            return into.clear().putLong(firstPage).putInt(pageCount).flip();
        }

        static MemoryRun decode(ByteBuffer b) {
            return new MemoryRun(b.getLong(0), b.getInt(8));
        }

        /**
         * Reads a MEMORY or ZERO header into {@code head} and checks it before any page is
         * read: 1 to 512 pages, inside guest memory of {@code guestPages}, at or after {@code end}.
         */
        static MemoryRun read(FrameReader in, ByteBuffer head, long end, long guestPages) throws MigrationException {
            if (in.remaining() < BYTES) throw MigrationException.protocol("MEMORY message too short");
            head.clear();
            in.read(head);
            MemoryRun run = decode(head);
            long first = run.firstPage(), count = run.pageCount();
            if (count < 1 || count > dev.scratchvm.image.PageMap.MAX_RUN_PAGES) {
                throw MigrationException.protocol("MEMORY run of " + count + " pages (must be 1 to "
                        + dev.scratchvm.image.PageMap.MAX_RUN_PAGES + ")");
            }
            if (first < end || first >= guestPages || count > guestPages - first) {
                throw MigrationException.protocol("MEMORY run at page 0x" + Long.toHexString(first) + " of " + count
                        + " pages overlaps an earlier run or lies outside guest memory of " + guestPages + " pages");
            }
            return run;
        }
    }

    /** Closes the client's stream: counts, and the transcript checksum of every frame since STATE. */
    record End(int files, long runs, long pages, int transcript) {
        static final int BYTES = 24;

        ByteBuffer encode() {
            return ByteBuffer.allocate(BYTES).putInt(files).putLong(runs).putLong(pages).putInt(transcript).flip();
        }

        static End decode(byte[] p) throws MigrationException {
            exact(p, BYTES, "END");
            ByteBuffer b = ByteBuffer.wrap(p);
            return new End(b.getInt(), b.getLong(), b.getLong(), b.getInt());
        }
    }

    /**
     * Protocol 2, first after the handshake: what the VM needs before any of it moves — the
     * memory to set aside and the CPU features its state will name — so the server can refuse,
     * and get its memory ready, while the guest still runs.
     */
    record Prepare(long memoryBytes, List<CpuidEntry> cpuid, List<Xcr> xcrs) {
        static final int MAX_CPUID = 4096, MAX_XCRS = 64;
        static final long MAX_BYTES = 8 + 4 + 28L * MAX_CPUID + 4 + 12L * MAX_XCRS;

        ByteBuffer encode() {
            ByteBuffer b = ByteBuffer.allocate(8 + 4 + 28 * cpuid.size() + 4 + 12 * xcrs.size()).putLong(memoryBytes);
            b.putInt(cpuid.size());
            for (CpuidEntry e : cpuid) {
                b.putInt(e.function()).putInt(e.index()).putInt(e.flags()).putInt(e.eax()).putInt(e.ebx()).putInt(e.ecx()).putInt(e.edx());
            }
            b.putInt(xcrs.size());
            for (Xcr x : xcrs) b.putInt(x.index()).putLong(x.value());
            return b.flip();
        }

        static Prepare decode(byte[] p) throws MigrationException {
            try {
                ByteBuffer b = ByteBuffer.wrap(p);
                long memory = b.getLong();
                int n = b.getInt();
                if (n < 0 || n > MAX_CPUID) throw MigrationException.protocol("PREPARE names " + n + " CPUID entries (at most " + MAX_CPUID + ")");
                List<CpuidEntry> cpuid = new ArrayList<>(n);
                for (int i = 0; i < n; i++) cpuid.add(new CpuidEntry(b.getInt(), b.getInt(), b.getInt(), b.getInt(), b.getInt(), b.getInt(), b.getInt()));
                int x = b.getInt();
                if (x < 0 || x > MAX_XCRS) throw MigrationException.protocol("PREPARE names " + x + " XCRs (at most " + MAX_XCRS + ")");
                List<Xcr> xcrs = new ArrayList<>(x);
                for (int i = 0; i < x; i++) xcrs.add(new Xcr(b.getInt(), b.getLong()));
                if (b.hasRemaining()) throw MigrationException.protocol("PREPARE message has " + b.remaining() + " bytes too many");
                return new Prepare(memory, cpuid, xcrs);
            } catch (java.nio.BufferUnderflowException e) {
                throw MigrationException.protocol("PREPARE message too short");
            }
        }
    }

    /**
     * Protocol 2: the runs of pages the next round will send, so the server can fault their
     * memory in on a second thread ahead of the data. Only a hint: nothing is checked against it.
     */
    record Plan(List<long[]> runs) {
        static final int MAX_RUNS = 1 << 20;
        static final long MAX_BYTES = 4 + 12L * MAX_RUNS;

        ByteBuffer encode() {
            ByteBuffer b = ByteBuffer.allocate(4 + 12 * runs.size()).putInt(runs.size());
            for (long[] r : runs) b.putLong(r[0]).putInt((int) r[1]);
            return b.flip();
        }

        static Plan decode(byte[] p, long guestPages) throws MigrationException {
            if (p.length < 4) throw MigrationException.protocol("PLAN message too short");
            ByteBuffer b = ByteBuffer.wrap(p);
            int n = b.getInt();
            if (n < 0 || n > MAX_RUNS || p.length != 4 + 12L * n) throw MigrationException.protocol("PLAN message has the wrong length");
            List<long[]> runs = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                long first = b.getLong();
                long count = Integer.toUnsignedLong(b.getInt());
                if (first < 0 || first >= guestPages || count == 0 || count > guestPages - first) {
                    throw MigrationException.protocol("PLAN run at page 0x" + Long.toHexString(first) + " of " + count + " pages lies outside guest memory");
                }
                runs.add(new long[]{first, count});
            }
            return new Plan(runs);
        }
    }

    /**
     * Protocol 2: closes one round of memory: its number, what it carried, and the transcript
     * checksum of every frame since the handshake (as END does).
     */
    record Round(int round, long runs, long pages, int transcript) {
        static final int BYTES = 24;

        ByteBuffer encode() {
            return ByteBuffer.allocate(BYTES).putInt(round).putLong(runs).putLong(pages).putInt(transcript).flip();
        }

        static Round decode(byte[] p) throws MigrationException {
            exact(p, BYTES, "ROUND");
            ByteBuffer b = ByteBuffer.wrap(p);
            return new Round(b.getInt(), b.getLong(), b.getLong(), b.getInt());
        }
    }

    /** Asks how the migration with this id ended. */
    record Query(byte[] id) {
        static final int BYTES = NONCE;

        ByteBuffer encode() {
            return ByteBuffer.wrap(id.clone());
        }

        static Query decode(byte[] p) throws MigrationException {
            exact(p, BYTES, "QUERY");
            return new Query(p);
        }
    }

    /** Answer to QUERY. The codes are the protocol. */
    enum Verdict {
        COMMITTED(1), ABORTED(2), UNKNOWN(3);

        final int code;

        Verdict(int code) {
            this.code = code;
        }

        ByteBuffer encode() {
            return ByteBuffer.allocate(1).put((byte) code).flip();
        }

        static Verdict decode(byte[] p) throws MigrationException {
            exact(p, 1, "OUTCOME");
            for (Verdict v : values()) if (v.code == p[0]) return v;
            throw MigrationException.protocol("OUTCOME has unknown verdict " + p[0]);
        }
    }

    /** Either side gives up, saying why. Its format is the same in every protocol version. */
    record ErrorReply(ErrorCode code, String message) {
        ByteBuffer encode() {
            byte[] text = truncate(message.lines().findFirst().orElse(""));
            return ByteBuffer.allocate(2 + text.length).putShort((short) code.wire()).put(text).flip();
        }

        static ErrorReply decode(byte[] p) throws MigrationException {
            if (p.length < 2) throw MigrationException.protocol("ERROR message too short");
            String text;
            try {
                text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPLACE)
                        .onUnmappableCharacter(CodingErrorAction.REPLACE).decode(ByteBuffer.wrap(p, 2, p.length - 2)).toString();
            } catch (CharacterCodingException e) {
                text = "(unreadable message)";
            }
            StringBuilder clean = new StringBuilder(text.length());
            text.codePoints().forEach(c -> clean.appendCodePoint(c < 0x20 || c == 0x7f ? '?' : c));
            return new ErrorReply(ErrorCode.of(Short.toUnsignedInt(ByteBuffer.wrap(p).getShort())), clean.toString());
        }

        private static byte[] truncate(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            if (b.length <= MAX_ERROR_TEXT) return b;
            int n = MAX_ERROR_TEXT;
            while (n > 0 && (b[n] & 0xc0) == 0x80) n--;   // do not split a UTF-8 sequence
            return Arrays.copyOf(b, n);
        }
    }

    private static void exact(byte[] p, int n, String what) throws MigrationException {
        if (p.length != n) throw MigrationException.protocol(what + " message is " + p.length + " bytes, expected " + n);
    }
}
