using System;
using FixedShapeAttention;

namespace FixedShapeAttention.Benchmarks;

/// <summary>One benchmarked shape: its seeded inputs and its generated kernels, reached through ITransformerKernels.</summary>
public sealed class ShapeCase
{
    private ShapeCase(string name, TransformerShape shape, Action<ShapeCase, int> attention, Action<ShapeCase, int> feedForward,
        Action<ShapeCase, int> packedFeedForward, Func<ShapeCase, PackedFeedForwardWeights> pack)
    {
        GeneratedPackedFeedForward = packedFeedForward;
        Name = name;
        Shape = shape;
        GeneratedAttention = attention;
        GeneratedFeedForward = feedForward;
        var random = new Random(20261124);
        float[] Data(int n, double scale)
        {
            var data = new float[n];
            for (int i = 0; i < n; i++)
            {
                data[i] = (float)((random.NextDouble() * 2 - 1) * scale);
            }

            return data;
        }

        int elements = shape.SequenceElements;
        Q = Data(elements, 2);
        K = Data(elements, 2);
        V = Data(elements, 1);
        Output = new float[elements];
        W1 = Data(shape.EmbeddingDim * shape.FfnDim, Math.Sqrt(3.0 / shape.EmbeddingDim));
        B1 = Data(shape.FfnDim, 0.1);
        W2 = Data(shape.FfnDim * shape.EmbeddingDim, Math.Sqrt(3.0 / shape.FfnDim));
        B2 = Data(shape.EmbeddingDim, 0.1);
        Packed = pack(this);
    }

    public string Name { get; }

    public TransformerShape Shape { get; }

    public float[] Q { get; }

    public float[] K { get; }

    public float[] V { get; }

    public float[] Output { get; }

    public float[] W1 { get; }

    public float[] B1 { get; }

    public float[] W2 { get; }

    public float[] B2 { get; }

    public Action<ShapeCase, int> GeneratedAttention { get; }

    public Action<ShapeCase, int> GeneratedFeedForward { get; }

    public Action<ShapeCase, int> GeneratedPackedFeedForward { get; }

    /// <summary>W1, b1, W2, b2 packed once by the shape's generated PackFeedForward.</summary>
    public PackedFeedForwardWeights Packed { get; }

    public double AttentionFlops => AttentionFlopsOf(Shape);

    public double FeedForwardFlops => FeedForwardFlopsOf(Shape);

    /// <summary>Q·Kᵀ and P·V, 2·seq²·dim each.</summary>
    public static double AttentionFlopsOf(TransformerShape shape) => 4.0 * shape.SequenceLength * shape.SequenceLength * shape.EmbeddingDim;

    /// <summary>x·W1 and h·W2, 2·seq·dim·ffn each.</summary>
    public static double FeedForwardFlopsOf(TransformerShape shape) => 4.0 * shape.SequenceLength * shape.EmbeddingDim * shape.FfnDim;

    /// <summary>The declared shape of a benchmarked class, without building its data.</summary>
    public static TransformerShape ShapeOf(string name) => name switch
    {
        nameof(S0) => S0.Shape,
        nameof(S1) => S1.Shape,
        nameof(S2) => S2.Shape,
        nameof(S3) => S3.Shape,
        nameof(Odd) => Odd.Shape,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "Unknown shape."),
    };

    public static ShapeCase Create(string name) => name switch
    {
        nameof(S0) => For<S0>(name),
        nameof(S1) => For<S1>(name),
        nameof(S2) => For<S2>(name),
        nameof(S3) => For<S3>(name),
        nameof(Odd) => For<Odd>(name),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "Unknown shape."),
    };

    private static ShapeCase For<T>(string name)
        where T : ITransformerKernels => new(
            name,
            T.Shape,
            static (c, threads) => T.Attention(c.Q, c.K, c.V, c.Output, threads),
            static (c, threads) => T.FeedForward(c.Q, c.W1, c.B1, c.W2, c.B2, c.Output, threads),
            static (c, threads) => T.FeedForward(c.Q, c.Packed, c.Output, threads),
            static c => T.PackFeedForward(c.W1, c.B1, c.W2, c.B2));
}
