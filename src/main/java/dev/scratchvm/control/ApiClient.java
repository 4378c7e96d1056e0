package dev.scratchvm.control;

import dev.scratchvm.util.FlatJson;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.Map;

/** The client side of the control socket, for {@code scratchvm ctl} and tests. */
public final class ApiClient {
    private ApiClient() {
    }

    /** An answer: the HTTP status and the JSON object it carried, as text and as flat fields. */
    public record Reply(int status, String json, Map<String, Object> fields) {
        public boolean ok() {
            return status == 200;
        }

        /** The server's one-line reason for a refusal. */
        public String error() {
            Object e = fields.get("error");
            return e != null ? e.toString() : "HTTP status " + status;
        }
    }

    public static Reply get(Path socket, String resource) throws IOException {
        return call(socket, "GET", resource, new byte[0]);
    }

    public static Reply put(Path socket, String resource) throws IOException {
        return call(socket, "PUT", resource, new byte[0]);
    }

    public static Reply snapshot(Path socket, Path image, boolean diff, boolean leaveRunning) throws IOException {
        byte[] body = FlatJson.write(g -> {
            g.writeStringField("path", image.toAbsolutePath().toString());
            g.writeBooleanField("diff", diff);
            g.writeBooleanField("leave_running", leaveRunning);
        });
        return call(socket, "PUT", "/vm/snapshot", body);
    }

    /** PUT /vm/migrate: a live migration to {@code to}; the answer comes when it has ended. */
    public static Reply migrate(Path socket, String to, long downtimeMs, long timeoutS, String onTimeout, boolean autoConverge,
                                boolean withFiles) throws IOException {
        byte[] body = FlatJson.write(g -> {
            g.writeStringField("to", to);
            g.writeNumberField("downtime_ms", downtimeMs);
            g.writeNumberField("timeout_s", timeoutS);
            g.writeStringField("on_timeout", onTimeout);
            g.writeBooleanField("auto_converge", autoConverge);
            g.writeBooleanField("with_files", withFiles);
        });
        return call(socket, "PUT", "/vm/migrate", body);
    }

    public static Reply call(Path socket, String method, String resource, byte[] body) throws IOException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            Http.writeRequest(Channels.newOutputStream(ch), method, resource, body);
            Http.Response r = Http.readResponse(Channels.newInputStream(ch));
            return new Reply(r.status(), r.text().strip(), fields(r.body()));
        }
    }

    /** The top-level scalar fields of the VMM's answer. */
    private static Map<String, Object> fields(byte[] json) throws IOException {
        try {
            return FlatJson.read(json);
        } catch (IOException e) {
            throw new IOException("the VMM's answer is " + e.getMessage());
        }
    }
}
