using System;
using System.Globalization;
using BenchmarkDotNet.Running;
using FixedShapeAttention.Benchmarks;

// Full run:  dotnet run -c Release --project bench/FixedShapeAttention.Benchmarks -- --filter '*'
// Quick run: dotnet run -c Release --project bench/FixedShapeAttention.Benchmarks -- --filter '*' --job short
// Same results as ONNX Runtime:  dotnet run -c Release --project bench/FixedShapeAttention.Benchmarks -- check
// FMA peak:  dotnet run -c Release --project bench/FixedShapeAttention.Benchmarks -- peak
if (args.Length == 1 && args[0] == "peak")
{
    var (perThread, allThreads, width) = FmaPeak.Value;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"FP32 FMA peak ({width}): {perThread:0.0} GFLOP/s on one thread, {allThreads:0.0} on {Environment.ProcessorCount}"));
    return;
}

if (args.Length == 1 && args[0] == "check")
{
    // The comparison is only fair if ONNX Runtime and the TensorPrimitives row loop compute the same function:
    // largest |difference| from the generated kernels per shape (the row loop on one thread and on two).
    foreach (string shape in new[] { "S0", "S1", "S2", "S3", "Odd" })
    {
        var c = ShapeCase.Create(shape);
        var rowLoop = new TensorPrimitivesKernels(c);
        long[] dims = { 1, c.Shape.SequenceLength, c.Shape.EmbeddingDim };
        var ours = new float[c.Output.Length];

        c.GeneratedAttention(c, -1);
        c.Output.CopyTo(ours, 0);
        using (var ort = new OnnxRuntimeRunner(OnnxGraphs.Attention(c), 2, new[] { ("q", c.Q), ("k", c.K), ("v", c.V) }, ("output", c.Output), dims))
        {
            ort.Run();
        }

        float attentionOnnx = MaxDifference(ours, c.Output);
        float attentionRowLoop = RowLoopDifference(ours, c.Output, rowLoop.Attention);

        c.GeneratedFeedForward(c, -1);
        c.Output.CopyTo(ours, 0);
        using (var ort = new OnnxRuntimeRunner(OnnxGraphs.FeedForward(c), 2, new[] { ("x", c.Q) }, ("y", c.Output), dims))
        {
            ort.Run();
        }

        float feedForwardOnnx = MaxDifference(ours, c.Output);
        float feedForwardRowLoop = RowLoopDifference(ours, c.Output, rowLoop.FeedForward);

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{shape}: max |generated − ONNX Runtime| attention {attentionOnnx:E2}, feed-forward {feedForwardOnnx:E2}; " +
            $"max |generated − TensorPrimitives| attention {attentionRowLoop:E2}, feed-forward {feedForwardRowLoop:E2}"));
    }

    return;
}

BenchmarkSwitcher.FromAssembly(typeof(FmaPeak).Assembly).Run(args);

// The larger difference of the row loop's output on one thread and on two threads from ours.
static float RowLoopDifference(float[] ours, float[] output, Action<int> rowLoop)
{
    float max = 0;
    foreach (int threads in new[] { 1, 2 })
    {
        Array.Fill(output, float.NaN);
        rowLoop(threads);
        max = MathF.Max(max, MaxDifference(ours, output));
    }

    return max;
}

static float MaxDifference(float[] a, float[] b)
{
    float max = 0;
    for (int i = 0; i < a.Length; i++)
    {
        max = MathF.Max(max, MathF.Abs(a[i] - b[i]));
    }

    return max;
}
