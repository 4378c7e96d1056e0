package dev.scratchvm.migration;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@DisplayName("HOST:PORT arguments")
class EndpointTest {
    @Test
    void acceptHostNamesIpv4AndBracketedIpv6() {
        assertThat(Endpoint.parse("localhost:7070", "--to", false)).isEqualTo(new Endpoint("localhost", 7070));
        assertThat(Endpoint.parse("127.0.0.1:1", "--to", false)).isEqualTo(new Endpoint("127.0.0.1", 1));
        assertThat(Endpoint.parse("[fd53:7c4e::1]:7070", "--to", false)).isEqualTo(new Endpoint("fd53:7c4e::1", 7070));
        assertThat(Endpoint.parse("0.0.0.0:0", "--listen", true).port()).isZero();
    }

    @Test
    void printIpv6InBracketsSoTheOutputCanBePastedBack() {
        assertThat(new Endpoint("fd53:7c4e::1", 7070)).hasToString("[fd53:7c4e::1]:7070");
        assertThat(Endpoint.format(new InetSocketAddress("::1", 80))).isEqualTo("[::1]:80");
        assertThat(Endpoint.format(new InetSocketAddress("fd53:7c4e::2", 80))).isEqualTo("[fd53:7c4e::2]:80");
        assertThat(Endpoint.format(new InetSocketAddress("fd53:0:0:1:0:0:0:2", 80))).isEqualTo("[fd53:0:0:1::2]:80");
        assertThat(Endpoint.format(new InetSocketAddress("fd53:7c4e:1:2:3:4:5:6", 80))).isEqualTo("[fd53:7c4e:1:2:3:4:5:6]:80");
        assertThat(Endpoint.format(new InetSocketAddress("::", 80))).isEqualTo("[::]:80");
        assertThat(Endpoint.format(new InetSocketAddress("127.0.0.1", 80))).isEqualTo("127.0.0.1:80");
    }

    @Test
    void explainWhatIsWrongInOneLine() {
        assertThatThrownBy(() -> Endpoint.parse("7070", "--migrate-to", false))
                .hasMessage("--migrate-to needs HOST:PORT (e.g. 127.0.0.1:7070 or [fd53::1]:7070), not '7070'");
        assertThatThrownBy(() -> Endpoint.parse("fd53::1:7070", "--to", false)).hasMessageContaining("needs HOST:PORT");
        assertThatThrownBy(() -> Endpoint.parse("host:0", "--to", false)).hasMessage("--to: port 0 is not between 1 and 65535");
        assertThatThrownBy(() -> Endpoint.parse("host:70000", "--listen", true)).hasMessage("--listen: port 70000 is not between 0 and 65535");
        assertThatThrownBy(() -> Endpoint.parse("host:http", "--to", false)).hasMessageContaining("needs HOST:PORT");
    }
}
