package dev.scratchvm.image;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.scratchvm.image.schema.StateProto;
import dev.scratchvm.state.KernelState;
import dev.scratchvm.state.KernelState.FdState;
import dev.scratchvm.state.KernelState.FileFingerprint;
import dev.scratchvm.state.KernelState.FileKind;
import dev.scratchvm.state.KernelState.FileLock;
import dev.scratchvm.state.KernelState.LockOwner;
import dev.scratchvm.state.KernelState.Mapping;
import dev.scratchvm.state.KernelState.OpenFileState;
import dev.scratchvm.state.KernelState.AltStack;
import dev.scratchvm.state.KernelState.PendingSignal;
import dev.scratchvm.state.KernelState.SignalAction;
import dev.scratchvm.state.KernelState.SignalState;
import dev.scratchvm.state.KernelState.TimerState;
import dev.scratchvm.state.KernelState.EpollEntry;
import dev.scratchvm.state.KernelState.EpollState;
import dev.scratchvm.state.KernelState.EventFdState;
import dev.scratchvm.state.KernelState.SignalFdState;
import dev.scratchvm.state.KernelState.PipeBuffer;
import dev.scratchvm.state.KernelState.PipeState;
import dev.scratchvm.state.KernelState.TimerFdState;
import dev.scratchvm.state.MachineState;
import dev.scratchvm.state.MemoryState;
import dev.scratchvm.state.VcpuState;
import dev.scratchvm.x86.CpuidEntry;
import dev.scratchvm.x86.DebugRegisters;
import dev.scratchvm.x86.DescriptorTable;
import dev.scratchvm.x86.Msr;
import dev.scratchvm.x86.Registers;
import dev.scratchvm.x86.Segment;
import dev.scratchvm.x86.SpecialRegisters;
import dev.scratchvm.x86.VcpuEvents;
import dev.scratchvm.x86.Xcr;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Set;
import java.util.List;

/**
 * Encodes a {@link MachineState} to bytes and back, for the image's STATE section and the
 * migration stream. The encoding is defined by src/main/protobuf/scratchvm/state.proto
 * (protobuf wire format, proto2); this class maps its messages to the state records.
 *
 * <p>Decode is total: any input either yields a state that passes {@link StateLimits} or
 * throws {@link ImageException}; the bytes are checked against the schema's limits by
 * {@link StateWire} before protobuf parses them. Encode refuses (IllegalArgumentException) a
 * state that decode would refuse, so whatever is written can be read back.
 */
public final class StateCodec {
    private StateCodec() {
    }

    // ---- encode ---------------------------------------------------------------------------------

    /**
     * Encodes {@code state}.
     *
     * @throws IllegalArgumentException if the state exceeds a limit of {@link StateLimits} or
     *                                  is one decode would refuse (e.g. an fd naming an unknown file)
     */
    public static byte[] encode(MachineState state) {
        String problem = StateLimits.check(state);
        if (problem == null) problem = decodeRules(state);
        if (problem != null) throw new IllegalArgumentException("cannot encode state: " + problem);
        byte[] out = StateProto.State.newBuilder()
                .setVcpu(vcpu(state.vcpu()))
                .setMemory(StateProto.Memory.newBuilder().setSize(state.memory().size()).setPageSize(state.memory().pageSize()))
                .setKernel(kernel(state.kernel()))
                .build().toByteArray();
        if (out.length > StateLimits.MAX_ENCODED_BYTES) {
            throw new IllegalArgumentException("cannot encode state: encoded size " + out.length
                    + " bytes exceeds the limit of " + StateLimits.MAX_ENCODED_BYTES);
        }
        try {
            StateWire.check(out);
        } catch (ImageException e) {
            throw new IllegalArgumentException("cannot encode state: " + e.getMessage(), e);
        }
        return out;
    }

    /** What decode checks beyond the schema's limits, on the records. */
    private static String decodeRules(MachineState state) {
        KernelState k = state.kernel();
        for (SignalAction a : k.signalActions()) {
            if (a.signal() < 1 || a.signal() > 64) return "signal number " + a.signal() + " out of range";
        }
        if ((k.umask() & ~0777) != 0) return "umask " + Integer.toOctalString(k.umask()) + " has bits outside 0777";
        for (OpenFileState f : k.files()) {
            for (FileLock l : f.locks()) {
                String problem = lockProblem(l);
                if (problem != null) return "file " + f.id() + ": " + problem;
            }
        }
        if (k.processName().length() > KernelState.MAX_PROCESS_NAME) return "process name longer than 15 bytes";
        if (k.processName().indexOf('\0') >= 0) return "process name contains a NUL byte";
        String limits = limitsProblem(k.resourceLimits());
        if (limits != null) return limits;
        for (String uts : List.of(k.hostname(), k.domainname())) {
            if (uts.length() > KernelState.MAX_UTS_NAME) return "host or domain name longer than 64 bytes";
            if (uts.indexOf('\0') >= 0) return "host or domain name contains a NUL byte";
            if (!StandardCharsets.ISO_8859_1.newEncoder().canEncode(uts)) return "host or domain name is not bytes";
        }
        if (k.restart() != null && k.restart().remainingNanos() < 0) {
            return "negative remaining time " + k.restart().remainingNanos();
        }
        return null;
    }

    /** Resources 0 to 15, each at most once, soft at most hard (unsigned, as the kernel compares them). */
    private static String limitsProblem(List<KernelState.ResourceLimit> limits) {
        Set<Integer> seen = new HashSet<>();
        for (KernelState.ResourceLimit l : limits) {
            if (l.resource() < 0 || l.resource() > 15) return "resource limit " + l.resource() + " is not a resource";
            if (!seen.add(l.resource())) return "resource limit " + l.resource() + " given twice";
            if (Long.compareUnsigned(l.soft(), l.hard()) > 0) return "resource limit " + l.resource() + ": soft limit above the hard one";
        }
        return null;
    }

    private static StateProto.Vcpu vcpu(VcpuState v) {
        StateProto.Vcpu.Builder b = StateProto.Vcpu.newBuilder().setMpState(v.mpState()).setRegs(regs(v.regs()))
                .setSregs(sregs(v.sregs())).setXsave(ByteString.copyFrom(v.xsave()));
        for (Xcr x : v.xcrs()) b.addXcrs(StateProto.Entry.newBuilder().setIndex(x.index()).setValue(x.value()));
        DebugRegisters d = v.debug();
        b.setDebug(StateProto.Debug.newBuilder().setDb0(d.db().get(0)).setDb1(d.db().get(1)).setDb2(d.db().get(2))
                .setDb3(d.db().get(3)).setDr6(d.dr6()).setDr7(d.dr7()).setFlags(d.flags()));
        for (Msr m : v.msrs()) b.addMsrs(StateProto.Entry.newBuilder().setIndex(m.index()).setValue(m.value()));
        b.setEvents(events(v.events()));
        for (CpuidEntry c : v.cpuid()) {
            b.addCpuid(StateProto.Cpuid.newBuilder().setFunction(c.function()).setIndex(c.index()).setFlags(c.flags())
                    .setEax(c.eax()).setEbx(c.ebx()).setEcx(c.ecx()).setEdx(c.edx()));
        }
        return b.setTscKhz(v.tscKhz()).build();
    }

    private static StateProto.Regs regs(Registers r) {
        return StateProto.Regs.newBuilder().setRax(r.rax()).setRbx(r.rbx()).setRcx(r.rcx()).setRdx(r.rdx())
                .setRsi(r.rsi()).setRdi(r.rdi()).setRsp(r.rsp()).setRbp(r.rbp()).setR8(r.r8()).setR9(r.r9())
                .setR10(r.r10()).setR11(r.r11()).setR12(r.r12()).setR13(r.r13()).setR14(r.r14()).setR15(r.r15())
                .setRip(r.rip()).setRflags(r.rflags()).build();
    }

    private static StateProto.Sregs sregs(SpecialRegisters s) {
        return StateProto.Sregs.newBuilder().setCs(segment(s.cs())).setDs(segment(s.ds())).setEs(segment(s.es()))
                .setFs(segment(s.fs())).setGs(segment(s.gs())).setSs(segment(s.ss())).setTr(segment(s.tr()))
                .setLdt(segment(s.ldt()))
                .setGdt(StateProto.Dtable.newBuilder().setBase(s.gdt().base()).setLimit(s.gdt().limit()))
                .setIdt(StateProto.Dtable.newBuilder().setBase(s.idt().base()).setLimit(s.idt().limit()))
                .setCr0(s.cr0()).setCr2(s.cr2()).setCr3(s.cr3()).setCr4(s.cr4()).setCr8(s.cr8()).setEfer(s.efer())
                .setApicBase(s.apicBase())
                .setInterruptBitmap0(s.interruptBitmap().get(0)).setInterruptBitmap1(s.interruptBitmap().get(1))
                .setInterruptBitmap2(s.interruptBitmap().get(2)).setInterruptBitmap3(s.interruptBitmap().get(3))
                .build();
    }

    private static StateProto.Segment segment(Segment s) {
        return StateProto.Segment.newBuilder().setBase(s.base()).setLimit(s.limit()).setSelector(s.selector())
                .setType(s.type()).setPresent(s.present()).setDpl(s.dpl()).setDb(s.db()).setS(s.s()).setL(s.l())
                .setG(s.g()).setAvl(s.avl()).setUnusable(s.unusable()).build();
    }

    private static StateProto.Events events(VcpuEvents e) {
        return StateProto.Events.newBuilder().setExceptionInjected(e.exceptionInjected()).setExceptionNr(e.exceptionNr())
                .setExceptionHasErrorCode(e.exceptionHasErrorCode()).setExceptionPending(e.exceptionPending())
                .setExceptionErrorCode(e.exceptionErrorCode()).setInterruptInjected(e.interruptInjected())
                .setInterruptNr(e.interruptNr()).setInterruptSoft(e.interruptSoft())
                .setInterruptShadow(e.interruptShadow()).setNmiInjected(e.nmiInjected()).setNmiPending(e.nmiPending())
                .setNmiMasked(e.nmiMasked()).setSipiVector(e.sipiVector()).setFlags(e.flags()).setSmiSmm(e.smiSmm())
                .setSmiPending(e.smiPending()).setSmiInsideNmi(e.smiInsideNmi()).setSmiLatchedInit(e.smiLatchedInit())
                .setTripleFaultPending(e.tripleFaultPending()).setExceptionHasPayload(e.exceptionHasPayload())
                .setExceptionPayload(e.exceptionPayload()).build();
    }

    private static StateProto.Kernel kernel(KernelState k) {
        StateProto.Kernel.Builder b = StateProto.Kernel.newBuilder().setBrkStart(k.brkStart()).setBrk(k.brk())
                .setMmapBase(k.mmapBase()).setMmapTop(k.mmapTop());
        for (Mapping m : k.mappings()) {
            StateProto.Mapping.Builder mb = StateProto.Mapping.newBuilder().setStart(m.start()).setLength(m.length())
                    .setProt(m.prot());
            // Anonymous mappings encode exactly as before the file fields existed.
            if (m.fileId() != -1) mb.setFileId(m.fileId());
            if (m.fileOffset() != 0) mb.setFileOffset(m.fileOffset());
            if (m.shared()) mb.setShared(true);
            b.addMappings(mb);
        }
        b.setCwdBytes(utf8(k.cwd(), "cwd")).setClearChildTid(k.clearChildTid()).setRobustList(k.robustList());
        for (OpenFileState f : k.files()) {
            FileFingerprint p = f.fingerprint();
            StateProto.File.Builder file = StateProto.File.newBuilder().setId(f.id()).setKind(kindCode(f.kind()))
                    .setPathBytes(utf8(f.path(), "path of file " + f.id())).setFlags(f.flags()).setMode(f.mode())
                    .setOffset(f.offset())
                    .setFingerprint(StateProto.Fingerprint.newBuilder().setSize(p.size()).setMtimeNanos(p.mtimeNanos())
                            .setCrc32C(p.crc32c()))
                    .addAllLocks(f.locks().stream().map(l -> StateProto.LockHeld.newBuilder().setOwner(ownerCode(l.owner()))
                            .setWrite(l.write()).setStart(l.start()).setLength(l.length()).build()).toList());
            // Only /proc files carry content: other files encode exactly as before the field existed.
            if (f.content().length > 0) file.setContent(ByteString.copyFrom(f.content()));
            b.addFiles(file);
        }
        for (FdState d : k.fds()) {
            b.addFds(StateProto.Fd.newBuilder().setFd(d.fd()).setFileId(d.fileId()).setCloseOnExec(d.closeOnExec()));
        }
        for (SignalAction a : k.signalActions()) {
            b.addSignalActions(StateProto.SignalAction.newBuilder().setSignal(a.signal()).setHandler(a.handler())
                    .setFlags(a.flags()).setRestorer(a.restorer()).setMask(a.mask()));
        }
        b.setUmask(k.umask());
        if (!k.processName().isEmpty()) b.setProcessName(ByteString.copyFrom(k.processName(), StandardCharsets.ISO_8859_1));
        if (!k.dumpable()) b.setDumpable(false);
        for (KernelState.ResourceLimit l : k.resourceLimits()) {
            b.addResourceLimits(StateProto.ResourceLimit.newBuilder().setResource(l.resource()).setSoft(l.soft()).setHard(l.hard()));
        }
        // The defaults stay absent, so a VM that never changed them encodes as before the fields existed.
        if (!k.hostname().equals(KernelState.DEFAULT_HOSTNAME)) b.setHostname(ByteString.copyFrom(k.hostname(), StandardCharsets.ISO_8859_1));
        if (!k.domainname().equals(KernelState.DEFAULT_DOMAINNAME)) {
            b.setDomainname(ByteString.copyFrom(k.domainname(), StandardCharsets.ISO_8859_1));
        }
        if (k.restart() != null) {
            b.setRestart(StateProto.Restart.newBuilder().setCall(k.restart().call())
                    .setRemainingNanos(k.restart().remainingNanos()));
        }
        SignalState sig = k.signals();
        if (sig.blocked() != 0) b.setBlockedSignals(sig.blocked());
        for (PendingSignal p : sig.pending()) {
            b.addPendingSignals(StateProto.SignalPending.newBuilder().setSignal(p.signal()).setCode(p.code())
                    .setPid(p.pid()).setUid(p.uid()).setTimerId(p.timerId()).setValue(p.value()));
        }
        if (sig.altStack() != null) {
            AltStack a = sig.altStack();
            b.setSignalAltStack(StateProto.SignalAltStack.newBuilder().setSp(a.sp()).setSize(a.size()).setFlags(a.flags()));
        }
        for (TimerState t : sig.timers()) {
            b.addTimers(StateProto.TimerState.newBuilder().setId(t.id()).setClock(t.clock()).setSignal(t.signal())
                    .setValue(t.value()).setRemainingNanos(t.remainingNanos()).setIntervalNanos(t.intervalNanos())
                    .setOverrun(t.overrun()));
        }
        for (PipeState p : k.pipes()) {
            StateProto.Pipe.Builder pb = StateProto.Pipe.newBuilder().setReadFile(p.readFile()).setWriteFile(p.writeFile())
                    .setPages(p.pages());
            for (PipeBuffer buf : p.buffers()) {
                pb.addBuffers(StateProto.PipeBuffer.newBuilder().setOffset(buf.offset()).setData(ByteString.copyFrom(buf.data())));
            }
            b.addPipes(pb);
        }
        for (SignalFdState f : k.signalFds()) b.addSignalFds(StateProto.SignalFd.newBuilder().setFile(f.file()).setMask(f.mask()));
        for (EventFdState e : k.eventFds()) {
            b.addEventFds(StateProto.EventFd.newBuilder().setFile(e.file()).setCount(e.count()).setSemaphore(e.semaphore()));
        }
        for (TimerFdState t : k.timerFds()) {
            b.addTimerFds(StateProto.TimerFd.newBuilder().setFile(t.file()).setClock(t.clock())
                    .setRemainingNanos(t.remainingNanos()).setIntervalNanos(t.intervalNanos()).setExpirations(t.expirations()));
        }
        for (EpollState e : k.epolls()) {
            StateProto.Epoll.Builder eb = StateProto.Epoll.newBuilder().setFile(e.file());
            for (EpollEntry x : e.entries()) {
                eb.addEntries(StateProto.EpollEntry.newBuilder().setFd(x.fd()).setFile(x.file()).setEvents(x.events())
                        .setData(x.data()).setEdgePending(x.edgePending()));
            }
            b.addEpolls(eb);
        }
        return b.build();
    }

    /** Strict UTF-8: unpaired surrogates and NUL are refused rather than silently altered. */
    private static ByteString utf8(String value, String what) {
        if (value.indexOf('\0') >= 0) throw new IllegalArgumentException(what + " contains a NUL character");
        try {
            ByteBuffer bytes = StandardCharsets.UTF_8.newEncoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .encode(CharBuffer.wrap(value));
            if (bytes.remaining() > StateLimits.MAX_PATH_BYTES) {
                throw new IllegalArgumentException(what + " is " + bytes.remaining() + " bytes, limit is "
                        + StateLimits.MAX_PATH_BYTES);
            }
            return ByteString.copyFrom(bytes);
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException(what + " is not valid Unicode (unpaired surrogate)");
        }
    }

    private static int ownerCode(LockOwner owner) {
        return switch (owner) {
            case POSIX -> 0;
            case OFD -> 1;
            case FLOCK -> 2;
        };
    }

    /** Why a lock cannot be one the host reported, or null. */
    private static String lockProblem(FileLock l) {
        if (l.start() < 0 || l.length() < 0) return "negative lock start or length";
        if (l.length() > 0 && l.start() + l.length() - 1 < l.start()) return "lock range beyond 2^63 - 1";
        if (l.owner() == LockOwner.FLOCK && (l.start() != 0 || l.length() != 0)) return "an flock lock has a byte range";
        return null;
    }

    /** Explicit codes, so reordering the enum cannot change the format. */
    private static int kindCode(FileKind kind) {
        return switch (kind) {
            case STDIN -> 0;
            case STDOUT -> 1;
            case STDERR -> 2;
            case REGULAR -> 3;
            case DIRECTORY -> 4;
            case DEVICE -> 5;
            case PIPE -> 6;
            case EVENTFD -> 7;
            case TIMERFD -> 8;
            case EPOLL -> 9;
            case PROC -> 10;
            case MEMFD -> 11;
            case GHOST -> 12;
            case SIGNALFD -> 13;
        };
    }

    /**
     * The format minor version an image holding {@code encoded} (the encoding of {@code state})
     * must declare: the newest version among the fields that differ from their defaults and the
     * file kinds used, so that an older ScratchVM refuses it instead of restoring the VM without
     * state it cannot see, and still reads a VM that uses nothing newer.
     */
    static int formatMinor(MachineState state, byte[] encoded) {
        try {
            return Math.max(StateWire.check(encoded), kindsMinor(state.kernel()));
        } catch (ImageException e) {
            throw new IllegalArgumentException("cannot encode state: " + e.getMessage(), e);
        }
    }

    /** File kinds 6 (pipe end) and up came with format 1.2. */
    private static int kindsMinor(KernelState k) {
        for (OpenFileState f : k.files()) {
            if (kindCode(f.kind()) >= 6) return 2;
        }
        return 0;
    }

    // ---- decode ---------------------------------------------------------------------------------

    /** Decodes bytes made by {@link #encode}; any malformed or out-of-limit input throws {@link ImageException}. */
    public static MachineState decode(byte[] bytes) throws ImageException {
        if (bytes.length > StateLimits.MAX_ENCODED_BYTES) {
            throw ImageException.corruptState("encoded size " + bytes.length + " bytes exceeds the limit of "
                    + StateLimits.MAX_ENCODED_BYTES);
        }
        // Not held against the header's minor version: writers before 1.2 labelled some images
        // lower than the fields they held, and those images must still restore.
        StateWire.check(bytes);
        StateProto.State m;
        try {
            m = StateProto.State.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            // StateWire has checked everything protobuf checks; this is a gap between the two.
            throw ImageException.corruptState("state: " + e.getMessage());
        }
        StateProto.Memory mem = m.getMemory();
        long size = mem.getSize();
        int pageSize = mem.getPageSize();
        if (pageSize != 4096) throw StateWire.error("state.memory", "page size " + pageSize + " is not 4096");
        if (size <= 0 || size % pageSize != 0 || size > StateLimits.MAX_MEMORY_BYTES) {
            throw StateWire.error("state.memory", "memory size " + size + " is not a positive multiple of 4096 up to "
                    + StateLimits.MAX_MEMORY_BYTES);
        }
        MachineState state = new MachineState(vcpu(m.getVcpu()), new MemoryState(size, pageSize), kernel(m.getKernel()));
        String problem = StateLimits.check(state);
        if (problem != null) throw ImageException.corruptState(problem);
        return state;
    }

    private static VcpuState vcpu(StateProto.Vcpu m) {
        List<Xcr> xcrs = new ArrayList<>(m.getXcrsCount());
        for (StateProto.Entry x : m.getXcrsList()) xcrs.add(new Xcr(x.getIndex(), x.getValue()));
        List<Msr> msrs = new ArrayList<>(m.getMsrsCount());
        for (StateProto.Entry x : m.getMsrsList()) msrs.add(new Msr(x.getIndex(), x.getValue()));
        List<CpuidEntry> cpuid = new ArrayList<>(m.getCpuidCount());
        for (StateProto.Cpuid c : m.getCpuidList()) {
            cpuid.add(new CpuidEntry(c.getFunction(), c.getIndex(), c.getFlags(), c.getEax(), c.getEbx(), c.getEcx(),
                    c.getEdx()));
        }
        StateProto.Debug d = m.getDebug();
        DebugRegisters debug = new DebugRegisters(List.of(d.getDb0(), d.getDb1(), d.getDb2(), d.getDb3()),
                d.getDr6(), d.getDr7(), d.getFlags());
        StateProto.Regs r = m.getRegs();
        Registers regs = new Registers(r.getRax(), r.getRbx(), r.getRcx(), r.getRdx(), r.getRsi(), r.getRdi(),
                r.getRsp(), r.getRbp(), r.getR8(), r.getR9(), r.getR10(), r.getR11(), r.getR12(), r.getR13(),
                r.getR14(), r.getR15(), r.getRip(), r.getRflags());
        StateProto.Events e = m.getEvents();
        VcpuEvents events = new VcpuEvents(e.getExceptionInjected(), e.getExceptionNr(), e.getExceptionHasErrorCode(),
                e.getExceptionPending(), e.getExceptionErrorCode(), e.getInterruptInjected(), e.getInterruptNr(),
                e.getInterruptSoft(), e.getInterruptShadow(), e.getNmiInjected(), e.getNmiPending(), e.getNmiMasked(),
                e.getSipiVector(), e.getFlags(), e.getSmiSmm(), e.getSmiPending(), e.getSmiInsideNmi(),
                e.getSmiLatchedInit(), e.getTripleFaultPending(), e.getExceptionHasPayload(), e.getExceptionPayload());
        return new VcpuState(m.getMpState(), regs, sregs(m.getSregs()), m.getXsave().toByteArray(), xcrs, debug, msrs,
                events, cpuid, m.getTscKhz());
    }

    private static SpecialRegisters sregs(StateProto.Sregs s) {
        return new SpecialRegisters(segment(s.getCs()), segment(s.getDs()), segment(s.getEs()), segment(s.getFs()),
                segment(s.getGs()), segment(s.getSs()), segment(s.getTr()), segment(s.getLdt()),
                new DescriptorTable(s.getGdt().getBase(), s.getGdt().getLimit()),
                new DescriptorTable(s.getIdt().getBase(), s.getIdt().getLimit()),
                s.getCr0(), s.getCr2(), s.getCr3(), s.getCr4(), s.getCr8(), s.getEfer(), s.getApicBase(),
                List.of(s.getInterruptBitmap0(), s.getInterruptBitmap1(), s.getInterruptBitmap2(),
                        s.getInterruptBitmap3()));
    }

    private static Segment segment(StateProto.Segment g) {
        return new Segment(g.getBase(), g.getLimit(), g.getSelector(), g.getType(), g.getPresent(), g.getDpl(),
                g.getDb(), g.getS(), g.getL(), g.getG(), g.getAvl(), g.getUnusable());
    }

    private static KernelState kernel(StateProto.Kernel k) throws ImageException {
        List<Mapping> mappings = new ArrayList<>(k.getMappingsCount());
        for (StateProto.Mapping m : k.getMappingsList()) {
            mappings.add(new Mapping(m.getStart(), m.getLength(), m.getProt(), m.hasFileId() ? m.getFileId() : -1,
                    m.getFileOffset(), m.getShared()));
        }
        List<OpenFileState> files = new ArrayList<>(k.getFilesCount());
        for (int i = 0; i < k.getFilesCount(); i++) {
            StateProto.File f = k.getFiles(i);
            StateProto.Fingerprint p = f.getFingerprint();
            List<FileLock> locks = new ArrayList<>(f.getLocksCount());
            for (int j = 0; j < f.getLocksCount(); j++) {
                StateProto.LockHeld l = f.getLocks(j);
                String where = "state.kernel.files[" + i + "].locks[" + j + "]";
                LockOwner owner = switch (l.getOwner()) {
                    case 0 -> LockOwner.POSIX;
                    case 1 -> LockOwner.OFD;
                    case 2 -> LockOwner.FLOCK;
                    default -> throw StateWire.error(where, "unknown lock owner " + l.getOwner());
                };
                FileLock lock = new FileLock(owner, l.getWrite(), l.getStart(), l.getLength());
                String problem = lockProblem(lock);
                if (problem != null) throw StateWire.error(where, problem);
                locks.add(lock);
            }
            files.add(new OpenFileState(f.getId(), kind(f.getKind(), "state.kernel.files[" + i + "]"), f.getPath(),
                    f.getFlags(), f.getMode(), f.getOffset(), new FileFingerprint(p.getSize(), p.getMtimeNanos(), p.getCrc32C()),
                    locks, f.getContent().toByteArray()));
        }
        List<FdState> fds = new ArrayList<>(k.getFdsCount());
        for (StateProto.Fd d : k.getFdsList()) fds.add(new FdState(d.getFd(), d.getFileId(), d.getCloseOnExec()));
        List<SignalAction> signals = new ArrayList<>(k.getSignalActionsCount());
        for (int i = 0; i < k.getSignalActionsCount(); i++) {
            StateProto.SignalAction a = k.getSignalActions(i);
            if (a.getSignal() < 1 || a.getSignal() > 64) {
                throw StateWire.error("state.kernel.signal_actions[" + i + "]", "signal number " + a.getSignal() + " out of range");
            }
            signals.add(new SignalAction(a.getSignal(), a.getHandler(), a.getFlags(), a.getRestorer(), a.getMask()));
        }
        // Images written before these fields existed hold the default mask (the schema's default) and no interrupted sleep.
        int umask = k.getUmask();
        if ((umask & ~0777) != 0) {
            throw StateWire.error("state.kernel", "umask " + Integer.toOctalString(umask) + " has bits outside 0777");
        }
        KernelState.Restart restart = null;
        if (k.hasRestart()) {
            StateProto.Restart r = k.getRestart();
            if (r.getRemainingNanos() < 0) {
                throw StateWire.error("state.kernel.restart", "negative remaining time " + r.getRemainingNanos());
            }
            restart = new KernelState.Restart(r.getCall(), r.getRemainingNanos());
        }
        List<PipeState> pipes = new ArrayList<>(k.getPipesCount());
        for (StateProto.Pipe p : k.getPipesList()) {
            List<PipeBuffer> buffers = new ArrayList<>(p.getBuffersCount());
            for (StateProto.PipeBuffer buf : p.getBuffersList()) {
                buffers.add(new PipeBuffer(buf.getOffset(), buf.getData().toByteArray()));
            }
            pipes.add(new PipeState(p.getReadFile(), p.getWriteFile(), buffers, p.getPages()));
        }
        List<SignalFdState> signalFds = new ArrayList<>(k.getSignalFdsCount());
        for (StateProto.SignalFd f : k.getSignalFdsList()) signalFds.add(new SignalFdState(f.getFile(), f.getMask()));
        List<EventFdState> eventFds = new ArrayList<>(k.getEventFdsCount());
        for (StateProto.EventFd e : k.getEventFdsList()) eventFds.add(new EventFdState(e.getFile(), e.getCount(), e.getSemaphore()));
        List<TimerFdState> timerFds = new ArrayList<>(k.getTimerFdsCount());
        for (StateProto.TimerFd t : k.getTimerFdsList()) {
            timerFds.add(new TimerFdState(t.getFile(), t.getClock(), t.getRemainingNanos(), t.getIntervalNanos(),
                    t.getExpirations()));
        }
        List<EpollState> epolls = new ArrayList<>(k.getEpollsCount());
        for (StateProto.Epoll e : k.getEpollsList()) {
            List<EpollEntry> entries = new ArrayList<>(e.getEntriesCount());
            for (StateProto.EpollEntry x : e.getEntriesList()) {
                entries.add(new EpollEntry(x.getFd(), x.getFile(), x.getEvents(), x.getData(), x.getEdgePending()));
            }
            epolls.add(new EpollState(e.getFile(), entries));
        }
        // Images before 1.2: a process that never named itself, dumpable (the schema's defaults).
        String name = k.getProcessName().toString(StandardCharsets.ISO_8859_1);
        if (name.indexOf('\0') >= 0) throw StateWire.error("state.kernel", "process name contains a NUL byte");
        List<KernelState.ResourceLimit> limits = new ArrayList<>(k.getResourceLimitsCount());
        for (StateProto.ResourceLimit l : k.getResourceLimitsList()) {
            limits.add(new KernelState.ResourceLimit(l.getResource(), l.getSoft(), l.getHard()));
        }
        String problem = limitsProblem(limits);
        if (problem != null) throw StateWire.error("state.kernel.resource_limits", problem);
        // Images before 1.2: the VM's default names (the schema's defaults).
        String hostname = k.getHostname().toString(StandardCharsets.ISO_8859_1);
        String domainname = k.getDomainname().toString(StandardCharsets.ISO_8859_1);
        if (hostname.indexOf('\0') >= 0 || domainname.indexOf('\0') >= 0) {
            throw StateWire.error("state.kernel", "host or domain name contains a NUL byte");
        }
        return new KernelState(k.getBrkStart(), k.getBrk(), k.getMmapBase(), k.getMmapTop(), mappings, k.getCwd(),
                k.getClearChildTid(), k.getRobustList(), files, fds, signals, umask, restart, name, k.getDumpable(),
                signalState(k), limits, hostname, domainname, pipes, eventFds, timerFds, epolls, signalFds);
    }

    /** Blocked and pending signals, the alternate stack and the timers; images before 1.2 have none of them. */
    private static SignalState signalState(StateProto.Kernel k) {
        List<PendingSignal> pending = new ArrayList<>(k.getPendingSignalsCount());
        for (StateProto.SignalPending p : k.getPendingSignalsList()) {
            pending.add(new PendingSignal(p.getSignal(), p.getCode(), p.getPid(), p.getUid(), p.getTimerId(), p.getValue()));
        }
        AltStack alt = null;
        if (k.hasSignalAltStack()) {
            StateProto.SignalAltStack a = k.getSignalAltStack();
            alt = new AltStack(a.getSp(), a.getSize(), a.getFlags());
        }
        List<TimerState> timers = new ArrayList<>(k.getTimersCount());
        for (StateProto.TimerState t : k.getTimersList()) {
            timers.add(new TimerState(t.getId(), t.getClock(), t.getSignal(), t.getValue(), t.getRemainingNanos(),
                    t.getIntervalNanos(), t.getOverrun()));
        }
        return new SignalState(k.getBlockedSignals(), pending, alt, timers);
    }

    private static FileKind kind(int code, String where) throws ImageException {
        return switch (code) {
            case 0 -> FileKind.STDIN;
            case 1 -> FileKind.STDOUT;
            case 2 -> FileKind.STDERR;
            case 3 -> FileKind.REGULAR;
            case 4 -> FileKind.DIRECTORY;
            case 5 -> FileKind.DEVICE;
            case 6 -> FileKind.PIPE;
            case 7 -> FileKind.EVENTFD;
            case 8 -> FileKind.TIMERFD;
            case 9 -> FileKind.EPOLL;
            case 10 -> FileKind.PROC;
            case 11 -> FileKind.MEMFD;
            case 12 -> FileKind.GHOST;
            case 13 -> FileKind.SIGNALFD;
            default -> throw StateWire.error(where, "unknown file kind " + code);
        };
    }
}
