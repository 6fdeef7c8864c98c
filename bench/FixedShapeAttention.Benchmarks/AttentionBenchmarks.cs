using BenchmarkDotNet.Attributes;

namespace FixedShapeAttention.Benchmarks;

/// <summary>Attention: the generated kernel against the generic runtime-shape kernel (the baseline), 1 and 2 threads.</summary>
[Config(typeof(BenchmarkConfig))]
public class AttentionBenchmarks
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
            OnnxGraphs.Attention(_case), Threads, new[] { ("q", _case.Q), ("k", _case.K), ("v", _case.V) }, ("output", _case.Output),
            new long[] { 1, _case.Shape.SequenceLength, _case.Shape.EmbeddingDim });
    }

    [GlobalCleanup]
    public void Cleanup() => _onnxRuntime?.Dispose();

    [Benchmark(Baseline = true)]
    public void Generic() => GenericKernels.Attention(_case.Shape, _case.Q, _case.K, _case.V, _case.Output, Threads);

    [Benchmark]
    public void Generated() => _case.GeneratedAttention(_case, Threads);

    [Benchmark]
    public void OnnxRuntime() => _onnxRuntime!.Run();
}
