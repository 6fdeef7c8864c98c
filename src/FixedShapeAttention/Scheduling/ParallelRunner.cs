using System;
using System.ComponentModel;
using System.Threading.Tasks;

namespace FixedShapeAttention.Scheduling;

/// <summary>
/// Runs the chunks of one kernel call, on the calling thread or with <see cref="Parallel.For(int, int, ParallelOptions, Action{int})"/>
/// over chunk indices. The chunks, and so the arithmetic, are fixed by the shape and the batch; only which thread
/// runs a chunk depends on the degree of parallelism.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class ParallelRunner
{
    /// <summary>Pins the spans and runs chunks <c>[0, chunkCount)</c> of <paramref name="kernel"/>.</summary>
    /// <param name="flops">The call's work; below <see cref="KernelParallelism.ParallelThresholdFlops"/> it stays on the calling thread.</param>
    public static unsafe void Run<TKernel>(
        TKernel kernel, int chunkCount, long flops, int maxDegreeOfParallelism,
        ReadOnlySpan<float> input0, ReadOnlySpan<float> input1, ReadOnlySpan<float> input2,
        ReadOnlySpan<float> input3, ReadOnlySpan<float> input4, Span<float> output)
        where TKernel : struct, IChunkKernel
    {
        int threads = KernelParallelism.Resolve(maxDegreeOfParallelism);
        fixed (float* p0 = input0, p1 = input1, p2 = input2, p3 = input3, p4 = input4, pOut = output)
        {
            var buffers = new KernelBuffers(p0, p1, p2, p3, p4, pOut);
            if (threads == 1 || chunkCount == 1 || flops < KernelParallelism.ParallelThresholdFlops)
            {
                for (int chunk = 0; chunk < chunkCount; chunk++)
                {
                    kernel.Execute(buffers, chunk);
                }
            }
            else
            {
                RunParallel(kernel, buffers, chunkCount, threads);
            }
        }
    }

    // Kept out of Run so that the sequential path does not pay for the closure's allocation.
    private static void RunParallel<TKernel>(TKernel kernel, KernelBuffers buffers, int chunkCount, int threads)
        where TKernel : struct, IChunkKernel
    {
        var options = new ParallelOptions { MaxDegreeOfParallelism = threads };
        Parallel.For(0, chunkCount, options, chunk => kernel.Execute(buffers, chunk));
    }
}
