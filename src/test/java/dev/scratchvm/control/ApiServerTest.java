package dev.scratchvm.control;

import dev.scratchvm.image.ImageReader;
import dev.scratchvm.testing.KvmTest;
import dev.scratchvm.vmm.Machine;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

/** The control socket: what it answers, and what it refuses. */
@KvmTest
class ApiServerTest {
    @TempDir
    Path dir;
    private SteerGuest guest;
    private Machine machine;
    private Controller controller;
    private ApiServer api;
    private Path socket;

    @BeforeEach
    void startAGuestWaitingForInput() throws Exception {
        guest = SteerGuest.in(dir);
        machine = guest.boot("read");
        controller = Controller.of(machine, m -> false).start();
        socket = dir.resolve("api.sock");
        api = ApiServer.open(socket, controller);
        guest.awaitOutput("waiting");
    }

    @AfterEach
    void stopIt() throws Exception {
        api.close();
        controller.close();
        machine.close();
        guest.close();
    }

    @Test
    void statusPauseResumeAndStop() throws Exception {
        ApiClient.Reply status = ApiClient.get(socket, "/vm");
        assertThat(status.ok()).isTrue();
        assertThat(status.fields()).containsEntry("state", "running").containsEntry("memory_bytes", SteerGuest.MEMORY)
                .containsKeys("dirty_pages", "uptime_ms", "syscalls");
        ApiClient.Reply pause = ApiClient.put(socket, "/vm/pause");
        assertThat(pause.ok()).isTrue();
        assertThat(pause.fields()).containsKey("latency_us");
        assertThat(ApiClient.get(socket, "/vm").fields()).containsEntry("state", "paused");
        assertThat(ApiClient.put(socket, "/vm/pause").status()).isEqualTo(409);
        assertThat(ApiClient.put(socket, "/vm/pause").error()).isEqualTo("cannot pause: the VM is paused");
        assertThat(ApiClient.put(socket, "/vm/resume").ok()).isTrue();
        assertThat(ApiClient.put(socket, "/vm/stop").ok()).isTrue();
        assertThat(controller.awaitEnd().exitStatus()).isEqualTo(137);
        assertThat(ApiClient.get(socket, "/vm").fields()).containsEntry("state", "exited");
    }

    @Test
    void aSnapshotLeftRunningIsARestorableImageAndTheGuestGoesOn() throws Exception {
        Path image = dir.resolve("live.img");
        ApiClient.Reply reply = ApiClient.snapshot(socket, image, false, true);
        assertThat(reply.ok()).as(reply.json()).isTrue();
        assertThat(reply.fields()).containsEntry("path", image.toString()).containsEntry("kind", "full")
                .containsEntry("state", "running").containsKeys("pages", "bytes", "paused_us", "fsync_us");
        try (ImageReader reader = ImageReader.open(image)) {
            assertThat(reader.state().memory().size()).isEqualTo(SteerGuest.MEMORY);
        }
        Files.writeString(guest.fifo, "after\n");
        assertThat(controller.awaitEnd().exitStatus()).isZero();
        assertThat(guest.output()).endsWith("read 6 bytes: after\n");
    }

    @ParameterizedTest(name = "{0} {1} with {2}")
    @CsvSource(delimiter = '|', value = {
            "PUT | /vm/snapshot | {\"path\": \"relative.img\"}                  | 400 | \"path\" must be an absolute file name",
            "PUT | /vm/snapshot | {\"path\": 42}                                | 400 | \"path\" must be a string",
            "PUT | /vm/snapshot | {\"diff\": true}                              | 400 | \"path\" is required",
            "PUT | /vm/snapshot | {\"path\": \"/x.img\", \"force\": true}          | 400 | unknown field \"force\"",
            "PUT | /vm/snapshot | {\"path\": \"/x.img\", \"diff\": \"yes\"}        | 400 | \"diff\" must be true or false",
            "PUT | /vm/snapshot | [1, 2]                                         | 400 | the body must be a JSON object",
            "PUT | /vm/snapshot | {\"path\": \"/x.img\"} trailing                   | 400 | malformed JSON body",
            "PUT | /vm/snapshot | {\"path\":                                      | 400 | malformed JSON body",
            "GET | /vm/pause    | ''                                             | 405 | use PUT for this resource",
            "PUT | /vm          | ''                                             | 405 | use GET for this resource",
            "GET | /vm/reboot   | ''                                             | 404 | no such resource: /vm/reboot",
    })
    void malformedRequestsAreRefusedWithOneLine(String method, String path, String body, int status, String error)
            throws Exception {
        ApiClient.Reply r = ApiClient.call(socket, method, path, body.getBytes(StandardCharsets.UTF_8));
        assertThat(r.status()).as(r.json()).isEqualTo(status);
        assertThat(r.error()).startsWith(error).doesNotContain("\n");
        assertThat(controller.state()).isEqualTo(Controller.State.RUNNING);
    }

    @Test
    void garbageAndOversizedRequestsGetAnErrorAndTheServerGoesOn() throws Exception {
        assertThat(raw("\u0001\u0002 not http at all\r\n\r\n")).startsWith("HTTP/1.1 400").contains("malformed request line");
        assertThat(raw("PUT /vm/snapshot HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n")).startsWith("HTTP/1.1 413");
        assertThat(raw("GET /vm HTTP/1.1\r\nX: " + "a".repeat(9000) + "\r\n\r\n")).startsWith("HTTP/1.1 413");
        assertThat(raw("PUT /vm/snapshot HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")).startsWith("HTTP/1.1 400");
        assertThat(ApiClient.get(socket, "/vm").ok()).isTrue();
    }

    @Test
    void theSocketIsTheOwnersAlone() throws Exception {
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket))).isEqualTo("rw-------");
        assumeThat(List.of(Path.of("/usr/bin/setpriv"), Path.of("/usr/bin/curl"))).allMatch(Files::isExecutable)
                .as("setpriv and curl, to connect as another user");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        // The file mode keeps other users out ...
        assertThat(asNobody().exitValue()).as("curl's exit status: could not connect").isEqualTo(7);
        // ... and should the mode be opened up, the server still refuses them by their credentials.
        Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw-rw-"));
        Process p = asNobody();
        assertThat(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
                .contains("\"error\":\"only root may control this VM\"");
        assertThat(controller.state()).isEqualTo(Controller.State.RUNNING);
    }

    @Test
    void aLiveSocketIsNeverTakenOverAndAStaleOneIsReplaced() throws Exception {
        assertThatThrownBy(() -> ApiServer.open(socket, controller)).isInstanceOf(IOException.class)
                .hasMessage(socket + " is in use by another VMM");
        Path file = Files.writeString(dir.resolve("plain"), "not a socket");
        assertThatThrownBy(() -> ApiServer.open(file, controller)).hasMessage(file + " exists and is not a socket");
        assertThat(file).hasContent("not a socket");
        // A VMM that died leaves its socket file behind, with nobody listening.
        Path stale = dir.resolve("stale.sock");
        try (var left = java.nio.channels.ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            left.bind(UnixDomainSocketAddress.of(stale));
        }
        assertThat(stale).exists();
        try (ApiServer again = ApiServer.open(stale, controller)) {
            assertThat(ApiClient.get(stale, "/vm").ok()).isTrue();
        }
        assertThat(stale).doesNotExist();
    }

    private Process asNobody() throws IOException, InterruptedException {
        Process p = new ProcessBuilder("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                "/usr/bin/curl", "-s", "-X", "PUT", "--unix-socket", socket.toString(), "http://localhost/vm/pause")
                .redirectErrorStream(true).start();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return p;
    }

    private String raw(String request) throws IOException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            ch.write(ByteBuffer.wrap(request.getBytes(StandardCharsets.ISO_8859_1)));
            ByteBuffer answer = ByteBuffer.allocate(4096);
            while (ch.read(answer) > 0) {
                // until the server closes
            }
            return new String(answer.array(), 0, answer.position(), StandardCharsets.UTF_8);
        }
    }
}
