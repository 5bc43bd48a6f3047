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
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

public class InvoiceService {
    static final AtomicLong served = new AtomicLong();
    static final AtomicLong poolTimeouts = new AtomicLong();
    static final AtomicLong otherErrors = new AtomicLong();
    // Time from a borrow's return to the connection's close: the hold the pool sees,
    // which is longer than pg_sleep (JDBC round trips, commit, the pool's bookkeeping).
    static final AtomicLong holdNanos = new AtomicLong();
    // The two sides of HikariCP's hand-off race, measured here so that the model is given
    // them rather than fitted to the 500s it is checked against. `path`: from a worker's
    // close() (the connection is back in the shared list) to its next getConnection() (it
    // wrote the answer and took the next request): how soon a newcomer asks. `wake`: how
    // long a thread parked in a fair SynchronousQueue (HikariCP's handoffQueue) takes to
    // run once offered an item by a thread that keeps running (as a worker goes on to write
    // its answer), probed every 2 ms on this machine under this load: how
    // long the connection handed to a waiter is anyone's.
    static final Histogram path = new Histogram(1_000);
    static final Histogram wake = new Histogram(1_000);
    // What the race does not show: how long getConnection() took for those served and for
    // those that timed out, and how long connections were held, in 100 µs buckets. A FIFO
    // pool of 10 behind 40 workers never makes anyone wait more than 3 holds.
    static final Histogram servedWait = new Histogram(100_000);
    static final Histogram timedOutWait = new Histogram(100_000);
    static final Histogram hold = new Histogram(100_000);
    static final ThreadLocal<long[]> lastClose = ThreadLocal.withInitial(() -> new long[] {0});

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
            "{\"served\":%d,\"pool_timeouts\":%d,\"other_errors\":%d,\"hold_ns\":%d,"
                + "\"path_us\":%s,\"wake_us\":%s,\"served_wait_100us\":%s,\"timed_out_wait_100us\":%s,"
                + "\"hold_100us\":%s}",
            served.get(), poolTimeouts.get(), otherErrors.get(), holdNanos.get(), path.json(), wake.json(),
            servedWait.json(), timedOutWait.json(), hold.json())));
        startWakeProbe();
        server.createContext("/invoices", ex -> issue(ex, ds, holdS));
        server.setExecutor(Executors.newFixedThreadPool(workers));
        server.start();
        System.out.println("listening on 127.0.0.1:" + server.getAddress().getPort());
    }

    static void issue(HttpExchange ex, HikariDataSource ds, double holdS) throws IOException {
        ex.getRequestBody().readAllBytes();
        long n;
        long[] closed = lastClose.get();
        long asked = System.nanoTime();
        // Only a worker that went straight on to this request (it found one waiting) is a
        // newcomer in the race; one that sat idle is not.
        if (closed[0] != 0 && asked - closed[0] < 2_000_000) path.record(asked - closed[0]);
        try {
            Connection c;
            try {
                c = ds.getConnection();
            } catch (SQLTransientConnectionException e) {
                timedOutWait.record(System.nanoTime() - asked);
                throw e;
            }
            long borrowed = System.nanoTime();
            servedWait.record(borrowed - asked);
            try (c; PreparedStatement st = c.prepareStatement("SELECT pg_sleep(?)")) {
                st.setDouble(1, holdS);
                st.execute();
                c.commit();
            }
            closed[0] = System.nanoTime();
            hold.record(closed[0] - borrowed);
            holdNanos.addAndGet(closed[0] - borrowed);
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

    static final long PROBE_PATH_NANOS = 100_000;

    /** A parked poller and an offerer: the wake-up latency of HikariCP's hand-off. */
    static void startWakeProbe() {
        SynchronousQueue<Long> queue = new SynchronousQueue<>(true);
        Thread poller = new Thread(() -> {
            while (true) {
                try {
                    Long sent = queue.poll(1, TimeUnit.SECONDS);
                    if (sent != null) wake.record(System.nanoTime() - sent);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        Thread offerer = new Thread(() -> {
            while (true) {
                try {
                    Thread.sleep(2); // long enough for the poller to park, as a waiter has
                } catch (InterruptedException e) {
                    return;
                }
                while (!queue.offer(System.nanoTime())) Thread.onSpinWait();
                // A worker that gives a connection back does not sleep: it goes on to
                // write its answer, keeping its core. So does the probe, for a path's
                // length, or the woken thread would find this core free.
                long offered = System.nanoTime();
                while (System.nanoTime() - offered < PROBE_PATH_NANOS) Thread.onSpinWait();
            }
        });
        for (Thread t : new Thread[] {poller, offerer}) {
            t.setDaemon(true);
            t.start();
        }
    }

    /** Counts in buckets of `width` ns, 10,000 of them (the last holds the rest). */
    static final class Histogram {
        final AtomicLongArray counts = new AtomicLongArray(10_001);
        final long width;

        Histogram(long width) {
            this.width = width;
        }

        void record(long nanos) {
            counts.incrementAndGet((int) Math.min(nanos / width, 10_000));
        }

        /** {"n":..,"counts":[[µs,count],...]} with the empty buckets left out. */
        String json() {
            StringBuilder b = new StringBuilder("{\"counts\":[");
            long n = 0;
            for (int i = 0; i < counts.length(); i++) {
                long k = counts.get(i);
                if (k == 0) continue;
                if (n > 0) b.append(',');
                b.append('[').append(i).append(',').append(k).append(']');
                n += k;
            }
            return b.append("],\"n\":").append(n).append('}').toString();
        }
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
