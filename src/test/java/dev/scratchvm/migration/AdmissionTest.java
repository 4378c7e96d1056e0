package dev.scratchvm.migration;

import dev.scratchvm.migration.Admission.Stage;
import dev.scratchvm.migration.Admission.Ticket;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The rule that decides which unauthenticated connection makes room for a new one. */
@DisplayName("Admission of unauthenticated connections")
class AdmissionTest {
    private static final Runnable NOTHING = () -> { };

    private static InetAddress ip(String a) throws Exception {
        return InetAddress.getByName(a);
    }

    private static List<Ticket> admit(Admission a, InetAddress from, long now, Ticket[] into) {
        List<Ticket> evicted = new ArrayList<>();
        into[0] = a.admit(from, now, NOTHING, evicted);
        return evicted;
    }

    @Test
    void aNewConnectionIsNeverRefusedItPushesOutTheOldestSilentOneFromItsOwnAddress() throws Exception {
        Admission a = new Admission(8, 3);
        Ticket[] t = new Ticket[1];
        List<Ticket> mine = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            assertThat(admit(a, ip("10.0.0.1"), i, t)).isEmpty();
            mine.add(t[0]);
        }
        Ticket other = a.admit(ip("10.0.0.2"), 3, NOTHING, new ArrayList<>());
        assertThat(admit(a, ip("10.0.0.1"), 4, t)).containsExactly(mine.get(0));
        assertThat(admit(a, ip("10.0.0.1"), 5, t)).containsExactly(mine.get(1));
        assertThat(a.size()).isEqualTo(4);
        assertThat(a.release(other)).isTrue();
        assertThat(a.release(mine.get(0))).as("evicted already").isFalse();
    }

    @Test
    void aConnectionThatSentItsHelloOutranksSilentAndTricklingOnesWhateverTheirAge() throws Exception {
        Admission a = new Admission(8, 4);
        Ticket[] t = new Ticket[1];
        admit(a, ip("127.0.0.1"), 0, t);
        Ticket loris = t[0];
        a.reached(loris, Stage.PARTIAL);
        admit(a, ip("127.0.0.1"), 1, t);
        Ticket client = t[0];
        a.reached(client, Stage.HELLO);
        admit(a, ip("127.0.0.1"), 2, t);
        Ticket idle = t[0];
        admit(a, ip("127.0.0.1"), 3, t);
        Ticket idle2 = t[0];
        // Each new connection evicts the least advanced one: silent first, then trickling, never the client
        // while anything less advanced remains.
        assertThat(admit(a, ip("127.0.0.1"), 4, t)).containsExactly(idle);
        Ticket idle3 = t[0];
        assertThat(admit(a, ip("127.0.0.1"), 5, t)).containsExactly(idle2);
        a.reached(t[0], Stage.HELLO);
        assertThat(admit(a, ip("127.0.0.1"), 6, t)).containsExactly(idle3);
        a.reached(t[0], Stage.HELLO);
        assertThat(admit(a, ip("127.0.0.1"), 7, t)).containsExactly(loris);
        a.reached(t[0], Stage.HELLO);
        // Only when everyone sent a HELLO does the oldest of them, here the client, give way.
        assertThat(admit(a, ip("127.0.0.1"), 8, t)).containsExactly(client);
    }

    @Test
    void whenTheWholeBudgetIsFullTheAddressHoldingMostGivesWay() throws Exception {
        Admission a = new Admission(6, 4);
        Ticket[] t = new Ticket[1];
        Ticket loner = a.admit(ip("192.0.2.7"), 0, NOTHING, new ArrayList<>());
        List<Ticket> flood = new ArrayList<>();
        for (int i = 1; i <= 4; i++) {
            admit(a, ip("198.51.100.1"), i, t);
            flood.add(t[0]);
        }
        admit(a, ip("203.0.113.9"), 5, t);
        assertThat(a.size()).isEqualTo(6);
        // A seventh connection, from a fourth address: the flooding address loses its oldest, the loner keeps its place.
        assertThat(admit(a, ip("203.0.113.10"), 6, t)).containsExactly(flood.get(0));
        assertThat(a.release(loner)).isTrue();
    }

    @Test
    void ipv6AddressesCountPerSlash64() throws Exception {
        Admission a = new Admission(8, 2);
        Ticket[] t = new Ticket[1];
        admit(a, ip("2001:db8:1:2::1"), 0, t);
        Ticket first = t[0];
        admit(a, ip("2001:db8:1:2::ffff"), 1, t);
        assertThat(admit(a, ip("2001:db8:1:2:abcd::9"), 2, t)).containsExactly(first);
        assertThat(admit(a, ip("2001:db8:1:3::1"), 3, t)).as("another /64").isEmpty();
    }

    @Test
    void anEvictedTicketRunsItsCurrentEvictorOnceAndRefusesANewOne() throws Exception {
        Admission a = new Admission(4, 1);
        int[] closed = new int[2];
        List<Ticket> evicted = new ArrayList<>();
        Ticket t = a.admit(ip("127.0.0.1"), 0, () -> closed[0]++, evicted);
        assertThat(t.onEvict(() -> closed[1]++)).isTrue();
        a.admit(ip("127.0.0.1"), 1, NOTHING, evicted);
        assertThat(evicted).containsExactly(t);
        t.evict();
        assertThat(closed).containsExactly(0, 1);
        assertThat(t.evicted()).isTrue();
        assertThat(t.onEvict(NOTHING)).isFalse();
    }
}
