// A small invoice service of the kind the barging check needs: a JDK HttpServer with a
// fixed pool of request workers, and Debian's HikariCP in front of PostgreSQL. Each
// request takes a worker, borrows a connection and holds it in a transaction for
// `pg_sleep(hold)`; a borrow that times out answers 500 (as a Spring service's
// SQLTransientConnectionException handler would). GET /stats gives the service's own
// counts, so the check never relies on the load generator's.
//
//   java -cp HikariCP.jar:postgresql.jar:slf4j-api.jar:slf4j-nop.jar InvoiceService.java \
//        PORT WORKERS POOL TIMEOUT_MS HOLD_MS JDBC_URL
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

public class InvoiceService {
    static final AtomicLong served = new AtomicLong();
    static final AtomicLong poolTimeouts = new AtomicLong();
    static final AtomicLong otherErrors = new AtomicLong();
    // Time from a borrow's return to the connection's close: the hold the pool sees,
    // which is longer than pg_sleep (JDBC round trips, commit, the pool's bookkeeping).
    static final AtomicLong holdNanos = new AtomicLong();

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        int workers = Integer.parseInt(args[1]);
        int pool = Integer.parseInt(args[2]);
        long timeoutMs = Long.parseLong(args[3]);
        double holdS = Long.parseLong(args[4]) / 1000.0;
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(args[5]);
        config.setMaximumPoolSize(pool);
        config.setMinimumIdle(pool); // a full pool from the start: no growth during the run
        config.setConnectionTimeout(timeoutMs);
        config.setAutoCommit(false);
        HikariDataSource ds = new HikariDataSource(config);
        // Open every connection before the first request, so none is made under load.
        Connection[] warm = new Connection[pool];
        for (int i = 0; i < pool; i++) warm[i] = ds.getConnection();
        for (Connection c : warm) c.close();

        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 4096);
        server.createContext("/stats", ex -> answer(ex, 200, String.format(
            "{\"served\":%d,\"pool_timeouts\":%d,\"other_errors\":%d,\"hold_ns\":%d}",
            served.get(), poolTimeouts.get(), otherErrors.get(), holdNanos.get())));
        server.createContext("/invoices", ex -> issue(ex, ds, holdS));
        server.setExecutor(Executors.newFixedThreadPool(workers));
        server.start();
        System.out.println("listening on 127.0.0.1:" + server.getAddress().getPort());
    }

    static void issue(HttpExchange ex, HikariDataSource ds, double holdS) throws IOException {
        ex.getRequestBody().readAllBytes();
        long n;
        try {
            Connection c = ds.getConnection();
            long borrowed = System.nanoTime();
            try (c; PreparedStatement st = c.prepareStatement("SELECT pg_sleep(?)")) {
                st.setDouble(1, holdS);
                st.execute();
                c.commit();
            }
            holdNanos.addAndGet(System.nanoTime() - borrowed);
            n = served.incrementAndGet();
        } catch (SQLTransientConnectionException e) {
            poolTimeouts.incrementAndGet();
            answer(ex, 500, "{\"error\":\"db pool exhausted\"}");
            return;
        } catch (SQLException e) {
            otherErrors.incrementAndGet();
            answer(ex, 503, "{\"error\":\"" + e.getClass().getSimpleName() + "\"}");
            return;
        }
        answer(ex, 201, "{\"invoice_no\":\"INV-" + n + "\"}");
    }

    static void answer(HttpExchange ex, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("content-type", "application/json");
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }
}
