package dev.scratchvm.kvm;

import dev.scratchvm.x86.CpuidEntry;
import dev.scratchvm.sys.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/** The /dev/kvm system handle: capability queries and VM creation. */
public final class Kvm implements AutoCloseable {
    public static final int CAP_SYNC_REGS = 74, CAP_XSAVE = 55, CAP_XCRS = 56, CAP_DEBUGREGS = 50,
            CAP_VCPU_EVENTS = 41, CAP_GET_TSC_KHZ = 61, CAP_MANUAL_DIRTY_LOG_PROTECT2 = 168;
    private static final int API_VERSION = 12;
    private static final int MAX_CPUID_ENTRIES = 256;

    private final int fd;

    private Kvm(int fd) {
        this.fd = fd;
    }

    /** Opens /dev/kvm and checks the API version. */
    public static Kvm open() {
        int fd = Libc.open("/dev/kvm", Libc.O_RDWR | Libc.O_CLOEXEC, 0);
        if (fd < 0) throw new KvmException("open /dev/kvm", -fd);
        Kvm kvm = new Kvm(fd);
        int version = Libc.ioctl(fd, Ioctls.GET_API_VERSION, 0L);
        if (version != API_VERSION) {
            kvm.close();
            throw new KvmException("KVM API version " + version + " is not the supported " + API_VERSION);
        }
        return kvm;
    }

    /** KVM_CHECK_EXTENSION: 0 when the capability is absent. */
    public int checkExtension(int capability) {
        return Math.max(0, Libc.ioctl(fd, Ioctls.CHECK_EXTENSION, capability));
    }

    /** KVM_GET_VCPU_MMAP_SIZE: size of the shared kvm_run region. */
    int vcpuMmapSize() {
        return check("KVM_GET_VCPU_MMAP_SIZE", Libc.ioctl(fd, Ioctls.GET_VCPU_MMAP_SIZE, 0L));
    }

    /** What {@link #supportedCpuid} returned: it does not change while the module is loaded, and a restore asks for it. */
    private List<CpuidEntry> supportedCpuid;

    /** KVM_GET_SUPPORTED_CPUID: what this host's KVM can expose to a guest (asked once per handle). */
    public List<CpuidEntry> supportedCpuid() {
        if (supportedCpuid == null) supportedCpuid = List.copyOf(readSupportedCpuid());
        return supportedCpuid;
    }

    private List<CpuidEntry> readSupportedCpuid() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(Structs.KVM_CPUID2_HEADER + MAX_CPUID_ENTRIES * Structs.CPUID_ENTRY.byteSize(), 8);
            buf.set(JAVA_INT, 0, MAX_CPUID_ENTRIES);
            check("KVM_GET_SUPPORTED_CPUID", Libc.ioctl(fd, Ioctls.GET_SUPPORTED_CPUID, buf));
            int n = buf.get(JAVA_INT, 0);
            List<CpuidEntry> entries = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                entries.add(Structs.readCpuid(buf, Structs.KVM_CPUID2_HEADER + i * Structs.CPUID_ENTRY.byteSize()));
            }
            return entries;
        }
    }

    /** KVM_GET_MSR_INDEX_LIST: the MSRs KVM can save and restore. */
    public List<Integer> msrIndexList() {
        try (Arena arena = Arena.ofConfined()) {
            int max = 1024;
            MemorySegment buf = arena.allocate(4 + 4L * max, 4);
            buf.set(JAVA_INT, 0, max);
            check("KVM_GET_MSR_INDEX_LIST", Libc.ioctl(fd, Ioctls.GET_MSR_INDEX_LIST, buf));
            int n = buf.get(JAVA_INT, 0);
            List<Integer> list = new ArrayList<>(n);
            for (int i = 0; i < n; i++) list.add(buf.get(JAVA_INT, 4 + 4L * i));
            return list;
        }
    }

    /** KVM_CREATE_VM. */
    public Vm createVm() {
        int vmFd = check("KVM_CREATE_VM", Libc.ioctl(fd, Ioctls.CREATE_VM, 0L));
        return new Vm(this, vmFd);
    }

    static int check(String ioctl, int result) {
        if (result < 0) throw new KvmException(ioctl, -result);
        return result;
    }

    @Override
    public void close() {
        Libc.close(fd);
    }
}
