using Microsoft.ML.OnnxRuntime;
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

    /// <summary>ONNX Runtime with the weights bound as inputs at run time: the peer of <see cref="Generated"/>, which also
    /// gets them as plain arrays (<see cref="KernelBenchmark.OnnxRuntime"/> has them as initializers, prepacked when the
    /// session is created: the peer of <see cref="GeneratedPacked"/>).</summary>
    [Benchmark]
    public void OnnxRuntimeWeightsAsInputs() => RunOnnxRuntimeStandardOps();

    protected override OnnxRuntimeRunner CreateOnnxRuntimeStandardOps(ShapeCase shapeCase, long[] dims)
    {
        int e = shapeCase.Shape.EmbeddingDim, f = shapeCase.Shape.FfnDim;
        (string, OrtValue)[] inputs =
        {
            ("x", OrtValue.CreateTensorValueFromMemory(shapeCase.Q, dims)),
            ("w1", OrtValue.CreateTensorValueFromMemory(shapeCase.W1, new long[] { e, f })),
            ("b1", OrtValue.CreateTensorValueFromMemory(shapeCase.B1, new long[] { f })),
            ("w2", OrtValue.CreateTensorValueFromMemory(shapeCase.W2, new long[] { f, e })),
            ("b2", OrtValue.CreateTensorValueFromMemory(shapeCase.B2, new long[] { e })),
        };
        return new(OnnxGraphs.FeedForwardWeightsAsInputs(shapeCase), Threads, inputs, ("y", OrtValue.CreateTensorValueFromMemory(shapeCase.Output, dims)));
    }

    protected override OnnxRuntimeRunner CreateOnnxRuntime(ShapeCase shapeCase, long[] dims) =>
        new(OnnxGraphs.FeedForward(shapeCase), Threads, new[] { ("x", shapeCase.Q) }, ("y", shapeCase.Output), dims);
}
