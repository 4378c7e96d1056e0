package dev.scratchvm.linux;

import dev.scratchvm.sys.Libc;
import dev.scratchvm.sys.Wakeup;

import java.lang.foreign.MemorySegment;

/**
 * Calls on a file's data as a whole: copies made inside the host kernel (sendfile,
 * copy_file_range), space allocation, access advice and partial syncs. All act on the host
 * fds behind the guest's; offsets the guest passes by pointer are its own memory, which the
 * host kernel reads and updates in place.
 */
final class ExtentCalls {
    private static final long ONE_PAGE = 4096;

    private final GuestArgs args;
    private final FileCalls files;
    private final Wakeup wakeup;

    ExtentCalls(GuestArgs args, FileCalls files, Wakeup wakeup) {
        this.args = args;
        this.files = files;
        this.wakeup = wakeup;
    }

    void register(SyscallTable t) {
        t.registerTraced(Nr.SENDFILE, "sendfile", this::sendfile);
        t.registerTraced(Nr.COPY_FILE_RANGE, "copy_file_range", c -> {
            int in = files.file(c.fd()).hostFd, out = files.file((int) c.a2()).hostFd;
            return files.traced("COPY_FILE_RANGE " + c.a0() + " " + c.a2() + " " + c.a4(),
                    Libc.copyFileRange(in, offset(c.a1()), out, offset(c.a3()), c.a4(), (int) c.a5()));
        });
        t.registerTraced(Nr.FALLOCATE, "fallocate", c -> files.traced("FALLOCATE " + c.fd() + " " + c.a1() + " " + c.a2()
                + " " + c.a3(), Libc.fallocate(files.file(c.fd()).hostFd, (int) c.a1(), c.a2(), c.a3())));
        t.registerTraced(Nr.FADVISE64, "fadvise64", c -> files.traced("FADVISE64 " + c.fd() + " " + c.a3(),
                Libc.fadvise(files.file(c.fd()).hostFd, c.a1(), c.a2(), (int) c.a3())));
        t.registerTraced(Nr.SYNC_FILE_RANGE, "sync_file_range", c -> files.traced("SYNC_FILE_RANGE " + c.fd(),
                Libc.syncFileRange(files.file(c.fd()).hostFd, c.a1(), c.a2(), (int) c.a3())));
    }

    /**
     * To a pipe, socket or terminal the copy could wait for a slow reader inside the host
     * call, where no pause can reach it: wait for room where a wake cuts in, then send at
     * most one page, which that room takes without waiting (a short count, as Linux may give).
     */
    private long sendfile(Call c) {
        OpenFile out = files.file(c.fd());
        int in = files.file((int) c.a1()).hostFd;
        MemorySegment offset = offset(c.a2());
        long count = c.a3();
        if (out.mayBlock() && count > 0) {
            if (wakeup.await(out.hostFd, Libc.POLLOUT, -1) == Wakeup.Result.WOKEN) throw new Interrupted(Nr.SENDFILE);
            count = Math.min(count, ONE_PAGE);
        }
        return files.traced("SENDFILE " + c.a0() + " " + c.a1() + " " + c.a3(), Libc.sendfile(out.hostFd, in, offset, count));
    }

    /** A loff_t the guest passes by pointer, or NULL for "use and move the file's offset". */
    private MemorySegment offset(long addr) {
        return addr == 0 ? MemorySegment.NULL : args.output(addr, 8);
    }
}
