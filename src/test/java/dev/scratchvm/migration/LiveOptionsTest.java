package dev.scratchvm.migration;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** When a live migration stops its guest: the rest fits the downtime budget, and another round would not shrink it much. */
@DisplayName("A live migration stops its guest once the rest fits its budget and stops shrinking")
class LiveOptionsTest {
    private static final LiveOptions OPTIONS = LiveOptions.DEFAULT;
    private static final long MIB = 1 << 20, FITS = 5_000_000, TOO_LONG = 50_000_000;

    @Test
    void aRestThatFitsButAnotherRoundWouldShrinkFourfoldGetsThatRound() {
        // 196 MiB sent while 3 MiB were written: a round of 3 MiB costs the guest nothing, sending them stopped costs ms.
        assertThat(OPTIONS.stopsNow(FITS, 3 * MIB, 196 * MIB)).isFalse();
    }

    @Test
    void aSmallRestThatFitsStopsTheGuest() {
        assertThat(OPTIONS.stopsNow(FITS, 64 << 10, 3 * MIB)).isTrue();
        assertThat(OPTIONS.stopsNow(FITS, 0, 1 << 20)).isTrue();
    }

    @Test
    void aRestThatNoLongerShrinksStopsTheGuestIfItFits() {
        // The guest writes about as much as a round carries: more rounds would not help.
        assertThat(OPTIONS.stopsNow(FITS, 2 * MIB, 3 * MIB)).isTrue();
    }

    @Test
    void aRestThatDoesNotFitNeverStopsTheGuest() {
        assertThat(OPTIONS.stopsNow(TOO_LONG, 64 << 10, 3 * MIB)).isFalse();
        assertThat(OPTIONS.stopsNow(TOO_LONG, 3 * MIB, 3 * MIB)).isFalse();
    }

    @Test
    void extraRoundsAreFewSinceEachShrinksTheRestFourfold() {
        LiveOptions options = new LiveOptions(Duration.ofSeconds(1), Duration.ofSeconds(60), LiveOptions.OnTimeout.ABORT, false);
        long round = 1L << 30;
        int rounds = 0;
        // The best case for more rounds: each leaves a quarter of what it sent.
        while (!options.stopsNow(FITS, round / 4, round)) {
            round /= 4;
            rounds++;
        }
        assertThat(rounds).isLessThanOrEqualTo(6);
    }
}
