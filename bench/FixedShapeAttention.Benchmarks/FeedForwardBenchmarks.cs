using BenchmarkDotNet.Attributes;

namespace FixedShapeAttention.Benchmarks;

/// <summary>
/// Feed-forward network: the generated kernel (raw weight spans, and prepacked weights) against the generic
/// runtime-shape kernel (the baseline), a TensorPrimitives row loop and ONNX Runtime, 1 and 2 threads.
/// </summary>
public class FeedForwardBenchmarks : KernelBenchmark
{
    [Benchmark(Baseline = true)]
    public void Generic() => GenericKernels.FeedForward(Case.Shape, Case.Q, Case.W1, Case.B1, Case.W2, Case.B2, Case.Output, Threads);

    [Benchmark]
    public void Generated() => Case.GeneratedFeedForward(Case, Threads);

    [Benchmark]
    public void GeneratedPacked() => Case.GeneratedPackedFeedForward(Case, Threads);

    [Benchmark]
    public void TensorPrimitives() => RowLoop.FeedForward(Threads);

    protected override OnnxRuntimeRunner CreateOnnxRuntime(ShapeCase shapeCase, long[] dims) =>
        new(OnnxGraphs.FeedForward(shapeCase), Threads, new[] { ("x", shapeCase.Q) }, ("y", shapeCase.Output), dims);
}
