package dev.scratchvm.control;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.LinkedHashMap;
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
        byte[] body = ApiServer.object(g -> {
            g.writeStringField("path", image.toAbsolutePath().toString());
            g.writeBooleanField("diff", diff);
            g.writeBooleanField("leave_running", leaveRunning);
        });
        return call(socket, "PUT", "/vm/snapshot", body);
    }

    public static Reply call(Path socket, String method, String resource, byte[] body) throws IOException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            Http.writeRequest(Channels.newOutputStream(ch), method, resource, body);
            Http.Response r = Http.readResponse(Channels.newInputStream(ch));
            return new Reply(r.status(), r.text().strip(), fields(r.body()));
        }
    }

    /** The top-level scalar fields of a JSON object. */
    private static Map<String, Object> fields(byte[] json) throws IOException {
        Map<String, Object> out = new LinkedHashMap<>();
        try (JsonParser p = ApiServer.JSON.createParser(json)) {
            if (p.nextToken() != JsonToken.START_OBJECT) throw new IOException("the VMM answered with something other than a JSON object");
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken t = p.nextToken();
                out.put(name, switch (t) {
                    case VALUE_NUMBER_INT -> p.getLongValue();
                    case VALUE_TRUE, VALUE_FALSE -> p.getBooleanValue();
                    case VALUE_STRING -> p.getText();
                    default -> {
                        p.skipChildren();
                        yield null;
                    }
                });
            }
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new IOException("the VMM's answer is not valid JSON: " + e.getOriginalMessage());
        }
        return out;
    }
}
