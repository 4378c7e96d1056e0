package dev.scratchvm.kvm;

import dev.scratchvm.sys.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** A KVM virtual machine file descriptor: memory slots and vCPU creation. */
public final class Vm implements AutoCloseable {
    private final Kvm kvm;
    private final int fd;

    Vm(Kvm kvm, int fd) {
        this.kvm = kvm;
        this.fd = fd;
    }

    /** Memory region flag: KVM records which pages the guest writes (KVM_GET_DIRTY_LOG). */
    public static final int MEM_LOG_DIRTY_PAGES = 1;

    /** KVM_SET_USER_MEMORY_REGION: map host memory at a guest physical address. */
    public void setUserMemoryRegion(int slot, long guestPhysAddr, MemorySegment host) {
        setUserMemoryRegion(slot, guestPhysAddr, host, 0);
    }

    /** KVM_SET_USER_MEMORY_REGION with region flags, e.g. {@link #MEM_LOG_DIRTY_PAGES}. */
    public void setUserMemoryRegion(int slot, long guestPhysAddr, MemorySegment host, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment region = arena.allocate(Structs.MEMORY_REGION);
            region.set(JAVA_INT, Structs.offset(Structs.MEMORY_REGION, "slot"), slot);
            region.set(JAVA_INT, Structs.offset(Structs.MEMORY_REGION, "flags"), flags);
            region.set(JAVA_LONG, Structs.offset(Structs.MEMORY_REGION, "guest_phys_addr"), guestPhysAddr);
            region.set(JAVA_LONG, Structs.offset(Structs.MEMORY_REGION, "memory_size"), host.byteSize());
            region.set(JAVA_LONG, Structs.offset(Structs.MEMORY_REGION, "userspace_addr"), host.address());
            Kvm.check("KVM_SET_USER_MEMORY_REGION", Libc.ioctl(fd, Ioctls.SET_USER_MEMORY_REGION, region));
        }
    }

    /** KVM_CHECK_EXTENSION on this VM (some capabilities answer per VM, with flags). */
    public int checkExtension(int capability) {
        return Math.max(0, Libc.ioctl(fd, Ioctls.CHECK_EXTENSION, capability));
    }

    /**
     * Starts dirty logging of a memory slot registered with {@link #MEM_LOG_DIRTY_PAGES};
     * call before registering it so that KVM_CLEAR_DIRTY_LOG is enabled from the start.
     */
    public DirtyLog dirtyLog(int slot, long pages) {
        return DirtyLog.enable(fd, slot, pages);
    }

    /** KVM_CREATE_VCPU, and maps its kvm_run region. */
    public Vcpu createVcpu(int id) {
        int vcpuFd = Kvm.check("KVM_CREATE_VCPU", Libc.ioctl(fd, Ioctls.CREATE_VCPU, id));
        return new Vcpu(vcpuFd, kvm.vcpuMmapSize());
    }

    @Override
    public void close() {
        Libc.close(fd);
    }
}
