package io.github.attn4j.opencl;

import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.jocl.CL;
import org.jocl.cl_command_queue;

/**
 * Keeps kernel launches on PoCL's CPU devices clear of a defect of PoCL 3.1's loaded-kernel cache, for
 * every kernel and grid (not only the shapes a planner pads).
 *
 * <p>PoCL loads a compiled work-group function once per (kernel build, local size, grid width): a
 * command takes the first cached entry of its kernel and local size whose width is at least the
 * command's widest global dimension, and when no entry is wide enough it loads a new one at the front.
 * When a command finishes, PoCL 3.1 decrements the first entry with the kernel and local size, whatever
 * its width, not the one the command took. A command that took an older entry and finishes after a
 * wider entry was loaded therefore decrements the new one; the new entry's own command then finds a
 * count of 0 and the process aborts ({@code pocl_release_dlhandle_cache: Assertion 'found->ref_count > 0'
 * failed}), or the entry is unloaded while a command runs it. Newer PoCL releases the entry the command
 * took.
 *
 * <p>The gate makes every load of a new entry happen alone: a launch whose widest dimension exceeds the
 * widest launched so far for its kernel build and local size (the record; the first launch of each has
 * none) takes the gate exclusively, waits until every queue of the process's PoCL scopes has finished
 * (no command holds an older entry any more), enqueues, waits for its own command (its entry is loaded
 * and is now the first), and raises the record. Every other launch enqueues under the shared side of
 * the gate, so it never runs beside a load. Records only grow, so the waits happen a few times per kernel
 * and process (once per doubling of the widest grid at most, with grids that grow by doublings); the
 * usual launch costs one uncontended read lock. Queues are registered by their scopes for the scopes'
 * lifetime; a caller's queue given to {@code newScope(queue)} that waits on a user event set only after such a
 * launch returns would hold that launch (and the gate) until the event is set.
 */
final class PoclLaunchGate {
    private PoclLaunchGate() {}

    private static final ReentrantReadWriteLock GATE = new ReentrantReadWriteLock();
    /** The widest launch so far per kernel build (program source, options), entry and local size. */
    private static final Map<Key, Long> RECORDS = new ConcurrentHashMap<>();
    /** The queues of open PoCL scopes (a queue may back several scopes: counted). */
    private static final Map<cl_command_queue, Integer> QUEUES = new IdentityHashMap<>();

    /** PoCL's width of a launch, taken wide: the largest global size, or local size squared (PoCL 3.1 counts dim 2 so). */
    static long width(long[] global, long[] local) {
        long w = 0;
        for (int d = 0; d < global.length; d++) {
            w = Math.max(w, global[d]);
            long l = local == null ? 1 : local[d];
            w = Math.max(w, l * l);
        }
        return w;
    }

    /** A kernel build (its source and build options, one string), entry and local size. */
    record Key(String program, String entry, long l0, long l1, long l2) {}

    static Key key(String program, String entry, long[] local) {
        return new Key(program, entry, local(local, 0), local(local, 1), local(local, 2));
    }

    private static long local(long[] local, int d) {
        return local == null || d >= local.length ? 0 : local[d];
    }

    /** Runs {@code enqueue} (one kernel launch on {@code queue}) under the gate. */
    static void launch(Key key, long width, cl_command_queue queue, Runnable enqueue) {
        Long record = RECORDS.get(key);
        if (record != null && width <= record) {
            GATE.readLock().lock();
            try {
                enqueue.run(); // records only grow: still within it, and no load runs beside this
                return;
            } finally {
                GATE.readLock().unlock();
            }
        }
        GATE.writeLock().lock();
        try {
            record = RECORDS.get(key);
            if (record != null && width <= record) {
                enqueue.run(); // another thread raised it meanwhile
                return;
            }
            synchronized (QUEUES) {
                for (cl_command_queue q : QUEUES.keySet()) {
                    CL.clFinish(q);
                }
            }
            enqueue.run();
            Cl.check(CL.clFinish(queue), "clFinish (first launch of a wider grid on PoCL)");
            RECORDS.put(key, width);
        } finally {
            GATE.writeLock().unlock();
        }
    }

    static void register(cl_command_queue queue) {
        GATE.readLock().lock(); // not while a load drains the queues
        try {
            synchronized (QUEUES) {
                QUEUES.merge(queue, 1, Integer::sum);
            }
        } finally {
            GATE.readLock().unlock();
        }
    }

    /** Before the queue is released (a drain must never see a released queue). */
    static void unregister(cl_command_queue queue) {
        GATE.readLock().lock();
        try {
            synchronized (QUEUES) {
                QUEUES.computeIfPresent(queue, (q, n) -> n == 1 ? null : n - 1);
            }
        } finally {
            GATE.readLock().unlock();
        }
    }
}
