package dev.scratchvm.vmm;

import dev.scratchvm.boot.BootLayout;
import dev.scratchvm.image.StateCodec;
import dev.scratchvm.kvm.Vcpu;
import dev.scratchvm.linux.FileFingerprints;
import dev.scratchvm.linux.GuestRoot;
import dev.scratchvm.memory.GuestMemory;
import dev.scratchvm.state.KernelState;
import dev.scratchvm.state.MachineState;
import dev.scratchvm.state.MemoryState;
import dev.scratchvm.state.VcpuState;
import dev.scratchvm.x86.Registers;
import dev.scratchvm.sys.Libc;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Runs the capture/encode/decode/restore code once on a throwaway VM, in the background,
 * so that a migration's first real capture (client) or restore (server) does not pay for
 * class initialisation and interpreted first runs while the guest is paused. Downtime is
 * what a migration is judged by; this moves tens of milliseconds out of it.
 */
public final class WarmUp {
    private static final int ROUNDS = 200;

    private WarmUp() {
    }

    /**
     * Restores (from a shell, as a live migration's server does) and captures done by
     * {@link #inBackground(MachineConfig, Consumer)}: measured, the first few cost 5-70 ms
     * each, and only after about fifty (when the JIT has compiled them) do they settle at
     * their 2-3 ms; bounded in time for slow (emulated) hosts.
     */
    private static final int MACHINE_ROUNDS = 60;

    /** What the layers above rehearse after the machines, until {@code untilNanos} ({@link System#nanoTime}). */
    @FunctionalInterface
    public interface More {
        /** @param config the warm-up's own: its root holds the files {@code state} has open */
        void run(MachineState state, MachineConfig config, long untilNanos) throws Exception;
    }

    /** How long a warm-up may take, settling included; the machine rounds get the first 40 % of it. */
    public enum Budget {
        /**
         * For a caller that waits for it (at most 2 s) before the guest starts or the server
         * listens: a warm-up still running then competes with the guest's first stop (measured:
         * 20 ms more downtime on 2 CPUs).
         */
        BEFORE_START(1_400_000_000L),
        /**
         * Beside a guest that already runs (a VMM with a control socket), which it takes CPU
         * from meanwhile. As long as before a start: with 0.3 s, no whole migration fitted, and
         * the first live migration then ran cold (measured: 4-6 ms more downtime).
         */
        BESIDE_GUEST(1_400_000_000L);

        private final long nanos;

        Budget(long nanos) {
            this.nanos = nanos;
        }
    }

    /** Starts the warm-up on a daemon thread; failures are ignored (it is only an optimisation). */
    public static Thread inBackground() {
        return inBackground(null, (state, config, until) -> { }, Budget.BESIDE_GUEST);
    }

    /**
     * As {@link #inBackground()}, and also the paths a migration's stop runs on a whole
     * machine: {@link Machine#shell} and {@link Machine#restore(MachineConfig, MachineState, Machine.Shell)}
     * with {@code config} (its root, its dirty log), then {@link Machine#capture} of what was
     * restored and its encoding, a few times; then {@code more} with a valid state, for the
     * layers above (the migration server's copy, whole migrations).
     */
    public static Thread inBackground(MachineConfig config, More more, Budget budget) {
        long start = System.nanoTime(), deadline = start + budget.nanos;
        Thread t = new Thread(() -> {
            Path root = null;
            try {
                root = Files.createTempDirectory("scratchvm-warm-up-");
                MachineState state = run(root);
                if (state == null) return;
                if (config != null) machines(config, root, state, start + budget.nanos * 2 / 5);
                more.run(state, new MachineConfig(state.memory().size(), root, config != null ? config.trace() : null, false,
                        config != null ? config.stdio() : null, config == null || config.dirtyLog()), start + budget.nanos * 3 / 4);
                settleCompiler(deadline);
            } catch (Exception | LinkageError ignored) {
                // A warm-up that fails changes nothing but timing.
            } finally {
                removeRoot(root);
            }
        }, "vm-warm-up");
        t.setDaemon(true);
        t.start();
        return t;
    }

    /**
     * Waits until the JIT has compiled what the warm-up made hot (its total compilation time
     * stops growing), until {@code until} at the latest: otherwise those compilations run
     * during the first real stop and take the CPU from it (measured: 10 ms more downtime on 2 CPUs).
     */
    private static void settleCompiler(long until) throws InterruptedException {
        var jit = java.lang.management.ManagementFactory.getCompilationMXBean();
        if (jit == null || !jit.isCompilationTimeMonitoringSupported()) return;
        long last = -1;
        for (int quiet = 0; quiet < 3 && System.nanoTime() - until < 0; Thread.sleep(20)) {
            long now = jit.getTotalCompilationTime();
            quiet = now == last ? quiet + 1 : 0;
            last = now;
        }
    }

    /** A throwaway machine restored from {@code state} into a shell, captured again, encoded, closed. */
    private static void machines(MachineConfig config, Path root, MachineState state, long until) throws Exception {
        MachineConfig quiet = new MachineConfig(state.memory().size(), root, config.trace(), false, config.stdio(), config.dirtyLog());
        for (int i = 0; i < MACHINE_ROUNDS && System.nanoTime() - until < 0; i++) {
            try (Machine m = Machine.restore(quiet, state, Machine.shell(quiet, state.memory().size()))) {
                StateCodec.encode(m.capture());
                m.memory().pagesInUse();
            }
        }
    }

    /** What capturing an open file does: path from /proc/self/fd, offset, content fingerprint. */
    private static void warmFileCapture() throws IOException {
        Path file = Files.createTempFile("scratchvm-warm-up-", "");
        try {
            Files.writeString(file, "warm-up");
            int fd = Libc.open(file.toString(), Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
            if (fd < 0) return;
            try (GuestRoot root = GuestRoot.open(file.getParent())) {
                root.guestPathOf(fd);
                Libc.lseek(fd, 0, Libc.SEEK_CUR);
                FileFingerprints.of(fd);
            } finally {
                Libc.close(fd);
            }
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /** The file the warm-up's guest has open, in the warm-up's own root, as most guests have one. */
    private static final String FILE = "warm-up-file";

    /** Stdio and {@link #FILE} open, as restores find a guest's files (reopened and checked against their fingerprints). */
    private static List<KernelState.OpenFileState> files(Path root) throws IOException {
        Path file = root.resolve(FILE);
        Files.writeString(file, "warm-up\n");
        int fd = Libc.open(file.toString(), Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        if (fd < 0) throw new IOException("cannot open " + file);
        KernelState.FileFingerprint fingerprint;
        try {
            fingerprint = FileFingerprints.of(fd);
        } finally {
            Libc.close(fd);
        }
        return List.of(new KernelState.OpenFileState(0, KernelState.FileKind.STDIN, "", 0, 0, 0, KernelState.FileFingerprint.NONE),
                new KernelState.OpenFileState(1, KernelState.FileKind.STDOUT, "", 1, 0, 0, KernelState.FileFingerprint.NONE),
                new KernelState.OpenFileState(2, KernelState.FileKind.STDERR, "", 1, 0, 0, KernelState.FileFingerprint.NONE),
                new KernelState.OpenFileState(3, KernelState.FileKind.REGULAR, "/" + FILE, Libc.O_RDWR, 0644, 8, fingerprint));
    }

    private static void removeRoot(Path root) {
        if (root == null) return;
        try {
            Files.deleteIfExists(root.resolve(FILE));
            Files.deleteIfExists(root);
        } catch (IOException ignored) {
            // A temporary directory left behind.
        }
    }

    /** The codec, checks and vCPU paths on a bare VM; returns the state it built (null if it failed). */
    private static MachineState run(Path root) {
        try (BareVm vm = new BareVm(); Vcpu first = vm.longModeVcpu(0); Vcpu second = vm.blankVcpu(1)) {
            GuestMemory memory = vm.memory();
            first.registers().setRegs(Registers.atEntry(BootLayout.GUEST_BASE, memory.size() - 64));
            VcpuState cpu = VcpuStates.capture(first, VcpuStates.savableMsrs(vm.kvm()), vm.cpuid());
            List<KernelState.FdState> fds = List.of(new KernelState.FdState(0, 0, false), new KernelState.FdState(1, 1, false),
                    new KernelState.FdState(2, 2, false), new KernelState.FdState(3, 3, false));
            KernelState kernel = new KernelState(BootLayout.GUEST_BASE, BootLayout.GUEST_BASE, BootLayout.GUEST_BASE,
                    memory.size() - (1 << 20), List.of(), "/", 0, 0, files(root), fds);
            MachineState state = null;
            // Often enough for the JIT to compile the codec and the checks: interpreted, they cost milliseconds of downtime.
            for (int i = 0; i < ROUNDS; i++) {
                state = StateCodec.decode(StateCodec.encode(
                        new MachineState(cpu, new MemoryState(memory.size(), GuestMemory.PAGE_SIZE), kernel)));
                dev.scratchvm.image.StateRules.check(state);
                CpuFeatures.missing(state.vcpu().cpuid(), state.vcpu().xcrs(), vm.cpuid());
            }
            VcpuStates.restore(second, state.vcpu());
            memory.pagesInUse();
            warmFileCapture();
            return state;
        } catch (Exception | LinkageError ignored) {
            // A warm-up that fails changes nothing but timing.
            return null;
        }
    }
}
