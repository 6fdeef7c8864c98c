using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using FixedShapeAttention.CompilerServices;

namespace FixedShapeAttention.Benchmarks;

/// <summary>
/// What splitting one kernel call over two threads costs when the chunks do nothing: Parallel.For (what the kernels
/// used before) against ParallelRunner on the kernel worker pool. An encoder layer makes about eight such calls.
/// </summary>
[Config(typeof(SchedulingConfig))]
public class SchedulingBenchmarks
{
    private static readonly ParallelOptions s_twoThreads = new() { MaxDegreeOfParallelism = 2 };

    [Benchmark(Baseline = true, Description = "empty Parallel.For(0, 2)")]
    public void EmptyParallelFor() => Parallel.For(0, 2, s_twoThreads, static _ => { });

    [Benchmark(Description = "empty ParallelRunner call, 2 chunks")]
    public void EmptyPoolCall() =>
        ParallelRunner.Run(default(EmptyChunks), 2, long.MaxValue, 2, default, default, default, default, default, default);

    private readonly struct EmptyChunks : IChunkKernel
    {
        public void Execute(in KernelBuffers buffers, int chunk)
        {
        }
    }

    private sealed class SchedulingConfig : ManualConfig
    {
        public SchedulingConfig() => AddDiagnoser(MemoryDiagnoser.Default);
    }
}
