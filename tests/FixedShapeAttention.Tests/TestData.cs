using System;
using FixedShapeAttention;

namespace FixedShapeAttention.Tests;

/// <summary>Seeded inputs whose products keep Σ|aᵢbᵢ| near 1 (see <see cref="Tolerances"/>).</summary>
internal static class TestData
{
    public static float[] Uniform(int length, int seed, float scale = 1f)
    {
        var random = new Random(seed);
        var data = new float[length];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (float)(random.NextDouble() * 2 - 1) * scale;
        }

        return data;
    }

    public sealed record AttentionInputs(float[] Q, float[] K, float[] V);

    public sealed record FeedForwardInputs(float[] X, float[] W1, float[] B1, float[] W2, float[] B2);

    public static AttentionInputs Attention(TransformerShape shape, int batch, int seed)
    {
        int length = batch * shape.SequenceElements;
        // q, k uniform in [−2, 2] have variance 4/3, so a scaled score q·k/√d has standard deviation 4/3 whatever
        // d is: softmax rows that are neither flat nor one-hot.
        return new AttentionInputs(Uniform(length, seed, 2f), Uniform(length, seed + 1, 2f), Uniform(length, seed + 2));
    }

    public static FeedForwardInputs FeedForward(TransformerShape shape, int batch, int seed) => new(
        Uniform(batch * shape.SequenceElements, seed),
        Uniform(shape.EmbeddingDim * shape.FfnDim, seed + 1, (float)(Math.Sqrt(3.0 / shape.EmbeddingDim))),
        Uniform(shape.FfnDim, seed + 2, 0.1f),
        Uniform(shape.FfnDim * shape.EmbeddingDim, seed + 3, (float)(Math.Sqrt(3.0 / shape.FfnDim))),
        Uniform(shape.EmbeddingDim, seed + 4, 0.1f));
}
