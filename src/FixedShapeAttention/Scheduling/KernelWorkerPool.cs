using System;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.Intrinsics.X86;
using System.Threading;

namespace FixedShapeAttention.Scheduling;

/// <summary>
/// The threads that run kernel chunks next to the caller: <c>ProcessorCount − 1</c> background workers that spin
/// briefly after each job and then sleep. It replaces <c>Parallel.For</c>, which allocates a closure and task state
/// on every call (~1.7 KiB) and costs ~10 µs even when empty; an encoder layer makes eight kernel calls, so that
/// cost would be paid dozens of times per forward pass.
/// </summary>
/// <remarks>
/// <para>One job at a time. A caller that finds the pool busy (another thread's call, or a kernel called from inside
/// a chunk) runs its chunks on its own thread: chunks fix the arithmetic, so the result is the same bits, and the
/// machine is already busy.</para>
/// <para>Chunks are claimed with a compare-and-swap on <see cref="_ticket"/>, which holds the job's generation in its
/// upper half and the next chunk index in its lower half. A worker that read the job's fields and then lost the race
/// to a newer job fails its CAS and never runs a chunk with another job's state. Between jobs the ticket is
/// <em>closed</em> (index <see cref="Closed"/>), so no chunk can be claimed while the next job's fields are written.</para>
/// </remarks>
internal sealed unsafe class KernelWorkerPool
{
    private const int Closed = int.MaxValue;

    /// <summary>How long an idle worker keeps polling before it sleeps: long enough to catch the next kernel call of
    /// the same forward pass (a few µs later), short enough not to burn a core between requests.</summary>
    private static readonly long s_spinTicks = Stopwatch.Frequency / 10_000; // 100 µs

    private static KernelWorkerPool? s_shared;

    private readonly Worker[] _workers;
    private int _busy;
    private long _ticket = Closed;
    private delegate*<void*, int, void> _body;
    private void* _state;
    private int _chunkCount;
    private int _participants;
    private int _remaining;
    private ExceptionDispatchInfo? _failure;

    private KernelWorkerPool(int workerCount)
    {
        _workers = new Worker[workerCount];
        for (int i = 0; i < workerCount; i++)
        {
            _workers[i] = new Worker(this, i);
        }
    }

    /// <summary>
    /// How many jobs callers have handed to the workers so far (the generation in <see cref="_ticket"/>): a call that
    /// ran on its calling thread only leaves it unchanged. The tests read it to see that a thread cap is honoured.
    /// </summary>
    internal static long JobsStarted => Volatile.Read(ref s_shared) is { } pool ? Volatile.Read(ref pool._ticket) >> 32 : 0;

    /// <summary>The process's pool, created on the first parallel kernel call.</summary>
    public static KernelWorkerPool Shared
    {
        get
        {
            KernelWorkerPool? pool = Volatile.Read(ref s_shared);
            if (pool is null)
            {
                var created = new KernelWorkerPool(Math.Max(0, Environment.ProcessorCount - 1));
                pool = Interlocked.CompareExchange(ref s_shared, created, null) ?? created;
                if (ReferenceEquals(pool, created))
                {
                    created.StartWorkers();
                }
            }

            return pool;
        }
    }

    /// <summary>
    /// Runs <c>body(state, chunk)</c> for every chunk in <c>[0, chunkCount)</c> on the caller and up to
    /// <paramref name="threads"/> − 1 workers, and returns when all are done. <paramref name="state"/> must stay
    /// valid (a caller's stack local is) until then.
    /// </summary>
    public void Run(delegate*<void*, int, void> body, void* state, int chunkCount, int threads)
    {
        int helpers = Math.Min(Math.Min(threads - 1, _workers.Length), chunkCount - 1);
        if (helpers <= 0 || Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            for (int chunk = 0; chunk < chunkCount; chunk++)
            {
                body(state, chunk);
            }

            return;
        }

        try
        {
            _body = body;
            _state = state;
            _chunkCount = chunkCount;
            _participants = helpers;
            _remaining = chunkCount;
            _failure = null;
            long generation = (Volatile.Read(ref _ticket) >> 32) + 1;
            long open = generation << 32;
            Interlocked.Exchange(ref _ticket, open);
            for (int i = 0; i < helpers; i++)
            {
                _workers[i].WakeIfSleeping();
            }

            RunChunks(open);
            // Only chunks already running are left: poll with a bare pause. SpinWait's growing back-off (and its yields)
            // would add microseconds to calls that last a few.
            while (Volatile.Read(ref _remaining) != 0)
            {
                Pause();
            }

            Interlocked.Exchange(ref _ticket, generation << 32 | Closed);
            _failure?.Throw();
        }
        finally
        {
            _state = null;
            Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>Claims and runs chunks of the job whose open ticket was <paramref name="seen"/> until none is left or a newer job replaced it.</summary>
    private void RunChunks(long seen)
    {
        long generation = seen >> 32;
        while (true)
        {
            long ticket = Volatile.Read(ref _ticket);
            int chunk = (int)ticket;
            if (ticket >> 32 != generation || chunk == Closed)
            {
                return;
            }

            // Read after the ticket: while this generation's ticket is open the fields belong to it.
            int count = _chunkCount;
            delegate*<void*, int, void> body = _body;
            void* state = _state;
            if (chunk >= count)
            {
                return;
            }

            if (Interlocked.CompareExchange(ref _ticket, ticket + 1, ticket) != ticket)
            {
                continue;
            }

            try
            {
                body(state, chunk);
            }
            catch (Exception ex)
            {
                Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(ex), null);
                SkipUnclaimed(generation, count);
            }
            finally
            {
                Interlocked.Decrement(ref _remaining);
            }
        }
    }

    /// <summary>
    /// After a chunk threw, the call fails whatever the other chunks do: move the ticket past the last chunk so no more
    /// are claimed, and count the unclaimed ones as done, so the caller waits only for chunks already running (a call
    /// of two billion chunks that throws on the first stops at once instead of running them all).
    /// </summary>
    private void SkipUnclaimed(long generation, int count)
    {
        while (true)
        {
            long ticket = Volatile.Read(ref _ticket);
            int next = (int)ticket;
            if (ticket >> 32 != generation || next >= count)
            {
                return;
            }

            if (Interlocked.CompareExchange(ref _ticket, generation << 32 | (uint)count, ticket) == ticket)
            {
                Interlocked.Add(ref _remaining, next - count);
                return;
            }
        }
    }

    /// <summary>One spin-loop hint: a few dozen cycles, so a poller notices a change within ~0.1 µs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Pause()
    {
        if (X86Base.IsSupported)
        {
            X86Base.Pause();
        }
        else
        {
            Thread.SpinWait(1);
        }
    }

    private void StartWorkers()
    {
        foreach (Worker worker in _workers)
        {
            worker.Start();
        }
    }

    private sealed class Worker
    {
        private readonly KernelWorkerPool _pool;
        private readonly int _index;
        private readonly SemaphoreSlim _wake = new(0);
        private int _sleeping;

        public Worker(KernelWorkerPool pool, int index)
        {
            _pool = pool;
            _index = index;
        }

        public void Start()
        {
            var thread = new Thread(Loop, maxStackSize: 256 * 1024)
            {
                IsBackground = true,
                Name = $"FixedShapeAttention worker {_index + 1}",
            };
            thread.Start();
        }

        /// <summary>Pairs with the sleeping side of <see cref="Loop"/>: both publish with a full fence, then read the other's flag.</summary>
        public void WakeIfSleeping()
        {
            if (Volatile.Read(ref _sleeping) != 0)
            {
                _wake.Release();
            }
        }

        private void Loop()
        {
            long lastGeneration = 0;
            while (true)
            {
                long ticket = WaitForJob(lastGeneration);
                lastGeneration = ticket >> 32;
                if (_index < Volatile.Read(ref _pool._participants))
                {
                    _pool.RunChunks(ticket);
                }
            }
        }

        /// <summary>Returns the open ticket of a generation newer than <paramref name="lastGeneration"/>.</summary>
        private long WaitForJob(long lastGeneration)
        {
            long spinUntil = Stopwatch.GetTimestamp() + s_spinTicks;
            int polls = 0;
            while (true)
            {
                long ticket = Volatile.Read(ref _pool._ticket);
                if (ticket >> 32 != lastGeneration && (int)ticket != Closed)
                {
                    return ticket;
                }

                // A bare pause between polls: a job of a few µs must not wait most of a µs for its helper
                // (Thread.SpinWait(20) is ~0.7 µs). The clock is read every 64 polls only.
                if (++polls % 64 != 0 || Stopwatch.GetTimestamp() < spinUntil)
                {
                    Pause();
                    continue;
                }

                Interlocked.Exchange(ref _sleeping, 1);
                ticket = Volatile.Read(ref _pool._ticket);
                if (ticket >> 32 == lastGeneration || (int)ticket == Closed)
                {
                    _wake.Wait();
                }

                Interlocked.Exchange(ref _sleeping, 0);
                spinUntil = Stopwatch.GetTimestamp() + s_spinTicks;
            }
        }
    }
}
