package dev.scratchvm.image;

import dev.scratchvm.state.KernelState;
import dev.scratchvm.state.KernelState.EpollEntry;
import dev.scratchvm.state.KernelState.EpollState;
import dev.scratchvm.state.KernelState.EventFdState;
import dev.scratchvm.state.KernelState.PipeBuffer;
import dev.scratchvm.state.KernelState.PipeState;
import dev.scratchvm.state.KernelState.TimerFdState;

import java.util.ArrayList;
import java.util.List;

/** One line about a pipe end, eventfd, timerfd or epoll instance, for {@code inspect}. */
final class VmmFileSummary {
    private VmmFileSummary() {
    }

    static String of(KernelState k, int id) {
        for (PipeState p : k.pipes()) {
            if (p.readFile() == id || p.writeFile() == id) {
                int bytes = 0;
                for (PipeBuffer b : p.buffers()) bytes += b.data().length;
                String end = p.readFile() == id ? "pipe read end" : "pipe write end";
                String other = (p.readFile() == id ? p.writeFile() : p.readFile()) == -1 ? ", other end closed" : "";
                return end + " (" + bytes + " bytes unread in " + p.buffers().size() + " pages" + other + ")";
            }
        }
        for (KernelState.SignalFdState f : k.signalFds()) {
            if (f.file() == id) return "signalfd (mask " + KernelRules.hex(f.mask()) + ")";
        }
        for (EventFdState e : k.eventFds()) {
            if (e.file() == id) return "eventfd (count " + Long.toUnsignedString(e.count()) + (e.semaphore() ? ", semaphore)" : ")");
        }
        for (TimerFdState t : k.timerFds()) {
            if (t.file() != id) continue;
            String clock = switch (t.clock()) {
                case 0 -> "CLOCK_REALTIME";
                case 1 -> "CLOCK_MONOTONIC";
                default -> "CLOCK_BOOTTIME";
            };
            String armed = t.remainingNanos() == 0 ? "disarmed" : "next in " + seconds(t.remainingNanos())
                    + (t.intervalNanos() > 0 ? ", every " + seconds(t.intervalNanos()) : "");
            return "timerfd (" + clock + ", " + armed + ", " + t.expirations() + " expirations unread)";
        }
        for (EpollState e : k.epolls()) {
            if (e.file() != id) continue;
            List<String> fds = new ArrayList<>();
            for (EpollEntry x : e.entries()) fds.add(String.valueOf(x.fd()));
            return "epoll (watching fds " + (fds.isEmpty() ? "none" : String.join(", ", fds)) + ")";
        }
        return "(no record)";
    }

    private static String seconds(long nanos) {
        return String.format(java.util.Locale.ROOT, "%.3f s", nanos / 1e9);
    }
}
