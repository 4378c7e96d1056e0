package dev.scratchvm.linux;

/** A vCPU that is never there: for kernels booted or restored without running a guest. */
final class NoCpu implements CpuAccess {
    @Override
    public long fsBase() {
        return 0;
    }

    @Override
    public void setFsBase(long base) {
    }

    @Override
    public long gsBase() {
        return 0;
    }

    @Override
    public void setGsBase(long base) {
    }

    @Override
    public dev.scratchvm.x86.Registers registers() {
        return dev.scratchvm.x86.Registers.atEntry(0, 0);
    }

    @Override
    public void setRegisters(dev.scratchvm.x86.Registers registers) {
    }

    @Override
    public byte[] fpuState() {
        return new byte[4096];
    }

    @Override
    public void setFpuState(byte[] xsave) {
    }

    @Override
    public int fpuStateSize() {
        return 576;
    }

    @Override
    public long fpuFeatures() {
        return 3;
    }

    @Override
    public int userCodeSelector() {
        return 0x23;
    }

    @Override
    public int userStackSelector() {
        return 0x1b;
    }

    @Override
    public void interruptGuest() {
    }
}
