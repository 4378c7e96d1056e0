package dev.scratchvm.realprogs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * x86-64 Linux system call names by number, for reports: read from the kernel headers the
 * guest programs are built with (libc6-dev brings them); a bare number where they are absent.
 */
final class SyscallNames {
    private static final Path HEADER = Path.of("/usr/include/x86_64-linux-gnu/asm/unistd_64.h");
    private static final Map<Integer, String> NAMES = load();

    private SyscallNames() {
    }

    static String of(int nr) {
        return NAMES.getOrDefault(nr, "syscall " + nr);
    }

    private static Map<Integer, String> load() {
        Map<Integer, String> names = new HashMap<>();
        try {
            Matcher m = Pattern.compile("#define __NR_(\\w+) (\\d+)").matcher(Files.readString(HEADER));
            while (m.find()) names.put(Integer.parseInt(m.group(2)), m.group(1));
        } catch (IOException e) {
            // numbers only
        }
        return names;
    }
}
