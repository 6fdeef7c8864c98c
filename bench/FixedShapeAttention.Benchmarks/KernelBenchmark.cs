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
    private OnnxRuntimeRunner? _onnxRuntimeStandardOps;

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
        long[] dims = { 1, Case.Shape.SequenceLength, Case.Shape.EmbeddingDim };
        _onnxRuntime = CreateOnnxRuntime(Case, dims);
        _onnxRuntimeStandardOps = CreateOnnxRuntimeStandardOps(Case, dims);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _onnxRuntime?.Dispose();
        _onnxRuntimeStandardOps?.Dispose();
    }

    [Benchmark]
    public void OnnxRuntime() => _onnxRuntime!.Run();

    /// <summary>The ONNX Runtime session computing the same kernel on <paramref name="shapeCase"/>'s arrays.</summary>
    protected abstract OnnxRuntimeRunner CreateOnnxRuntime(ShapeCase shapeCase, long[] dims);

    /// <summary>A second ONNX Runtime session for kernels that have a standard-operator graph besides a fused one.</summary>
    protected virtual OnnxRuntimeRunner? CreateOnnxRuntimeStandardOps(ShapeCase shapeCase, long[] dims) => null;

    /// <summary>Runs the session from <see cref="CreateOnnxRuntimeStandardOps"/>.</summary>
    protected void RunOnnxRuntimeStandardOps() => _onnxRuntimeStandardOps!.Run();
}
