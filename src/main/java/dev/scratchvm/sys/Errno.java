package dev.scratchvm.sys;

/** Linux errno values the VMM uses by name, and their messages. */
public final class Errno {
    public static final int EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, ENXIO = 6, E2BIG = 7,
            EBADF = 9, ECHILD = 10, EAGAIN = 11, ENOMEM = 12, EACCES = 13, EFAULT = 14, EBUSY = 16,
            EEXIST = 17, EXDEV = 18, ENODEV = 19, ENOTDIR = 20, EISDIR = 21, EINVAL = 22, ENFILE = 23,
            EMFILE = 24, ENOTTY = 25, EFBIG = 27, ENOSPC = 28, ESPIPE = 29, EROFS = 30, EPIPE = 32,
            ERANGE = 34, ENAMETOOLONG = 36, ENOSYS = 38, ENOTEMPTY = 39, ELOOP = 40, EOVERFLOW = 75,
            ENOTSUP = 95, EOPNOTSUPP = 95, ETIMEDOUT = 110, ECONNREFUSED = 111;

    private Errno() {
    }

    /** "ENOENT (No such file or directory)" style text, from the host's strerror. */
    public static String describe(int errno) {
        return "errno " + errno + " (" + Libc.strerror(errno) + ")";
    }
}
