package dev.scratchvm.control;

import dev.scratchvm.migration.LiveOptions;
import dev.scratchvm.migration.MigrationClient;
import dev.scratchvm.util.FlatJson;
import dev.scratchvm.vmm.Snapshots;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * The control socket: a Unix domain socket, mode 0600, that only the VMM's own user may
 * use, speaking HTTP/1.1 with JSON bodies in the manner of Firecracker's API socket:
 * <pre>
 *   GET /vm                 status
 *   PUT /vm/pause           PUT /vm/resume           PUT /vm/stop
 *   PUT /vm/snapshot        {"path": "/abs/file", "diff": false, "leave_running": false}
 * </pre>
 * Answers are JSON; an error is {@code {"error": "one line"}} with a 4xx/5xx status.
 */
public final class ApiServer implements AutoCloseable {
    /** Connections served at once; more wait in the listen queue. Each is one short request. */
    private static final int MAX_CONNECTIONS = 8;
    private static final long REQUEST_DEADLINE_MS = 5_000;

    private final Path path;
    private final ServerSocketChannel server;
    private final Controller controller;
    private final Migrator migrator;
    private final UserPrincipal owner;
    private final Semaphore slots = new Semaphore(MAX_CONNECTIONS);
    private final Thread acceptor;

    private ApiServer(Path path, ServerSocketChannel server, Controller controller, Migrator migrator, UserPrincipal owner) {
        this.path = path;
        this.server = server;
        this.controller = controller;
        this.migrator = migrator;
        this.owner = owner;
        this.acceptor = Thread.ofPlatform().name("api").daemon().unstarted(this::acceptLoop);
    }

    /**
     * Binds the socket at {@code path} and starts answering. A leftover socket file nobody
     * listens on is replaced; a live one, or any other file, is refused.
     */
    public static ApiServer open(Path path, Controller controller) throws IOException {
        return open(path, controller, null);
    }

    /** As {@link #open(Path, Controller)}, also serving PUT /vm/migrate through {@code migrator} (null: not offered). */
    public static ApiServer open(Path path, Controller controller, Migrator migrator) throws IOException {
        if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            if (!Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther()) {
                throw new IOException(path + " exists and is not a socket");
            }
            if (listening(path)) throw new IOException(path + " is in use by another VMM");
            Files.delete(path); // nobody listens: left by a VMM that ended without cleaning up
        }
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            server.bind(UnixDomainSocketAddress.of(path), MAX_CONNECTIONS);
            // Between bind and chmod another user could connect; the peer check below refuses them anyway.
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
            ApiServer api = new ApiServer(path, server, controller, migrator, Files.getOwner(path));
            api.acceptor.start();
            return api;
        } catch (IOException | RuntimeException e) {
            server.close();
            Files.deleteIfExists(path);
            throw e;
        }
    }

    private static boolean listening(Path path) {
        try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    public Path path() {
        return path;
    }

    private void acceptLoop() {
        while (server.isOpen()) {
            try {
                SocketChannel ch = server.accept();
                slots.acquireUninterruptibly();
                Thread.ofVirtual().name("api-request").start(() -> {
                    try {
                        serve(ch);
                    } finally {
                        slots.release();
                    }
                });
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                // a connection that failed before it was accepted: keep serving the others
            }
        }
    }

    private void serve(SocketChannel ch) {
        // A client that stalls mid-request loses its connection, not a slot for good.
        CompletableFuture<Void> done = new CompletableFuture<>();
        CompletableFuture.delayedExecutor(REQUEST_DEADLINE_MS, TimeUnit.MILLISECONDS).execute(() -> {
            if (!done.isDone()) closeQuietly(ch);
        });
        try (ch) {
            InputStream in = Channels.newInputStream(ch);
            OutputStream out = Channels.newOutputStream(ch);
            UnixDomainPrincipal peer = ch.getOption(ExtendedSocketOptions.SO_PEERCRED);
            if (!peer.user().equals(owner)) {
                Http.writeResponse(out, 403, error("only " + owner.getName() + " may control this VM"));
                return;
            }
            Http.Request request;
            try {
                request = Http.readRequest(in);
            } catch (Http.HttpException e) {
                Http.writeResponse(out, e.status, error(e.getMessage()));
                lingeringClose(ch, in);
                return;
            }
            done.complete(null); // the operation itself may take as long as it takes
            Http.Response response = handle(request);
            Http.writeResponse(out, response.status(), response.body());
        } catch (IOException e) {
            // the client went away; nothing to answer
        } finally {
            done.complete(null);
        }
    }

    Http.Response handle(Http.Request r) {
        try {
            return switch (r.path()) {
                case "/vm" -> method(r, "GET") ? ok(status(controller.status())) : notAllowed("GET");
                case "/vm/pause" -> {
                    if (!method(r, "PUT")) yield notAllowed("PUT");
                    long latency = controller.pause();
                    yield ok(FlatJson.write(g -> g.writeNumberField("latency_us", latency / 1000)));
                }
                case "/vm/resume" -> {
                    if (!method(r, "PUT")) yield notAllowed("PUT");
                    controller.resume();
                    yield ok(FlatJson.write(g -> { }));
                }
                case "/vm/stop" -> {
                    if (!method(r, "PUT")) yield notAllowed("PUT");
                    controller.stop();
                    yield ok(FlatJson.write(g -> { }));
                }
                case "/vm/snapshot" -> method(r, "PUT") ? snapshot(r.body()) : notAllowed("PUT");
                case "/vm/migrate" -> method(r, "PUT") ? migrate(r.body()) : notAllowed("PUT");
                default -> new Http.Response(404, error("no such resource: " + printable(r.path())));
            };
        } catch (ControlException e) {
            return new Http.Response(409, error(e.getMessage()));
        } catch (IOException e) {
            return new Http.Response(500, error(e.getMessage()));
        }
    }

    private Http.Response snapshot(byte[] body) throws ControlException, IOException {
        String path;
        boolean diff, leaveRunning;
        try {
            RequestBody r = RequestBody.parse(body, Set.of("path", "diff", "leave_running"));
            path = r.string("path", null);
            diff = r.bool("diff", false);
            leaveRunning = r.bool("leave_running", false);
        } catch (RequestBody.Refused e) {
            return badRequest(e.getMessage());
        }
        if (path.isEmpty() || path.indexOf('\0') >= 0 || !Path.of(path).isAbsolute()) {
            return badRequest("\"path\" must be an absolute file name");
        }
        Controller.Snapshotted s = controller.snapshot(Path.of(path), diff ? Snapshots.Kind.DIFF : Snapshots.Kind.FULL, leaveRunning);
        Snapshot.Taken t = s.taken();
        return ok(FlatJson.write(g -> {
            g.writeStringField("path", t.image().toString());
            g.writeStringField("kind", t.kind().name().toLowerCase());
            g.writeNumberField("pages", t.pagesStored());
            g.writeNumberField("bytes", t.bytesWritten());
            g.writeNumberField("write_us", t.totalNanos() / 1000);
            g.writeNumberField("fsync_us", t.syncNanos() / 1000);
            g.writeNumberField("paused_us", s.pausedNanos() / 1000);
            g.writeStringField("state", s.after().name().toLowerCase());
        }));
    }

    private Http.Response migrate(byte[] body) throws ControlException, IOException {
        if (migrator == null) return new Http.Response(404, error("this VMM does not offer migration"));
        String to, onTimeout;
        long downtimeMs, timeoutS;
        boolean autoConverge, withFiles;
        try {
            RequestBody r = RequestBody.parse(body,
                    Set.of("to", "on_timeout", "downtime_ms", "timeout_s", "auto_converge", "with_files"));
            to = r.string("to", null);
            onTimeout = r.string("on_timeout", "abort");
            downtimeMs = r.number("downtime_ms", LiveOptions.DEFAULT.downtime().toMillis(), 1, 86_400_000);
            timeoutS = r.number("timeout_s", LiveOptions.DEFAULT.timeout().toSeconds(), 1, 86_400_000);
            autoConverge = r.bool("auto_converge", false);
            withFiles = r.bool("with_files", false);
        } catch (RequestBody.Refused e) {
            return badRequest(e.getMessage());
        }
        LiveOptions.OnTimeout policy = switch (onTimeout) {
            case "abort" -> LiveOptions.OnTimeout.ABORT;
            case "stop-and-copy" -> LiveOptions.OnTimeout.STOP_AND_COPY;
            default -> null;
        };
        if (policy == null) return badRequest("\"on_timeout\" must be \"abort\" or \"stop-and-copy\"");
        LiveOptions options = new LiveOptions(Duration.ofMillis(downtimeMs), Duration.ofSeconds(timeoutS), policy, autoConverge);
        MigrationClient.Result result = migrator.migrate(controller, new Migrator.Request(to, options, withFiles));
        return switch (result) {
            case MigrationClient.Result.Committed c -> ok(FlatJson.write(g -> {
                var st = c.stats();
                g.writeStringField("result", "committed");
                g.writeNumberField("pages", st.memoryPages());
                g.writeNumberField("bytes", st.bytesSent());
                g.writeNumberField("elapsed_us", st.elapsedNanos() / 1000);
                if (st.live() != null) {
                    g.writeNumberField("rounds", st.live().rounds());
                    g.writeNumberField("downtime_us", st.live().downtimeNanos() / 1000);
                    g.writeNumberField("cold_bytes", st.live().coldBytes());
                    g.writeNumberField("throttle_percent", st.live().throttlePercent());
                    g.writeBooleanField("stopped_by_timeout", st.live().stoppedByTimeout());
                }
            }));
            case MigrationClient.Result.Failed f -> new Http.Response(502, error("the migration failed and the VM goes on here: " + f.reason()));
            case MigrationClient.Result.InDoubt d -> new Http.Response(500, error("the migration is in doubt, the VM is paused here: "
                    + d.reason()));
        };
    }

    static byte[] status(Controller.Status s) {
        return FlatJson.write(g -> {
            g.writeStringField("state", s.state().name().toLowerCase());
            g.writeNumberField("memory_bytes", s.memoryBytes());
            g.writeNumberField("dirty_pages", s.dirtyPages());
            g.writeNumberField("uptime_ms", s.uptimeNanos() / 1_000_000);
            g.writeNumberField("syscalls", s.syscalls());
        });
    }

    private static boolean method(Http.Request r, String wanted) {
        return r.method().equals(wanted);
    }

    private static Http.Response ok(byte[] body) {
        return new Http.Response(200, body);
    }

    private static Http.Response notAllowed(String allowed) {
        return new Http.Response(405, error("use " + allowed + " for this resource"));
    }

    private static Http.Response badRequest(String message) {
        return new Http.Response(400, error(message));
    }

    /** Echoed names are cut short and stripped of control characters: error lines stay one line. */
    static String printable(String s) {
        String cut = s.length() > 64 ? s.substring(0, 64) + "..." : s;
        return cut.replaceAll("\\p{Cntrl}", "?");
    }

    static byte[] error(String message) {
        return FlatJson.write(g -> g.writeStringField("error", message));
    }

    /**
     * After refusing a request that was not read to its end: closing with unread input would
     * reset the connection and could destroy the answer before the client reads it. So stop
     * writing, and read (a bounded amount, within the deadline) until the client closes.
     */
    private static void lingeringClose(SocketChannel ch, InputStream in) throws IOException {
        ch.shutdownOutput();
        byte[] sink = new byte[8192];
        for (long total = 0; total < Http.MAX_BODY * 16L; ) {
            int n = in.read(sink);
            if (n < 0) return;
            total += n;
        }
    }

    private static void closeQuietly(SocketChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    /**
     * Stops taking connections, lets the requests in flight send their answers (the one
     * that stopped the VM among them; bounded, as the VM has ended they finish at once),
     * and removes the socket file.
     */
    @Override
    public void close() throws IOException {
        server.close();
        try {
            if (slots.tryAcquire(MAX_CONNECTIONS, 2, TimeUnit.SECONDS)) slots.release(MAX_CONNECTIONS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            Files.deleteIfExists(path);
        }
    }
}
