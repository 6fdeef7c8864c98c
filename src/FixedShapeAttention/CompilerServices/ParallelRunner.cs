using System;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using FixedShapeAttention.Scheduling;

namespace FixedShapeAttention.CompilerServices;

/// <summary>
/// Runs the chunks of one kernel call, on the calling thread or on it and the <see cref="KernelWorkerPool"/>. The chunks, and so the arithmetic, are fixed by the shape and the batch; only which thread
/// runs a chunk depends on the degree of parallelism.
/// </summary>
/// <remarks>For generated code; no compatibility promise: this namespace may change in any release.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class ParallelRunner
{
    /// <summary>Pins the spans and runs chunks <c>[0, chunkCount)</c> of <paramref name="kernel"/>.</summary>
    /// <param name="flops">The call's work; below <see cref="KernelParallelism.ParallelThresholdFlops"/> it stays on the calling thread.</param>
    public static unsafe void Run<TKernel>(
        TKernel kernel, int chunkCount, long flops, int maxDegreeOfParallelism,
        ReadOnlySpan<float> input0, ReadOnlySpan<float> input1, ReadOnlySpan<float> input2,
        ReadOnlySpan<float> input3, ReadOnlySpan<float> input4, Span<float> output)
        where TKernel : struct, IChunkKernel =>
        Run(kernel, chunkCount, flops, maxDegreeOfParallelism, input0, input1, input2, input3, input4, output, default);

    /// <summary>As the other overload, with a count per sequence (the visible keys of a masked attention call).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="chunkCount"/> is negative, or <paramref name="maxDegreeOfParallelism"/> is 0 or below -1.</exception>
    public static unsafe void Run<TKernel>(
        TKernel kernel, int chunkCount, long flops, int maxDegreeOfParallelism,
        ReadOnlySpan<float> input0, ReadOnlySpan<float> input1, ReadOnlySpan<float> input2,
        ReadOnlySpan<float> input3, ReadOnlySpan<float> input4, Span<float> output, ReadOnlySpan<int> sequenceCounts)
        where TKernel : struct, IChunkKernel =>
        Run(kernel, chunkCount, flops, maxDegreeOfParallelism, input0, input1, input2, input3, input4, default, output, default, default, sequenceCounts);

    /// <summary>
    /// As the other overloads, for the training kernels' wider calls: six inputs and three outputs (attention backward
    /// reads Q, K, V, O, dO and the log-sum-exps, and writes dQ, dK and dV).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="chunkCount"/> is negative, or <paramref name="maxDegreeOfParallelism"/> is 0 or below -1.</exception>
    public static unsafe void Run<TKernel>(
        TKernel kernel, int chunkCount, long flops, int maxDegreeOfParallelism,
        ReadOnlySpan<float> input0, ReadOnlySpan<float> input1, ReadOnlySpan<float> input2,
        ReadOnlySpan<float> input3, ReadOnlySpan<float> input4, ReadOnlySpan<float> input5,
        Span<float> output, Span<float> output1, Span<float> output2, ReadOnlySpan<int> sequenceCounts)
        where TKernel : struct, IChunkKernel
    {
        ArgumentOutOfRangeException.ThrowIfNegative(chunkCount);
        int threads = KernelParallelism.Resolve(maxDegreeOfParallelism);
        fixed (float* p0 = input0, p1 = input1, p2 = input2, p3 = input3, p4 = input4, p5 = input5)
        fixed (float* pOut = output, pOut1 = output1, pOut2 = output2)
        fixed (int* counts = sequenceCounts)
        {
            // The call's pinned spans, which KernelBuffers hands to every chunk.
            var call = new KernelCall
            {
                Input0 = p0,
                Input1 = p1,
                Input2 = p2,
                Input3 = p3,
                Input4 = p4,
                Input5 = p5,
                Output = pOut,
                Output1 = pOut1,
                Output2 = pOut2,
                Counts = counts,
                CountsLength = sequenceCounts.Length,
            };

            if (threads == 1 || chunkCount == 1 || flops < KernelParallelism.ParallelThresholdFlops)
            {
                var buffers = new KernelBuffers(&call);
                for (int chunk = 0; chunk < chunkCount; chunk++)
                {
                    kernel.Execute(buffers, chunk);
                }
            }
            else
            {
                // The job lives on this stack frame, which outlives the pool's Run: no allocation per call.
                var job = new Job<TKernel>(kernel, &call);
                KernelWorkerPool.Shared.Run(&ExecuteChunk<TKernel>, Unsafe.AsPointer(ref job), chunkCount, threads);
            }
        }
    }

    private static unsafe void ExecuteChunk<TKernel>(void* state, int chunk)
        where TKernel : struct, IChunkKernel
    {
        ref Job<TKernel> job = ref Unsafe.AsRef<Job<TKernel>>(state);
        job.Kernel.Execute(new KernelBuffers(job.Call), chunk);
    }

    private readonly unsafe struct Job<TKernel>
        where TKernel : struct, IChunkKernel
    {
        public readonly TKernel Kernel;
        public readonly KernelCall* Call;

        public Job(TKernel kernel, KernelCall* call)
        {
            Kernel = kernel;
            Call = call;
        }
    }
}
