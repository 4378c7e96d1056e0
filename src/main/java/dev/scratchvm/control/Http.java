package dev.scratchvm.control;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * The little of HTTP/1.1 the control socket speaks, as Firecracker's and Cloud
 * Hypervisor's API sockets do: one request per connection, a Content-Length body, no
 * chunking, strict limits. So {@code curl --unix-socket} works as a client too.
 */
final class Http {
    static final int MAX_HEAD = 8192, MAX_BODY = 64 * 1024;

    private Http() {
    }

    record Request(String method, String path, byte[] body) {
    }

    record Response(int status, byte[] body) {
        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    /** Malformed or oversized input, with the status to answer it with. */
    static final class HttpException extends IOException {
        final int status;

        HttpException(int status, String message) {
            super(message);
            this.status = status;
        }
    }

    static Request readRequest(InputStream in) throws IOException {
        String[] head = readHead(in).split("\r\n");
        String[] line = head[0].split(" ");
        if (line.length != 3 || !line[2].startsWith("HTTP/1.")) throw new HttpException(400, "malformed request line");
        return new Request(line[0], line[1], readBody(in, head));
    }

    static Response readResponse(InputStream in) throws IOException {
        String[] head = readHead(in).split("\r\n");
        String[] line = head[0].split(" ", 3);
        if (line.length < 2 || !line[0].startsWith("HTTP/1.")) throw new HttpException(502, "malformed response line");
        try {
            return new Response(Integer.parseInt(line[1]), readBody(in, head));
        } catch (NumberFormatException e) {
            throw new HttpException(502, "malformed response status");
        }
    }

    static void writeRequest(OutputStream out, String method, String path, byte[] body) throws IOException {
        String head = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
                + (body.length > 0 ? "Content-Type: application/json\r\n" : "")
                + "Content-Length: " + body.length + "\r\nConnection: close\r\n\r\n";
        out.write(head.getBytes(StandardCharsets.US_ASCII));
        out.write(body);
        out.flush();
    }

    static void writeResponse(OutputStream out, int status, byte[] body) throws IOException {
        String head = "HTTP/1.1 " + status + " " + reason(status) + "\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + body.length + "\r\nConnection: close\r\n\r\n";
        out.write(head.getBytes(StandardCharsets.US_ASCII));
        out.write(body);
        out.flush();
    }

    private static String reason(int status) {
        return switch (status) {
            case 200 -> "OK";
            case 400 -> "Bad Request";
            case 403 -> "Forbidden";
            case 404 -> "Not Found";
            case 405 -> "Method Not Allowed";
            case 409 -> "Conflict";
            case 413 -> "Content Too Large";
            default -> "Internal Server Error";
        };
    }

    /** Up to the blank line; ASCII only. */
    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int state = 0; // how much of CR LF CR LF has been seen
        while (state < 4) {
            int b = in.read();
            if (b < 0) throw new HttpException(400, head.size() == 0 ? "empty request" : "connection closed inside the header");
            if (head.size() >= MAX_HEAD) throw new HttpException(413, "header longer than " + MAX_HEAD + " bytes");
            if (b >= 0x80 || b == 0) throw new HttpException(400, "header is not ASCII text");
            head.write(b);
            state = (b == '\r' && (state == 0 || state == 2)) || (b == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
        }
        String text = head.toString(StandardCharsets.US_ASCII);
        return text.substring(0, text.length() - 4);
    }

    private static byte[] readBody(InputStream in, String[] head) throws IOException {
        long length = 0;
        for (int i = 1; i < head.length; i++) {
            int colon = head[i].indexOf(':');
            if (colon <= 0) throw new HttpException(400, "malformed header line");
            String name = head[i].substring(0, colon).trim().toLowerCase(Locale.ROOT);
            String value = head[i].substring(colon + 1).trim();
            if (name.equals("transfer-encoding")) throw new HttpException(400, "chunked bodies are not accepted");
            if (name.equals("content-length")) {
                try {
                    length = Long.parseLong(value);
                } catch (NumberFormatException e) {
                    throw new HttpException(400, "malformed Content-Length");
                }
            }
        }
        if (length < 0) throw new HttpException(400, "negative Content-Length");
        if (length > MAX_BODY) throw new HttpException(413, "body longer than " + MAX_BODY + " bytes");
        byte[] body = in.readNBytes((int) length);
        if (body.length != length) throw new HttpException(400, "connection closed inside the body");
        return body;
    }
}
