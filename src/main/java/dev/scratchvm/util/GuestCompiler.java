package dev.scratchvm.util;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Builds guest C programs with the machine's compiler: musl-gcc when present, else gcc. */
public final class GuestCompiler {
    private GuestCompiler() {
    }

    public static String compiler() {
        return onPath("musl-gcc") ? "musl-gcc" : "gcc";
    }

    /** Compiles {@code source} to {@code output} with -static and the guest include directory. */
    public static void compile(Path source, Path include, Path output) throws IOException, InterruptedException {
        List<String> cmd = List.of(compiler(), "-static", "-O1", "-I" + include, "-o", output.toString(), source.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("compiling " + source + " failed: " + out.strip());
        }
    }

    private static boolean onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, tool))) return true;
        }
        return false;
    }
}
