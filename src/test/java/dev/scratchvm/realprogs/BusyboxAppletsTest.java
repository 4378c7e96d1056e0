package dev.scratchvm.realprogs;

import dev.scratchvm.testing.KvmTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Differential test against a real program nobody here wrote: Debian's busybox-static (one
 * static binary, many applets) runs each invocation of {@link #APPLETS} in ScratchVM and
 * natively, in two fresh copies of the same directory, on the same stdin and environment;
 * stdout, the exit status and the resulting files must be the same.
 *
 * <p>What ScratchVM cannot run yet is listed once, in {@link #KNOWN_FAILING}, with its cause (the
 * first system call the VMM does not implement, where that is why). The list must stay true:
 * an invocation not listed must pass, a listed one must still fail, and for the same missing
 * call. The table of every result is written to target/realprogs/busybox-applets.txt.
 */
@KvmTest
@Tag(BusyboxAppletsTest.TAG)
class BusyboxAppletsTest {
    /** Tests that run programs from Debian's packages: {@code -Dgroups=real-programs}. */
    static final String TAG = "real-programs";
    static final long MEMORY = 64L << 20;
    /** Every fixture file's time: old, so a time a program sets shows apart from "now". */
    static final FileTime FIXTURE_TIME = FileTime.from(Instant.parse("2021-01-01T00:00:00Z"));

    // Left out because the two runs differ by design, not by a fault: pwd and realpath print the
    // host's path natively and the guest's in the VM; mktemp's names are random; cpio -o writes
    // the files' inode numbers, which differ between the two copies of the directory.

    /** One invocation: argv (argv[0] names the applet) and the fixture file that is its stdin. */
    record Applet(String stdin, List<String> argv) {
        static Applet of(String... argv) {
            return new Applet("empty", List.of(argv));
        }

        static Applet in(String stdin, String... argv) {
            return new Applet(stdin, List.of(argv));
        }

        String label() {
            return String.join(" ", argv) + (stdin.equals("empty") ? "" : " <" + stdin);
        }
    }

    static final List<Applet> APPLETS = List.of(
            // text tools
            Applet.of("cat", "in.txt"), Applet.of("cat", "-n", "in.txt"), Applet.in("in.txt", "cat"),
            Applet.of("head", "-n", "3", "in.txt"), Applet.of("tail", "-n", "2", "in.txt"), Applet.of("tail", "-c", "20", "in.txt"),
            Applet.of("sort", "in.txt"), Applet.of("sort", "-n", "nums.txt"), Applet.of("sort", "-t:", "-k3,3n", "in.txt"),
            Applet.of("sort", "-u", "-r", "sorted.txt"), Applet.of("uniq", "sorted.txt"), Applet.of("uniq", "-c", "sorted.txt"),
            Applet.of("wc", "in.txt"), Applet.of("wc", "-l", "in.txt", "nums.txt"), Applet.of("cut", "-d:", "-f2", "in.txt"),
            Applet.of("cut", "-c1-3", "in.txt"), Applet.in("in.txt", "tr", "a-z", "A-Z"), Applet.in("in.txt", "tr", "-d", "aeiou"),
            Applet.of("sed", "s/foo/bar/g", "in.txt"), Applet.of("sed", "-n", "2,3p", "in.txt"),
            Applet.of("sed", "-i", "s/red/blue/", "in2.txt"),
            Applet.of("awk", "-F:", "{print $2, NR}", "in.txt"), Applet.of("awk", "{s+=$1} END {print s, NR}", "nums.txt"),
            Applet.of("grep", "foo", "in.txt"), Applet.of("grep", "-c", "red", "in.txt"), Applet.of("grep", "-v", "-n", "a", "in.txt"),
            Applet.of("grep", "-r", "hello", "sub"), Applet.of("egrep", "ap+le|cherry", "in.txt"),
            Applet.of("od", "-c", "in.txt"), Applet.of("od", "-A", "x", "-t", "x1", "data.bin"), Applet.of("hexdump", "-C", "data.bin"),
            Applet.of("xxd", "data.bin"), Applet.of("strings", "data.bin"), Applet.of("nl", "in.txt"), Applet.of("rev", "in.txt"),
            Applet.of("tac", "in.txt"), Applet.of("fold", "-w", "8", "in.txt"), Applet.of("paste", "nums.txt", "sorted.txt"),
            Applet.of("expand", "tabs.txt"), Applet.of("diff", "in.txt", "in2.txt"), Applet.of("cmp", "in.txt", "in2.txt"),
            Applet.of("base64", "in.txt"), Applet.of("base64", "-d", "b64.txt"), Applet.of("dos2unix", "crlf.txt"),
            Applet.in("in.txt", "tee", "teed.txt"),
            // checksums
            Applet.of("md5sum", "in.txt", "nums.txt"), Applet.of("sha1sum", "in.txt"), Applet.of("sha256sum", "in.txt"),
            Applet.of("sha512sum", "in.txt"), Applet.of("sha3sum", "in.txt"), Applet.of("crc32", "in.txt"),
            Applet.of("md5sum", "-c", "sums.md5"),
            // archivers
            Applet.of("tar", "-cf", "out.tar", "in.txt", "sub"), Applet.of("tar", "-tvf", "arch.tar"),
            Applet.of("tar", "-xf", "arch.tar", "-C", "emptydir"), Applet.of("gzip", "-c", "in.txt"), Applet.of("gzip", "gz2.txt"),
            Applet.of("gunzip", "-c", "in.txt.gz"), Applet.of("zcat", "in.txt.gz"), Applet.of("bzip2", "-c", "in.txt"),
            Applet.of("bunzip2", "-c", "in.txt.bz2"), Applet.in("arch.cpio", "cpio", "-i", "-d", "-m"), Applet.in("arch.cpio", "cpio", "-t"),
            // file tools
            Applet.of("cp", "in.txt", "copy.txt"), Applet.of("cp", "-r", "sub", "sub2"), Applet.of("cp", "-p", "in.txt", "kept.txt"),
            Applet.of("mv", "in.txt", "moved.txt"), Applet.of("mv", "sub", "emptydir/"), Applet.of("rm", "in.txt"),
            Applet.of("rm", "-r", "sub"), Applet.of("mkdir", "newdir"), Applet.of("mkdir", "-p", "a/b/c"),
            Applet.of("mkdir", "-m", "700", "private"), Applet.of("rmdir", "emptydir"), Applet.of("ls"), Applet.of("ls", "-1", "sub"),
            Applet.of("ls", "-ln", "sub"), Applet.of("ls", "-l", "sub"), Applet.of("ls", "-R", "sub"),
            Applet.of("stat", "-c", "%n %s %a %F", "in.txt", "sub", "lnk"), Applet.of("stat", "-f", "-c", "%T", "."),
            Applet.of("touch", "new.txt"), Applet.of("touch", "-d", "2020-02-03 04:05:06", "in.txt"),
            Applet.of("ln", "-s", "in.txt", "symlink"), Applet.of("ln", "in.txt", "hardlink"), Applet.of("readlink", "lnk"),
            Applet.of("find", "."), Applet.of("find", ".", "-name", "*.txt"),
            Applet.of("find", ".", "-type", "d"), Applet.of("du", "-s", "sub"), Applet.of("chmod", "600", "in.txt"),
            Applet.of("truncate", "-s", "10", "in.txt"), Applet.of("dd", "if=in.txt", "of=dd.out", "bs=4", "count=3"),
            Applet.of("mkfifo", "fifo"), Applet.of("df", "."),
            // identity and small utilities
            Applet.of("id", "-u"), Applet.of("id", "-g"), Applet.of("id", "-G"), Applet.of("id"), Applet.of("whoami"),
            Applet.of("basename", "/a/b/c.txt", ".txt"), Applet.of("dirname", "/a/b/c"), Applet.of("expr", "3", "+", "4"),
            Applet.of("expr", "length", "hello"), Applet.of("seq", "1", "10"), Applet.of("seq", "-s,", "1", "5"),
            Applet.of("printf", "%05d %s\\n", "42", "x"), Applet.of("echo", "hello", "world"), Applet.of("date", "-d", "@0"),
            Applet.of("date", "-u", "-d", "@86400", "+%F %T"), Applet.of("true"), Applet.of("false"), Applet.of("test", "-f", "in.txt"),
            Applet.of("printenv", "HOME"), Applet.of("printenv", "TZ"), Applet.of("factor", "12345"),
            Applet.of("cal", "1", "2000"), Applet.of("sleep", "0"), Applet.of("uname", "-m"), Applet.of("bc"),
            Applet.in("calc.txt", "dc"),
            // programs that start other programs
            Applet.in("list.txt", "xargs", "cat"), Applet.of("find", ".", "-name", "nums.txt", "-exec", "cat", "{}", ";"),
            Applet.of("sh", "-c", "echo $((6 * 7))"), Applet.of("time", "true"), Applet.of("timeout", "5", "true"));

    /** What ScratchVM cannot run yet, and why: kept true by the test. */
    static final Map<String, String> KNOWN_FAILING = knownFailing();

    private static Map<String, String> knownFailing() {
        Map<String, String> m = new LinkedHashMap<>();
        // df looks for "." in /etc/mtab, which the guest root lacks (natively it reads the host's,
        // a symlink into /proc; a symlink in the root is resolved by the host, not the VM's /proc)
        m.put("df .", "exit 1 (exit 1), natively 0; stderr: df: .: can't find mount point");
        // pipes and child processes
        m.put("zcat in.txt.gz", "missing clone");
        m.put("xargs cat <list.txt", "missing vfork");
        m.put("find . -name nums.txt -exec cat {} ;", "missing vfork");
        m.put("time true", "missing vfork");
        m.put("timeout 5 true", "missing vfork");
        return m;
    }

    @Test
    @Timeout(value = 15, unit = TimeUnit.MINUTES)
    void busyboxAppletsBehaveInTheVmAsNatively(@TempDir Path work) throws Exception {
        DebianPackages.require("busybox-static");
        Path busybox = DebianPackages.root().resolve("bin/busybox");
        Path template = work.resolve("template");
        Fixture.create(template, busybox, FIXTURE_TIME);

        Map<String, Differential> runs = new LinkedHashMap<>();
        int index = 0;
        for (Applet a : APPLETS) {
            // Natively in the multi-call form (busybox, then the applet's argv): no shell in between.
            List<String> nativeCmd = new ArrayList<>(List.of(busybox.toString()));
            nativeCmd.addAll(a.argv());
            runs.put(a.label(), Differential.run(busybox, template, a.argv(), nativeCmd, a.stdin(), work.resolve("case" + index++),
                    MEMORY));
        }
        Set<String> everyRun = new TreeSet<>(runs.values().iterator().next().actual().missingCalls());
        runs.values().forEach(d -> everyRun.retainAll(d.actual().missingCalls()));

        List<String> table = new ArrayList<>(), wrong = new ArrayList<>();
        int passed = 0;
        for (var e : runs.entrySet()) {
            String label = e.getKey(), cause = e.getValue().cause(everyRun), known = KNOWN_FAILING.get(label);
            if (cause == null) passed++;
            table.add(String.format("%-4s %-40s %s", cause == null ? "ok" : "FAIL", label, cause == null ? "" : cause));
            if (cause == null && known != null) wrong.add(label + ": passes now; remove it from KNOWN_FAILING");
            if (cause != null && known == null) wrong.add(label + ": fails: " + cause);
            if (cause != null && known != null && !cause.startsWith(known)) {
                wrong.add(label + ": fails for another reason now: " + cause + " (listed: " + known + ")");
            }
        }
        table.add(passed + " of " + APPLETS.size() + " pass; answered ENOSYS in every run: " + everyRun);
        Path report = DebianPackages.dir().getParent().resolve("realprogs/busybox-applets.txt");
        Files.createDirectories(report.getParent());
        Files.write(report, table);
        assertThat(APPLETS.size()).as("applet invocations").isGreaterThanOrEqualTo(60);
        assertThat(KNOWN_FAILING.keySet()).as("every listed invocation is in the table")
                .isSubsetOf(runs.keySet());
        assertThat(wrong).as("results that differ from KNOWN_FAILING (full table: %s)", report).isEmpty();
    }
}
