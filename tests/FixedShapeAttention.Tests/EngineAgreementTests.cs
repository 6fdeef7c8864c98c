using System;
using System.Linq;
using FixedShapeAttention;
using Xunit;

namespace FixedShapeAttention.Tests;

/// <summary>
/// The generic kernels and the generated ones are two drivers of one algorithm, so they are held to each other
/// directly, not only each to the float64 reference: every shape, attention (plain, causal where the shape is, and
/// masked with 0, all and random key counts), the feed-forward network (every activation, through the shapes) and the
/// projection, compared element by element within <see cref="Tolerances.EngineUlps"/>.
/// </summary>
public class EngineAgreementTests
{
    public static TheoryData<string> Shapes() => new(Engines.ShapeNames);

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Attention_is_the_same_in_both_engines(string shapeName)
    {
        TransformerShape shape = Engines.ShapeOf(shapeName);
        int batch = Batch(shapeName);
        var inputs = TestData.Attention(shape, batch, seed: shapeName.Length * 13);
        var generated = new float[inputs.Q.Length];
        var generic = new float[inputs.Q.Length];
        Engines.Get(shapeName, "Generated").Attention(inputs.Q, inputs.K, inputs.V, generated, -1);
        Engines.Get(shapeName, "Generic").Attention(inputs.Q, inputs.K, inputs.V, generic, -1);
        AssertWithinEngineUlps(generated, generic, shape, $"{shapeName} attention{(shape.Causal ? " (causal)" : "")}");
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Masked_attention_is_the_same_in_both_engines(string shapeName)
    {
        TransformerShape shape = Engines.ShapeOf(shapeName);
        var random = new Random(shapeName.Length * 29);
        // No key, every key, and random counts: whole rows of -inf, no mask at all, and every boundary between.
        int[] keyCounts = new[] { 0, shape.SequenceLength }.Concat(Enumerable.Range(0, Batch(shapeName)).Select(_ => random.Next(shape.SequenceLength + 1))).ToArray();
        var inputs = TestData.Attention(shape, keyCounts.Length, seed: shapeName.Length * 19);
        var generated = new float[inputs.Q.Length];
        var generic = new float[inputs.Q.Length];
        Engines.MaskedAttention(shapeName, "Generated")(inputs.Q, inputs.K, inputs.V, keyCounts, generated, -1);
        Engines.MaskedAttention(shapeName, "Generic")(inputs.Q, inputs.K, inputs.V, keyCounts, generic, -1);
        AssertWithinEngineUlps(generated, generic, shape, $"{shapeName} masked attention, key counts [{string.Join(", ", keyCounts)}]");
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void FeedForward_is_the_same_in_both_engines(string shapeName)
    {
        TransformerShape shape = Engines.ShapeOf(shapeName);
        var inputs = TestData.FeedForward(shape, Batch(shapeName), seed: shapeName.Length * 23);
        var generated = new float[inputs.X.Length];
        var generic = new float[inputs.X.Length];
        Engines.Get(shapeName, "Generated").FeedForward(inputs.X, inputs.W1, inputs.B1, inputs.W2, inputs.B2, generated, -1);
        Engines.Get(shapeName, "Generic").FeedForward(inputs.X, inputs.W1, inputs.B1, inputs.W2, inputs.B2, generic, -1);
        AssertWithinEngineUlps(generated, generic, shape, $"{shapeName} feed-forward ({shape.Activation})");
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Projection_is_the_same_in_both_engines(string shapeName)
    {
        TransformerShape shape = Engines.ShapeOf(shapeName);
        int batch = Batch(shapeName), seed = shapeName.Length * 31;
        float[] x = TestData.Uniform(batch * shape.SequenceElements, seed);
        float[] w = TestData.Uniform(shape.EmbeddingDim * shape.EmbeddingDim, seed + 1, (float)Math.Sqrt(3.0 / shape.EmbeddingDim));
        float[] b = TestData.Uniform(shape.EmbeddingDim, seed + 2, 0.1f);
        var generated = new float[x.Length];
        var generic = new float[x.Length];
        Engines.Projection(shapeName, "Generated")(x, w, b, generated, -1);
        Engines.Projection(shapeName, "Generic")(x, w, b, generic, -1);
        AssertWithinEngineUlps(generated, generic, shape, $"{shapeName} projection");
    }

    [Fact]
    public void Ulp_distance_counts_representable_floats_between_two_values()
    {
        Assert.Equal(0, Tolerances.UlpDistance(1f, 1f));
        Assert.Equal(1, Tolerances.UlpDistance(1f, MathF.BitIncrement(1f)));
        Assert.Equal(2, Tolerances.UlpDistance(MathF.BitDecrement(0f), MathF.BitIncrement(0f)));
        Assert.Equal(0, Tolerances.UlpDistance(0f, -0f));
        Assert.Equal(0, Tolerances.UlpDistance(float.NaN, float.NaN));
        Assert.Equal(long.MaxValue, Tolerances.UlpDistance(float.NaN, 1f));
        Assert.Equal(long.MaxValue, Tolerances.UlpDistance(1f, float.NaN));
    }

    /// <summary>Three sequences where that stays cheap; BERT-base's layer at one.</summary>
    private static int Batch(string shapeName) => Engines.IsSmall(shapeName) || shapeName == nameof(MiniLm) ? 3 : 1;

    private static void AssertWithinEngineUlps(float[] generated, float[] generic, TransformerShape shape, string what)
    {
        long worst = 0;
        int worstIndex = -1;
        for (int i = 0; i < generated.Length; i++)
        {
            long distance = Tolerances.UlpDistance(generated[i], generic[i]);
            if (distance > worst)
            {
                (worst, worstIndex) = (distance, i);
            }
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"{what}: largest difference {worst} ulp over {generated.Length} outputs");
        if (worst > Tolerances.EngineUlps)
        {
            int row = worstIndex / shape.EmbeddingDim, column = worstIndex % shape.EmbeddingDim;
            Assert.Fail(
                $"{what}: output row {row} (sequence {row / shape.SequenceLength}), column {column} is {generated[worstIndex]:R} generated but " +
                $"{generic[worstIndex]:R} generic, {worst} ulp apart; the engines may differ by {Tolerances.EngineUlps}.");
        }
    }
}
