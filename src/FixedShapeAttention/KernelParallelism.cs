using System;
using System.Threading;
using FixedShapeAttention.Scheduling;

namespace FixedShapeAttention;

/// <summary>
/// The process-wide cap on how many threads a kernel call may use. Every kernel also has an overload taking
/// <c>maxDegreeOfParallelism</c>, which overrides this value for one call.
/// </summary>
/// <remarks>
/// The cap changes only which thread computes which chunk: every output element is computed by the same
/// sequence of floating-point operations whatever the cap, so results are bit-identical for any value.
/// </remarks>
public static class KernelParallelism
{
    private static int s_defaultMaxDegreeOfParallelism = -1;

    /// <summary>
    /// The default cap: <c>-1</c> (the initial value) uses every processor, <c>1</c> runs on the calling thread
    /// only, <c>n &gt; 1</c> uses at most <c>n</c> threads.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is 0 or below -1.</exception>
    public static int DefaultMaxDegreeOfParallelism
    {
        get => Volatile.Read(ref s_defaultMaxDegreeOfParallelism);
        set => Volatile.Write(ref s_defaultMaxDegreeOfParallelism, Check(value));
    }

    /// <summary>
    /// Below this many floating-point operations per call (about 1 µs of one core) a kernel runs on the calling thread:
    /// handing chunks to the worker pool costs ~0.2 µs while its workers spin, a semaphore release once they sleep.
    /// </summary>
    public const long ParallelThresholdFlops = ChunkSizing.ParallelThresholdFlops;

    /// <summary>Turns a requested cap into a thread count in [1, ProcessorCount].</summary>
    public static int Resolve(int maxDegreeOfParallelism)
    {
        Check(maxDegreeOfParallelism);
        int processors = Environment.ProcessorCount;
        return maxDegreeOfParallelism == -1 ? processors : Math.Min(maxDegreeOfParallelism, processors);
    }

    private static int Check(int value)
    {
        if (value == 0 || value < -1)
        {
            throw new ArgumentOutOfRangeException("maxDegreeOfParallelism", value, "Use -1 for every processor, or a positive thread count.");
        }

        return value;
    }
}
