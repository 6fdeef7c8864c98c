using BenchmarkDotNet.Attributes;

namespace FixedShapeAttention.Benchmarks;

/// <summary>
/// What every kernel benchmark shares: the shape and thread parameters, the seeded case, the TensorPrimitives row-loop
/// engine over it, and an ONNX Runtime session over the same arrays, built by the derived class for its kernel.
/// </summary>
[Config(typeof(BenchmarkConfig))]
public abstract class KernelBenchmark
{
    private OnnxRuntimeRunner? _onnxRuntime;

    [Params("S0", "S1", "S2", "S3", "Odd")]
    public string Shape { get; set; } = "S0";

    [Params(1, 2)]
    public int Threads { get; set; }

    protected ShapeCase Case { get; private set; } = null!;

    /// <summary>The TensorPrimitives row-loop engine over <see cref="Case"/>.</summary>
    protected TensorPrimitivesKernels RowLoop { get; private set; } = null!;

    [GlobalSetup]
    public void Setup()
    {
        Case = ShapeCase.Create(Shape);
        RowLoop = new TensorPrimitivesKernels(Case);
        _onnxRuntime = CreateOnnxRuntime(Case, new long[] { 1, Case.Shape.SequenceLength, Case.Shape.EmbeddingDim });
    }

    [GlobalCleanup]
    public void Cleanup() => _onnxRuntime?.Dispose();

    [Benchmark]
    public void OnnxRuntime() => _onnxRuntime!.Run();

    /// <summary>The ONNX Runtime session computing the same kernel on <paramref name="shapeCase"/>'s arrays.</summary>
    protected abstract OnnxRuntimeRunner CreateOnnxRuntime(ShapeCase shapeCase, long[] dims);
}
