using BenchmarkDotNet.Attributes;

namespace FixedShapeAttention.Benchmarks;

/// <summary>Attention: the generated kernel against the generic runtime-shape kernel (the baseline), a TensorPrimitives row loop and ONNX Runtime (fused MultiHeadAttention, and the standard-op graph), 1 and 2 threads.</summary>
public class AttentionBenchmarks : KernelBenchmark
{
    [Benchmark(Baseline = true)]
    public void Generic() => GenericKernels.Attention(Case.Shape, Case.Q, Case.K, Case.V, Case.Output, Threads);

    [Benchmark]
    public void Generated() => Case.GeneratedAttention(Case, Threads);

    [Benchmark]
    public void TensorPrimitives() => RowLoop.Attention(Threads);

    [Benchmark]
    public void OnnxRuntimeStandardOps() => RunOnnxRuntimeStandardOps();

    protected override OnnxRuntimeRunner CreateOnnxRuntime(ShapeCase shapeCase, long[] dims) =>
        new(OnnxGraphs.Attention(shapeCase), Threads, new[] { ("q", shapeCase.Q), ("k", shapeCase.K), ("v", shapeCase.V) }, ("output", shapeCase.Output), dims);

    protected override OnnxRuntimeRunner CreateOnnxRuntimeStandardOps(ShapeCase shapeCase, long[] dims) =>
        new(OnnxGraphs.AttentionStandardOps(shapeCase), Threads, new[] { ("q", shapeCase.Q), ("k", shapeCase.K), ("v", shapeCase.V) }, ("output", shapeCase.Output), dims);
}
