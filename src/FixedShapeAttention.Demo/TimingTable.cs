using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;

namespace FixedShapeAttention.Demo;

/// <summary>
/// A quick generated-vs-generic comparison, a few seconds in all. It is an indication, not a benchmark: the
/// figures worth quoting come from bench/ (BenchmarkDotNet), and are ratios measured in one run.
/// </summary>
internal static class TimingTable
{
    private delegate void Kernel();

    public static void Print()
    {
        Console.WriteLine("Generated vs generic kernels (median µs per call over ~0.15 s each, all cores; indicative only, see bench/):");
        Console.WriteLine($"{"shape",-26}{"kernel",-13}{"generated µs",14}{"generic µs",14}{"speed-up",10}{"GFLOP/s",10}");
        Row<WorkedExample>("WorkedExample (4,3,12)");
        Row<Small>("Small (32,64,256)");
        Row<MiniLm>("MiniLm (128,384,1536,12h)");
        Console.WriteLine();
    }

    private static void Row<T>(string label)
        where T : ITransformerKernels
    {
        TransformerShape shape = T.Shape;
        var random = new Random(42);
        float[] Data(int n, float scale) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1) * scale).ToArray();
        int n = shape.SequenceElements;
        float[] q = Data(n, 2), k = Data(n, 2), v = Data(n, 1), output = new float[n];
        float[] w1 = Data(shape.EmbeddingDim * shape.FfnDim, 0.05f), b1 = Data(shape.FfnDim, 0.1f);
        float[] w2 = Data(shape.FfnDim * shape.EmbeddingDim, 0.05f), b2 = Data(shape.EmbeddingDim, 0.1f);

        double attentionFlops = 4.0 * shape.SequenceLength * shape.SequenceLength * shape.EmbeddingDim;
        double ffnFlops = 4.0 * shape.SequenceLength * shape.EmbeddingDim * shape.FfnDim;
        Print(label, "Attention", attentionFlops,
            Measure(() => T.Attention(q, k, v, output)),
            Measure(() => GenericKernels.Attention(shape, q, k, v, output)));
        double genericFeedForward = Measure(() => GenericKernels.FeedForward(shape, q, w1, b1, w2, b2, output));
        Print("", "FeedForward", ffnFlops, Measure(() => T.FeedForward(q, w1, b1, w2, b2, output)), genericFeedForward);
        PackedFeedForwardWeights packed = T.PackFeedForward(w1, b1, w2, b2);
        Print("", "  prepacked", ffnFlops, Measure(() => T.FeedForward(q, packed, output)), genericFeedForward);
    }

    private static void Print(string label, string kernel, double flops, double generated, double generic) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{label,-26}{kernel,-13}{generated,14:0.00}{generic,14:0.00}{generic / generated,9:0.00}×{flops / generated / 1e3,10:0.0}"));

    /// <summary>Median µs per call of batches sized to take about 5 ms each.</summary>
    private static double Measure(Kernel kernel)
    {
        for (int i = 0; i < 3; i++)
        {
            kernel();
        }

        var stopwatch = Stopwatch.StartNew();
        int calls = 0;
        while (stopwatch.Elapsed.TotalMilliseconds < 5 || calls < 3)
        {
            kernel();
            calls++;
        }

        var samples = new List<double>();
        var total = Stopwatch.StartNew();
        while (total.Elapsed.TotalMilliseconds < 150)
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < calls; i++)
            {
                kernel();
            }

            samples.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds / calls);
        }

        samples.Sort();
        return samples[samples.Count / 2];
    }
}
