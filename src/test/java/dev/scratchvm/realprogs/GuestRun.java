package dev.scratchvm.realprogs;

import dev.scratchvm.boot.ElfException;
import dev.scratchvm.boot.ElfImage;
import dev.scratchvm.linux.Stdio;
import dev.scratchvm.linux.Trace;
import dev.scratchvm.sys.Libc;
import dev.scratchvm.vmm.Machine;
import dev.scratchvm.vmm.MachineConfig;
import dev.scratchvm.vmm.Outcome;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One program run, in ScratchVM or natively, with stdin, stdout and stderr in files.
 *
 * @param missingCalls the system calls the VMM answered ENOSYS, by name, first use first (none natively)
 * @param firstEinval  the first call the VMM answered EINVAL, as traced (an argument it does not
 *                     support, such as a lock command), or null
 */
record GuestRun(int exit, byte[] stdout, String stderr, List<String> missingCalls, String firstEinval, String ended) {
    private static final Pattern EINVAL = Pattern.compile("(?m)^(.*) - return -22$");

    private static final Pattern NOT_IMPLEMENTED = Pattern.compile("SYSCALL (\\d+) \\(not implemented\\)");

    /**
     * Runs {@code program} in a VM whose root is {@code root} (the guest's cwd is "/"), with the
     * whole trace kept to name the first system call the VMM does not implement.
     */
    static GuestRun inVm(Path program, Path root, List<String> argv, List<String> env, Path stdin, Path io, long memory)
            throws IOException, ElfException {
        Path out = io.resolve("vm.stdout"), err = io.resolve("vm.stderr");
        int in = Libc.open(stdin.toString(), Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        int o = Libc.open(out.toString(), Libc.O_WRONLY | Libc.O_CREAT | Libc.O_TRUNC | Libc.O_CLOEXEC, 0644);
        int e = Libc.open(err.toString(), Libc.O_WRONLY | Libc.O_CREAT | Libc.O_TRUNC | Libc.O_CLOEXEC, 0644);
        ByteArrayOutputStream trace = new ByteArrayOutputStream();
        try (PrintStream traceOut = new PrintStream(trace, true, StandardCharsets.UTF_8)) {
            MachineConfig config = new MachineConfig(memory, root, new Trace(Trace.Level.ALL, traceOut, ""), false,
                    new Stdio(in, o, e));
            ElfImage elf = ElfImage.parse(Files.readAllBytes(program), program.toString());
            Outcome outcome;
            try (Machine m = Machine.boot(config, elf, argv, env, program.toString(), new byte[16])) {
                outcome = runWithDeadline(m);
            }
            int exit;
            String ended;
            switch (outcome) {
                case Outcome.Exited x -> {
                    exit = x.status();
                    ended = "exit " + exit;
                }
                case Outcome.Killed k -> {
                    exit = k.exitCode();
                    ended = "killed: " + k.reason();
                }
                default -> {
                    exit = -1;
                    ended = "VM: " + outcome;
                }
            }
            Matcher mm = NOT_IMPLEMENTED.matcher(trace.toString(StandardCharsets.UTF_8));
            java.util.LinkedHashSet<String> missing = new java.util.LinkedHashSet<>();
            while (mm.find()) missing.add(SyscallNames.of(Integer.parseInt(mm.group(1))));
            Matcher einval = EINVAL.matcher(trace.toString(StandardCharsets.UTF_8));
            String refused = einval.find() ? einval.group(1) : null;
            return new GuestRun(exit, Files.readAllBytes(out), Files.readString(err), List.copyOf(missing), refused, ended);
        } finally {
            Libc.close(in);
            Libc.close(o);
            Libc.close(e);
        }
    }

    /** Runs the guest; one that is still running after a minute is taken out of the guest and reported. */
    private static Outcome runWithDeadline(Machine m) {
        java.util.concurrent.atomic.AtomicBoolean late = new java.util.concurrent.atomic.AtomicBoolean();
        Thread watchdog = Thread.ofVirtual().start(() -> {
            try {
                Thread.sleep(60_000);
                late.set(true);
                m.kick();
            } catch (InterruptedException e) {
                // the guest ended in time
            }
        });
        try {
            while (true) {
                Outcome o = m.run();
                if (!(o instanceof Outcome.Interrupted)) return o;
                if (late.get()) return new Outcome.Failed("still running after 60 s (stopped)");
            }
        } finally {
            watchdog.interrupt();
        }
    }

    /** Runs {@code command} natively in {@code cwd} with exactly {@code env}. */
    static GuestRun natively(List<String> command, Path cwd, Map<String, String> env, Path stdin, Path io)
            throws IOException, InterruptedException {
        Path out = io.resolve("native.stdout"), err = io.resolve("native.stderr");
        ProcessBuilder pb = new ProcessBuilder(command).directory(cwd.toFile()).redirectInput(stdin.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().clear();
        pb.environment().putAll(env);
        Process p = pb.start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return new GuestRun(-1, Files.readAllBytes(out), Files.readString(err), List.of(), null, "native run timed out");
        }
        return new GuestRun(p.exitValue(), Files.readAllBytes(out), Files.readString(err), List.of(), null, "exit " + p.exitValue());
    }

}
