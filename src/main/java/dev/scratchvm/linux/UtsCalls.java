package dev.scratchvm.linux;

import dev.scratchvm.state.KernelState;
import dev.scratchvm.sys.Libc;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

import static dev.scratchvm.sys.Errno.*;

/**
 * uname, sethostname and setdomainname: the VM is its own UTS namespace, with a host name of its
 * own ("scratchvm" until the guest sets one, never the host's) saved with it. The guest may set
 * both names, as a container's root may in its namespace; the rest of uname is the host's kernel.
 */
final class UtsCalls {
    private static final int FIELD = 65, NODENAME = FIELD, DOMAINNAME = 5 * FIELD;

    private final GuestArgs args;
    byte[] hostname = KernelState.DEFAULT_HOSTNAME.getBytes(StandardCharsets.ISO_8859_1);
    byte[] domainname = KernelState.DEFAULT_DOMAINNAME.getBytes(StandardCharsets.ISO_8859_1);

    UtsCalls(GuestArgs args) {
        this.args = args;
    }

    void register(SyscallTable t) {
        t.register(Nr.UNAME, "uname", this::uname);
        t.register(Nr.SETHOSTNAME, "sethostname", c -> {
            hostname = name(c);
            return 0;
        });
        t.register(Nr.SETDOMAINNAME, "setdomainname", c -> {
            domainname = name(c);
            return 0;
        });
    }

    private long uname(Call c) {
        MemorySegment out = args.output(c.a0(), 6 * FIELD);
        int r = Libc.uname(out);
        if (r < 0) return r;
        put(out, NODENAME, hostname);
        put(out, DOMAINNAME, domainname);
        return 0;
    }

    private static void put(MemorySegment out, long offset, byte[] value) {
        out.asSlice(offset, FIELD).fill((byte) 0);
        MemorySegment.copy(value, 0, out, ValueLayout.JAVA_BYTE, offset, value.length);
    }

    /** The kernel copies len bytes; uname shows them up to the first NUL, as is kept here. */
    private byte[] name(Call c) {
        long len = c.a1();
        if (len < 0 || len > KernelState.MAX_UTS_NAME) throw new SyscallError(EINVAL);
        byte[] bytes = args.buffer(c.a0(), len).toArray(ValueLayout.JAVA_BYTE);
        int n = 0;
        while (n < bytes.length && bytes[n] != 0) n++;
        return java.util.Arrays.copyOf(bytes, n);
    }
}
