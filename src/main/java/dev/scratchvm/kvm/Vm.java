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

    /** KVM_SET_USER_MEMORY_REGION: map host memory at a guest physical address. */
    public void setUserMemoryRegion(int slot, long guestPhysAddr, MemorySegment host) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment region = arena.allocate(Structs.MEMORY_REGION);
            region.set(JAVA_INT, Structs.offset(Structs.MEMORY_REGION, "slot"), slot);
            region.set(JAVA_LONG, Structs.offset(Structs.MEMORY_REGION, "guest_phys_addr"), guestPhysAddr);
            region.set(JAVA_LONG, Structs.offset(Structs.MEMORY_REGION, "memory_size"), host.byteSize());
            region.set(JAVA_LONG, Structs.offset(Structs.MEMORY_REGION, "userspace_addr"), host.address());
            Kvm.check("KVM_SET_USER_MEMORY_REGION", Libc.ioctl(fd, Ioctls.SET_USER_MEMORY_REGION, region));
        }
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
