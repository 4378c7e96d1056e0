package dev.scratchvm.realprogs;

import dev.scratchvm.boot.ElfException;
import dev.scratchvm.boot.ElfImage;
import dev.scratchvm.image.ImageException;
import dev.scratchvm.image.ImageReader;
import dev.scratchvm.linux.Call;
import dev.scratchvm.linux.KernelRestoreException;
import dev.scratchvm.linux.Stdio;
import dev.scratchvm.linux.Trace;
import dev.scratchvm.sys.Libc;
import dev.scratchvm.vmm.Machine;
import dev.scratchvm.vmm.MachineConfig;
import dev.scratchvm.vmm.Outcome;
import dev.scratchvm.vmm.Snapshots;

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
 * @param savedAt      the completed system calls (numbered from the program's start) after which
 *                     the VM was saved to an image, closed and restored; empty for a run in one piece
 * @param calls        the system calls the program completed, in all its VMs (0 natively)
 * @param refusedSaves  the stops where the VMM refused to save (the call, and why); the guest went
 *                     on in the same VM then, as after a refused external snapshot
 * @param pausedNanos  the time spent saving, closing and restoring (0 for a run in one piece)
 */
record GuestRun(int exit, byte[] stdout, String stderr, List<String> missingCalls, String firstEinval, String ended,
                List<Long> savedAt, long calls, List<String> refusedSaves, long pausedNanos) {
    private static final Pattern EINVAL = Pattern.compile("(?m)^(.*) - return -22$");

    private static final Pattern NOT_IMPLEMENTED = Pattern.compile("SYSCALL (\\d+) \\(not implemented\\)");

    private static final long UNLINK = 87, UNLINKAT = 263;

    /**
     * Where an interrupted run stops: after the completed system calls numbered 1, 4, 16, 64, ...
     * (powers of 4), and after every unlink, where a program may keep a file it deleted open.
     */
    static boolean stopsAfter(long number, Call call) {
        boolean powerOfFour = Long.bitCount(number) == 1 && Long.numberOfTrailingZeros(number) % 2 == 0;
        return powerOfFour || call.nr() == UNLINK || call.nr() == UNLINKAT;
    }

    /**
     * Runs {@code program} in a VM whose root is {@code root} (the guest's cwd is "/"), with the
     * whole trace kept to name the first system call the VMM does not implement.
     */
    static GuestRun inVm(Path program, Path root, List<String> argv, List<String> env, Path stdin, Path io, long memory)
            throws IOException, ElfException {
        return inVm(program, root, argv, env, stdin, io, memory, false);
    }

    /**
     * As above; when {@code interrupted}, the run is cut into pieces after the completed system
     * calls {@link #stopsAfter} picks (1, 4, 16, 64, ..., so for any length the last of these falls
     * past the first quarter of the program's calls; and every unlink). At each, the VM is saved as an
     * external snapshot is (Snapshots.save after the vCPU settled) to an image file, closed,
     * and restored from that file in a fresh Machine (Snapshots.restore, as {@code restore}
     * does; copying and mapping the memory by turns), which runs on. Where the VMM refuses to
     * save, the guest goes on in the same VM (recorded in {@link #refusedSaves}). Each piece writes its
     * own stdout and stderr files, joined at the end; stdin is one open file read on by every
     * piece, as by {@code { scratchvm run ...; scratchvm restore; } < file}.
     */
    static GuestRun inVm(Path program, Path root, List<String> argv, List<String> env, Path stdin, Path io, long memory,
                         boolean interrupted) throws IOException, ElfException {
        int in = Libc.open(stdin.toString(), Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        ByteArrayOutputStream trace = new ByteArrayOutputStream();
        ByteArrayOutputStream stdout = new ByteArrayOutputStream(), stderr = new ByteArrayOutputStream();
        List<Long> savedAt = new ArrayList<>();
        List<String> refusedSaves = new ArrayList<>();
        long paused = 0;
        long[] calls = {0};
        boolean[] stopHere = {false};
        Path image = io.resolve("vm.img");
        try (PrintStream traceOut = new PrintStream(trace, true, StandardCharsets.UTF_8)) {
            Trace tracer = new Trace(Trace.Level.ALL, traceOut, "");
            ElfImage elf = ElfImage.parse(Files.readAllBytes(program), program.toString());
            Outcome outcome = null;
            Piece piece = Piece.open(io, 0);
            Machine m = null;
            try {
                m = Machine.boot(new MachineConfig(memory, root, tracer, false, piece.stdio(in)), elf, argv, env,
                        program.toString(), new byte[16]);
                while (outcome == null) {
                    m.stopAfter(call -> stopHere[0] = stopsAfter(++calls[0], call) && interrupted);
                    Outcome o = runWithDeadline(m, () -> stopHere[0]);
                    if (!(o instanceof Outcome.Interrupted)) {
                        outcome = o;
                        break;
                    }
                    stopHere[0] = false;
                    long pausedAt = System.nanoTime();
                    m.settle();
                    try {
                        Snapshots.save(m, image);
                    } catch (ImageException | KernelRestoreException e) {
                        // Nothing changed: the guest goes on here, as after a snapshot the controller could not take.
                        refusedSaves.add(calls[0] + ": " + e.getMessage());
                        paused += System.nanoTime() - pausedAt;
                        continue;
                    }
                    savedAt.add(calls[0]);
                    m.close();
                    m = null;
                    piece = piece.next(io, stdout, stderr);
                    ImageReader.Mode mode = savedAt.size() % 2 == 1 ? ImageReader.Mode.COPY : ImageReader.Mode.MAP;
                    try {
                        m = Snapshots.restore(image, new MachineConfig(memory, root, tracer, false, piece.stdio(in)), mode);
                    } catch (ImageException | Machine.RestoreException e) {
                        outcome = new Outcome.Failed("restore after call " + calls[0] + " failed: " + e.getMessage());
                    }
                    paused += System.nanoTime() - pausedAt;
                }
            } finally {
                if (m != null) m.close();
                piece.close(stdout, stderr);
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
            return new GuestRun(exit, stdout.toByteArray(), stderr.toString(StandardCharsets.UTF_8), List.copyOf(missing), refused,
                    ended, List.copyOf(savedAt), calls[0], List.copyOf(refusedSaves), paused);
        } finally {
            Libc.close(in);
        }
    }

    /** One VM's share of a run: its own stdout and stderr files (the VMM's stdio in that piece). */
    private record Piece(int index, Path out, Path err, int o, int e) {
        static Piece open(Path io, int index) {
            Path out = io.resolve("vm.stdout." + index), err = io.resolve("vm.stderr." + index);
            int o = Libc.open(out.toString(), Libc.O_WRONLY | Libc.O_CREAT | Libc.O_TRUNC | Libc.O_CLOEXEC, 0644);
            int e = Libc.open(err.toString(), Libc.O_WRONLY | Libc.O_CREAT | Libc.O_TRUNC | Libc.O_CLOEXEC, 0644);
            return new Piece(index, out, err, o, e);
        }

        Stdio stdio(int in) {
            return new Stdio(in, o, e);
        }

        /** Closes this piece, appends what it wrote, and opens the next. */
        Piece next(Path io, ByteArrayOutputStream stdout, ByteArrayOutputStream stderr) throws IOException {
            close(stdout, stderr);
            return open(io, index + 1);
        }

        void close(ByteArrayOutputStream stdout, ByteArrayOutputStream stderr) throws IOException {
            Libc.close(o);
            Libc.close(e);
            stdout.write(Files.readAllBytes(out));
            stderr.write(Files.readAllBytes(err));
            Files.delete(out);
            Files.delete(err);
        }
    }

    /**
     * Runs the guest until it ends or {@code stop} says the stop it was asked for came; one
     * that is still running after a minute is taken out of the guest and reported.
     */
    private static Outcome runWithDeadline(Machine m, java.util.function.BooleanSupplier stop) {
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
                if (!(o instanceof Outcome.Interrupted) || stop.getAsBoolean()) return o;
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
            return new GuestRun(-1, Files.readAllBytes(out), Files.readString(err), List.of(), null, "native run timed out", List.of(), 0, List.of(), 0);
        }
        return new GuestRun(p.exitValue(), Files.readAllBytes(out), Files.readString(err), List.of(), null, "exit " + p.exitValue(),
                List.of(), 0, List.of(), 0);
    }

}
