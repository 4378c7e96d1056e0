package dev.scratchvm.kvm;

/**
 * KVM ioctl request numbers, computed the way linux/kvm.h does (_IO/_IOR/_IOW/_IOWR
 * with the argument struct's size) rather than typed in as hex.
 */
final class Ioctls {
    private static final int KVMIO = 0xAE;
    private static final int NONE = 0, WRITE = 1, READ = 2;

    private Ioctls() {
    }

    private static long ioc(int dir, int nr, long size) {
        return ((long) dir << 30) | (size << 16) | ((long) KVMIO << 8) | nr;
    }

    private static long io(int nr) {
        return ioc(NONE, nr, 0);
    }

    private static long ior(int nr, long size) {
        return ioc(READ, nr, size);
    }

    private static long iow(int nr, long size) {
        return ioc(WRITE, nr, size);
    }

    private static long iowr(int nr, long size) {
        return ioc(READ | WRITE, nr, size);
    }

    // system
    static final long GET_API_VERSION = io(0x00);
    static final long CREATE_VM = io(0x01);
    static final long GET_MSR_INDEX_LIST = iowr(0x02, Structs.KVM_MSR_LIST_HEADER);
    static final long CHECK_EXTENSION = io(0x03);
    static final long GET_VCPU_MMAP_SIZE = io(0x04);
    static final long GET_SUPPORTED_CPUID = iowr(0x05, Structs.KVM_CPUID2_HEADER);
    // vm
    static final long CREATE_VCPU = io(0x41);
    static final long SET_USER_MEMORY_REGION = iow(0x46, Structs.MEMORY_REGION.byteSize());
    static final long GET_DIRTY_LOG = iow(0x42, Structs.DIRTY_LOG.byteSize());
    static final long CLEAR_DIRTY_LOG = iowr(0xc0, Structs.CLEAR_DIRTY_LOG.byteSize());
    static final long ENABLE_CAP = iow(0xa3, Structs.ENABLE_CAP.byteSize());
    // vcpu
    static final long RUN = io(0x80);
    static final long GET_REGS = ior(0x81, Structs.REGS.byteSize());
    static final long SET_REGS = iow(0x82, Structs.REGS.byteSize());
    static final long GET_SREGS = ior(0x83, Structs.SREGS.byteSize());
    static final long SET_SREGS = iow(0x84, Structs.SREGS.byteSize());
    static final long GET_MSRS = iowr(0x88, Structs.KVM_MSRS_HEADER);
    static final long SET_MSRS = iow(0x89, Structs.KVM_MSRS_HEADER);
    static final long SET_SIGNAL_MASK = iow(0x8b, 4);
    static final long SET_CPUID2 = iow(0x90, Structs.KVM_CPUID2_HEADER);
    static final long GET_MP_STATE = ior(0x98, 4);
    static final long SET_MP_STATE = iow(0x99, 4);
    static final long GET_VCPU_EVENTS = ior(0x9f, Structs.EVENTS.byteSize());
    static final long SET_VCPU_EVENTS = iow(0xa0, Structs.EVENTS.byteSize());
    static final long GET_DEBUGREGS = ior(0xa1, Structs.DEBUGREGS.byteSize());
    static final long SET_DEBUGREGS = iow(0xa2, Structs.DEBUGREGS.byteSize());
    static final long GET_TSC_KHZ = io(0xa3);
    static final long GET_XSAVE = ior(0xa4, Structs.XSAVE_SIZE);
    static final long SET_XSAVE = iow(0xa5, Structs.XSAVE_SIZE);
    static final long GET_XCRS = ior(0xa6, Structs.XCRS_SIZE);
    static final long SET_XCRS = iow(0xa7, Structs.XCRS_SIZE);
}
