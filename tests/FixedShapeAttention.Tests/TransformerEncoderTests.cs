using System;
using System.Linq;
using FixedShapeAttention;
using Xunit;
using FixedShapeAttention.Encoder;

namespace FixedShapeAttention.Tests;

/// <summary>
/// TransformerEncoder against the float64 <see cref="ReferenceEncoder"/>: post-norm and pre-norm stacks, padded
/// batches, causal shapes, every activation, in every ISA pass.
/// </summary>
public class TransformerEncoderTests
{
    /// <summary>
    /// LayerNorm rescales each row to unit variance, so a float32 error of a few ulp in the sum before it becomes
    /// ~1e-6 absolute after it, and layers compound it. Measured on these cases (2026-11-24, every ISA pass): the
    /// largest error was 4.6e-6 (MiniLm shape, depth-1536 FFN, Vector128-only and scalar passes; 3.4e-6 with
    /// Vector512/256, at most 1.9e-6 on the smaller shapes). 2e-5 keeps a 4× margin, while a wrong mask, a missing
    /// bias or a swapped residual is off by 1e-2 or more.
    /// </summary>
    private const double Tolerance = 2e-5;

    public static TheoryData<string, LayerNormPlacement> Cases()
    {
        var data = new TheoryData<string, LayerNormPlacement>();
        foreach (string shape in new[] { nameof(ThreeHeads), nameof(Odd), nameof(CausalGelu), nameof(Medium), nameof(GeluTanhShape), nameof(HeadDimOne) })
        {
            data.Add(shape, LayerNormPlacement.PostNorm);
            data.Add(shape, LayerNormPlacement.PreNorm);
        }

        data.Add(nameof(MiniLm), LayerNormPlacement.PostNorm);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Forward_agrees_with_the_float64_reference_on_every_real_token(string shapeName, LayerNormPlacement placement)
    {
        var setup = EncoderSetup.For(shapeName, layers: shapeName == nameof(MiniLm) ? 1 : 2, placement, seed: shapeName.Length);
        TransformerShape shape = setup.Shape;
        int s = shape.SequenceLength, e = shape.EmbeddingDim;
        int[] counts = shapeName == nameof(MiniLm) ? new[] { s, 37 } : new[] { s, (s + 1) / 2, 1 };
        float[] input = TestData.Uniform(counts.Length * shape.SequenceElements, seed: 11, scale: 2f);
        var output = new float[input.Length];

        setup.Encoder.Forward(input, counts, output);
        double[] expected = ReferenceEncoder.Forward(shape, setup.Parameters, placement, 1e-5, input, counts);

        for (int sequence = 0; sequence < counts.Length; sequence++)
        {
            for (int token = 0; token < counts[sequence]; token++)
            {
                int at = (sequence * s + token) * e;
                KernelAgreementTests.AssertRow(expected.AsSpan(at, e).ToArray(), output, at, Tolerance, 0, $"{shapeName} {placement}, sequence {sequence} ({counts[sequence]} tokens), token {token}");
            }
        }
    }

    [Theory]
    [InlineData(nameof(ThreeHeads))]
    [InlineData(nameof(MiniLm))]
    public void Results_do_not_depend_on_threads_batch_neighbours_or_padding_values(string shapeName)
    {
        var setup = EncoderSetup.For(shapeName, layers: 2, LayerNormPlacement.PostNorm, seed: 2);
        TransformerShape shape = setup.Shape;
        int s = shape.SequenceLength;
        int[] counts = { s, s / 2 + 1 };
        float[] input = TestData.Uniform(2 * shape.SequenceElements, seed: 5);
        var parallel = new float[input.Length];
        var single = new float[input.Length];
        setup.Encoder.Forward(input, counts, parallel, -1);
        setup.Encoder.Forward(input, counts, single, 1);
        Assert.Equal(single, parallel);

        // The second sequence alone, with different values in its padding, gives the same real tokens.
        float[] second = input.AsSpan(shape.SequenceElements).ToArray();
        for (int i = counts[1] * shape.EmbeddingDim; i < second.Length; i++)
        {
            second[i] = 3f;
        }

        var alone = new float[second.Length];
        setup.Encoder.Forward(second, new[] { counts[1] }, alone);
        int real = counts[1] * shape.EmbeddingDim;
        Assert.Equal(parallel.AsSpan(shape.SequenceElements, real).ToArray(), alone.AsSpan(0, real).ToArray());
    }

    [Fact]
    public void Invalid_calls_are_rejected_before_any_write()
    {
        var setup = EncoderSetup.For(nameof(ThreeHeads), layers: 1, LayerNormPlacement.PostNorm, seed: 1);
        int n = setup.Shape.SequenceElements;
        float[] input = TestData.Uniform(2 * n, seed: 1);
        var output = Enumerable.Repeat(7f, 2 * n).ToArray();

        Assert.Equal("tokenCounts", Assert.Throws<ArgumentException>(() => setup.Encoder.Forward(input, new[] { 9 }, output)).ParamName);
        Assert.Equal("tokenCounts", Assert.Throws<ArgumentException>(() => setup.Encoder.Forward(input, new[] { 9, 10 }, output)).ParamName);
        Assert.Equal("input", Assert.Throws<ArgumentException>(() => setup.Encoder.Forward(input.AsSpan(1), new[] { 9, 9 }, output)).ParamName);
        Assert.Equal("output", Assert.Throws<ArgumentException>(() => setup.Encoder.Forward(input, new[] { 9, 9 }, output.AsSpan(1))).ParamName);
        Assert.Equal("output", Assert.Throws<ArgumentException>(() => setup.Encoder.Forward(output, new[] { 9, 9 }, output)).ParamName);
        Assert.All(output, value => Assert.Equal(7f, value));
    }

    [Fact]
    public void Layers_packed_for_other_dimensions_are_refused()
    {
        var other = EncoderSetup.For(nameof(Medium), layers: 1, LayerNormPlacement.PostNorm, seed: 1);
        var ex = Assert.Throws<ArgumentException>(() => new TransformerEncoder<ThreeHeads>(other.Layers));
        Assert.Contains("packed for EmbeddingDim 96 and FfnDim 200, but ThreeHeads declares EmbeddingDim 24 and FfnDim 40", ex.Message, StringComparison.Ordinal);

        EncoderLayerParameters parameters = EncoderSetup.RandomLayer(ThreeHeads.Shape, new Random(1));
        var wrong = new EncoderLayerParameters
        {
            QueryWeight = parameters.QueryWeight, QueryBias = parameters.QueryBias, KeyWeight = parameters.KeyWeight, KeyBias = parameters.KeyBias,
            ValueWeight = parameters.ValueWeight.AsSpan(1).ToArray(), ValueBias = parameters.ValueBias, OutputWeight = parameters.OutputWeight, OutputBias = parameters.OutputBias,
            AttentionNormGamma = parameters.AttentionNormGamma, AttentionNormBeta = parameters.AttentionNormBeta,
            FeedForwardWeight1 = parameters.FeedForwardWeight1, FeedForwardBias1 = parameters.FeedForwardBias1,
            FeedForwardWeight2 = parameters.FeedForwardWeight2, FeedForwardBias2 = parameters.FeedForwardBias2,
            FeedForwardNormGamma = parameters.FeedForwardNormGamma, FeedForwardNormBeta = parameters.FeedForwardNormBeta,
        };
        var packError = Assert.Throws<ArgumentException>(() => EncoderLayerWeights.Pack<ThreeHeads>(wrong));
        Assert.StartsWith("Value projection: w: expected 576 = 24×24 (EmbeddingDim×EmbeddingDim), got 575.", packError.Message, StringComparison.Ordinal);
    }
}
