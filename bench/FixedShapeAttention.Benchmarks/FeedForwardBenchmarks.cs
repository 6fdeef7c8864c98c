using BenchmarkDotNet.Attributes;

namespace FixedShapeAttention.Benchmarks;

/// <summary>
/// Feed-forward network: the generated kernel (raw weight spans, and prepacked weights) against the generic
/// runtime-shape kernel (the baseline), 1 and 2 threads.
/// </summary>
[Config(typeof(BenchmarkConfig))]
public class FeedForwardBenchmarks
{
    private ShapeCase _case = null!;

    [Params("S0", "S1", "S2", "S3", "Odd")]
    public string Shape { get; set; } = "S0";

    [Params(1, 2)]
    public int Threads { get; set; }

    private OnnxRuntimeRunner? _onnxRuntime;

    [GlobalSetup]
    public void Setup()
    {
        _case = ShapeCase.Create(Shape);
        _onnxRuntime = new OnnxRuntimeRunner(
            OnnxGraphs.FeedForward(_case), Threads, new[] { ("x", _case.Q) }, ("y", _case.Output),
            new long[] { 1, _case.Shape.SequenceLength, _case.Shape.EmbeddingDim });
    }

    [GlobalCleanup]
    public void Cleanup() => _onnxRuntime?.Dispose();

    [Benchmark(Baseline = true)]
    public void Generic() => GenericKernels.FeedForward(_case.Shape, _case.Q, _case.W1, _case.B1, _case.W2, _case.B2, _case.Output, Threads);

    [Benchmark]
    public void Generated() => _case.GeneratedFeedForward(_case, Threads);

    [Benchmark]
    public void GeneratedPacked() => _case.GeneratedPackedFeedForward(_case, Threads);

    [Benchmark]
    public void OnnxRuntime() => _onnxRuntime!.Run();
}
