package dev.scratchvm.bench;

import dev.scratchvm.util.GuestCompiler;
import dev.scratchvm.util.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The benchmark suite behind {@code scratchvm bench}: every figure is the median of
 * repeated runs, printed next to a floor measured in the same run on the same machine.
 */
public final class Bench {
    /** How much to do: the quick profile only proves the suite still runs. */
    public record Profile(boolean quick, int rounds, int syscalls, int startRuns) {
        public static Profile of(boolean quick) {
            return quick ? new Profile(true, 2, 1000, 1) : new Profile(false, 5, 20000, 5);
        }
    }

    private final Profile profile;
    private final Path home;
    private final Path work;
    private final List<Result> results = new ArrayList<>();
    private final java.util.Set<String> only;

    /** The parts of the suite, in the order they run; {@code --only} names some of them. */
    public static final List<String> PARTS = List.of("syscall", "snapshot", "control", "migration", "live", "start");

    public Bench(Profile profile, Path home, Path work, java.util.Set<String> only) {
        this.profile = profile;
        this.home = home;
        this.work = work;
        this.only = only;
    }

    private boolean wanted(String part) {
        return only == null || only.isEmpty() || only.contains(part);
    }

    public List<Result> run() throws Exception {
        Files.createDirectories(work);
        Programs programs = Programs.build(home, work);
        if (wanted("syscall")) {
            progress("system call path");
            results.addAll(new SyscallBench(profile, work, programs).run());
        }
        if (wanted("snapshot")) {
            progress("save and restore");
            results.addAll(new SnapshotBench(profile, work, programs).run());
        }
        if (wanted("control")) {
            progress("pause and snapshot of a running VM");
            results.addAll(new ControlBench(profile, work, programs).run());
        }
        if (wanted("migration")) {
            progress("migration over loopback (two VMM processes)");
            results.addAll(new MigrationBench(profile, home, work, programs).run());
        }
        if (wanted("live")) {
            progress("live migration over loopback (two VMM processes, the guest running)");
            results.addAll(new LiveMigrationBench(profile, home, work, programs, MigrationBench.key(work)).run());
        }
        if (wanted("start")) {
            progress("start-up and memory overhead (fresh VMM processes)");
            results.addAll(new StartBench(profile, home, work, programs).run());
        }
        return results;
    }

    static void progress(String what) {
        System.err.println("bench: " + what + " ...");
    }

    /** The table users read. */
    public static String table(List<Result> results) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%-44s %10s %10s %10s  %-28s %10s %7s  %s%n",
                "scenario", "min", "median", "max", "floor (same run)", "floor", "ratio", "target"));
        for (Result r : results) {
            String floor = r.floor() == null ? "" : fmt(r.floor().median());
            String ratio = r.floor() == null ? "" : String.format(Locale.ROOT, "%.2fx", r.ratio());
            String target = r.target() == null ? "" : r.target() + (r.met() == null ? "" : r.met() ? "  ok" : "  MISSED");
            b.append(String.format(Locale.ROOT, "%-44s %10s %10s %10s  %-28s %10s %7s  %s%n",
                    r.scenario() + " (" + r.unit() + ")", fmt(r.value().min()), fmt(r.value().median()),
                    fmt(r.value().max()), r.floorName() == null ? "" : r.floorName(), floor, ratio, target));
            if (r.note() != null) b.append("    ").append(r.note()).append('\n');
        }
        return b.toString();
    }

    private static String fmt(double v) {
        if (v >= 1000) return String.format(Locale.ROOT, "%.0f", v);
        if (v >= 10) return String.format(Locale.ROOT, "%.1f", v);
        return String.format(Locale.ROOT, "%.2f", v);
    }

    public static String json(List<Result> results) {
        Json json = new Json().beginArray();
        for (Result r : results) {
            json.beginObject().field("scenario", r.scenario()).field("unit", r.unit());
            stats(json, "value", r.value());
            if (r.floor() != null) {
                json.field("floor_name", r.floorName());
                stats(json, "floor", r.floor());
                json.field("ratio", r.ratio());
            }
            if (r.target() != null) json.field("target", r.target());
            if (r.met() != null) json.field("met", r.met());
            if (r.note() != null) json.field("note", r.note());
            json.endObject();
        }
        return json.endArray() + "\n";
    }

    private static void stats(Json json, String name, Stats s) {
        json.name(name).beginObject().field("min", s.min()).field("median", s.median()).field("max", s.max())
                .field("samples", s.samples()).endObject();
    }

    /** The guest programs the suite runs, compiled once into the work directory. */
    record Programs(Path lab, Path syscallLoop, Path touchMemory, Path steer, Path dirtyLoop, Path live) {
        static Programs build(Path home, Path work) throws IOException, InterruptedException {
            Path include = home.resolve("guest/include");
            Path lab = work.resolve("app"), loop = work.resolve("syscall_loop"), touch = work.resolve("touch_memory"),
                    steer = work.resolve("steer");
            GuestCompiler.compile(home.resolve("examples/lab3/app.c"), include, lab);
            GuestCompiler.compile(home.resolve("guest/tests/syscall_loop.c"), include, loop);
            GuestCompiler.compile(home.resolve("guest/tests/touch_memory.c"), include, touch);
            GuestCompiler.compile(home.resolve("guest/tests/steer.c"), include, steer);
            Path dirty = work.resolve("dirty_loop");
            GuestCompiler.compile(home.resolve("guest/tests/dirty_loop.c"), include, dirty);
            Path live = work.resolve("live");
            GuestCompiler.compile(home.resolve("guest/tests/live.c"), include, live);
            return new Programs(lab, loop, touch, steer, dirty, live);
        }
    }
}
