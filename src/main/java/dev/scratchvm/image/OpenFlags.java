package dev.scratchvm.image;

/** Renders Linux x86-64 open(2) flags as "O_RDONLY|O_CLOEXEC" for inspection output. */
final class OpenFlags {
    private static final int[] BITS = {0100, 0200, 0400, 01000, 02000, 04000, 010000, 020000, 040000, 0100000,
            0200000, 0400000, 01000000, 02000000, 04000000, 010000000, 020000000};
    private static final String[] NAMES = {"O_CREAT", "O_EXCL", "O_NOCTTY", "O_TRUNC", "O_APPEND", "O_NONBLOCK",
            "O_DSYNC", "O_ASYNC", "O_DIRECT", "O_LARGEFILE", "O_DIRECTORY", "O_NOFOLLOW", "O_NOATIME", "O_CLOEXEC",
            "__O_SYNC", "O_PATH", "__O_TMPFILE"};

    private OpenFlags() {
    }

    static String describe(int flags) {
        StringBuilder b = new StringBuilder(switch (flags & 3) {
            case 0 -> "O_RDONLY";
            case 1 -> "O_WRONLY";
            case 2 -> "O_RDWR";
            default -> "O_ACCMODE";
        });
        int rest = flags & ~3;
        for (int i = 0; i < BITS.length; i++) {
            if ((rest & BITS[i]) != 0) {
                b.append('|').append(NAMES[i]);
                rest &= ~BITS[i];
            }
        }
        if (rest != 0) b.append("|0x").append(Integer.toHexString(rest));
        return b.toString();
    }
}
