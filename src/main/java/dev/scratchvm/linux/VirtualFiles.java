package dev.scratchvm.linux;

import dev.scratchvm.state.KernelState;
import dev.scratchvm.state.KernelState.EpollEntry;
import dev.scratchvm.state.KernelState.EpollState;
import dev.scratchvm.state.KernelState.EventFdState;
import dev.scratchvm.state.KernelState.PipeState;
import dev.scratchvm.state.KernelState.SignalFdState;
import dev.scratchvm.state.KernelState.TimerFdState;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/** The VMM's own files in the saved state: captured next to the open files, rebuilt before them. */
final class VirtualFiles {
    private VirtualFiles() {
    }

    record Captured(List<PipeState> pipes, List<EventFdState> eventFds, List<TimerFdState> timerFds,
                    List<EpollState> epolls, List<SignalFdState> signalFds) {
    }

    /** The state of every VMM file among {@code ids} (open files by id, in id order). */
    static Captured capture(Map<OpenFile, Integer> ids) {
        Map<Pipe, int[]> pipes = new IdentityHashMap<>();
        List<Pipe> pipeOrder = new ArrayList<>();
        List<EventFdState> eventFds = new ArrayList<>();
        List<TimerFdState> timerFds = new ArrayList<>();
        List<EpollState> epolls = new ArrayList<>();
        List<SignalFdState> signalFds = new ArrayList<>();
        for (Map.Entry<OpenFile, Integer> e : ids.entrySet()) {
            int id = e.getValue();
            switch (e.getKey().virtual) {
                case Pipe.End end -> {
                    int[] ends = pipes.computeIfAbsent(end.pipe(), p -> {
                        pipeOrder.add(p);
                        return new int[]{-1, -1};
                    });
                    ends[end.reader ? 0 : 1] = id;
                }
                case EventFd ev -> eventFds.add(new EventFdState(id, ev.count(), ev.semaphore));
                case TimerFd t -> {
                    long[] times = t.remainingAndInterval();
                    timerFds.add(new TimerFdState(id, t.clock, times[0], times[1], t.expirations()));
                }
                case Epoll ep -> epolls.add(new EpollState(id, ep.describe(ids)));
                case SignalFd s -> signalFds.add(new SignalFdState(id, s.mask()));
                case null -> {
                }
            }
        }
        List<PipeState> pipeStates = new ArrayList<>();
        for (Pipe p : pipeOrder) {
            int[] ends = pipes.get(p);
            pipeStates.add(new PipeState(ends[0], ends[1], p.buffers(), p.pages()));
        }
        return new Captured(pipeStates, eventFds, timerFds, epolls, signalFds);
    }

    /** The VMM files of a saved state, by open file id (epoll interest lists come later: {@link #restoreInterest}). */
    static Map<Integer, VirtualFile> rebuild(KernelState state, PipeBudget budget, Signals signals, SignalDelivery delivery) {
        Map<Integer, VirtualFile> out = new HashMap<>();
        for (PipeState p : state.pipes()) {
            Pipe pipe = Pipe.restore(budget, p.readFile() != -1, p.writeFile() != -1, p.buffers(), p.pages());
            if (p.readFile() != -1) out.put(p.readFile(), pipe.readEnd);
            if (p.writeFile() != -1) out.put(p.writeFile(), pipe.writeEnd);
        }
        for (EventFdState e : state.eventFds()) out.put(e.file(), new EventFd(e.count(), e.semaphore()));
        for (TimerFdState t : state.timerFds()) {
            out.put(t.file(), TimerFd.restore(t.clock(), t.remainingNanos(), t.intervalNanos(), t.expirations()));
        }
        for (EpollState e : state.epolls()) out.put(e.file(), new Epoll());
        for (SignalFdState s : state.signalFds()) out.put(s.file(), new SignalFd(signals, delivery, s.mask()));
        return out;
    }

    /** Fills the epoll interest lists once every open file exists again. */
    static void restoreInterest(KernelState state, Map<Integer, OpenFile> files) throws KernelRestoreException {
        for (EpollState e : state.epolls()) {
            OpenFile file = files.get(e.file());
            if (file == null || !(file.virtual instanceof Epoll ep)) throw new KernelRestoreException("open file " + e.file() + " is not an epoll instance");
            for (EpollEntry x : e.entries()) {
                OpenFile target = files.get(x.file());
                if (target == null) throw new KernelRestoreException("epoll entry for fd " + x.fd() + " names unknown open file " + x.file());
                ep.restore(x, target);
            }
        }
    }
}
