using System;
using System.Linq;
using FixedShapeAttention;
using Xunit;

namespace FixedShapeAttention.Tests;

/// <summary>
/// The two kernels an encoder layer adds to Attention and FeedForward: the projection y = x·W + b and attention with a
/// key-padding mask, through the generated and the generic kernels, against the float64 reference, in every ISA pass.
/// </summary>
public class EncoderBlockKernelTests
{
    public static TheoryData<string, string> ShapesAndEngines()
    {
        var data = new TheoryData<string, string>();
        foreach (string shape in Engines.ShapeNames.Where(name => name != nameof(BertBase)))
        {
            data.Add(shape, "Generated");
            data.Add(shape, "Generic");
        }

        return data;
    }

    public static TheoryData<string> Shapes() => new(Engines.ShapeNames.Where(name => name != nameof(BertBase)));

    private static (float[] X, float[] W, float[] B) ProjectionInputs(TransformerShape shape, int batch, int seed) => (
        TestData.Uniform(batch * shape.SequenceElements, seed),
        TestData.Uniform(shape.EmbeddingDim * shape.EmbeddingDim, seed + 1, (float)Math.Sqrt(3.0 / shape.EmbeddingDim)),
        TestData.Uniform(shape.EmbeddingDim, seed + 2, 0.1f));

    /// <summary>Visible keys per sequence of a batch of three: all, about half, and one.</summary>
    private static int[] KeyCounts(TransformerShape shape) => new[] { shape.SequenceLength, (shape.SequenceLength + 1) / 2, 1 };

    [Theory]
    [MemberData(nameof(ShapesAndEngines))]
    public void Projection_agrees_with_the_float64_reference(string shapeName, string engineName)
    {
        TransformerShape shape = Engines.ShapeOf(shapeName);
        const int batch = 2;
        var (x, w, b) = ProjectionInputs(shape, batch, seed: shapeName.Length * 7);
        var y = new float[x.Length];
        Engines.Projection(shapeName, engineName)(x, w, b, y, -1);

        for (int sequence = 0; sequence < batch; sequence++)
        {
            foreach (int row in Reference.SampleRows(shape.SequenceLength))
            {
                int globalRow = sequence * shape.SequenceLength + row;
                double[] expected = Reference.ProjectionRow(shape.EmbeddingDim, x, w, b, globalRow);
                KernelAgreementTests.AssertRow(expected, y, globalRow * shape.EmbeddingDim, Tolerances.FeedForwardAbsolute, Tolerances.FeedForwardRelative, $"{shapeName}/{engineName} projection, sequence {sequence}, row {row}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Packed_projection_is_bit_identical_to_raw_spans_on_one_and_all_threads(string shapeName)
    {
        TransformerShape shape = Engines.ShapeOf(shapeName);
        var (x, w, b) = ProjectionInputs(shape, 3, seed: 99);
        var raw = new float[x.Length];
        var packed = new float[x.Length];
        var packedSingle = new float[x.Length];
        Engines.Projection(shapeName, "Generated")(x, w, b, raw, -1);
        PackedProjectionWeights weights = Engines.PackProjection(shapeName, w, b);
        Engines.PackedProjection(shapeName)(x, weights, packed, -1);
        Engines.PackedProjection(shapeName)(x, weights, packedSingle, 1);

        Assert.Equal(raw, packed);
        Assert.Equal(raw, packedSingle);
        Assert.Equal(shape.EmbeddingDim, weights.EmbeddingDim);
    }

    [Theory]
    [MemberData(nameof(ShapesAndEngines))]
    public void Masked_attention_agrees_with_the_float64_reference(string shapeName, string engineName)
    {
        TransformerShape shape = Engines.ShapeOf(shapeName);
        int[] counts = KeyCounts(shape);
        var inputs = TestData.Attention(shape, counts.Length, seed: shapeName.Length * 13);
        var output = new float[inputs.Q.Length];
        Engines.MaskedAttention(shapeName, engineName)(inputs.Q, inputs.K, inputs.V, counts, output, -1);

        for (int sequence = 0; sequence < counts.Length; sequence++)
        {
            foreach (int row in Reference.SampleRows(shape.SequenceLength))
            {
                double[] expected = Reference.AttentionRow(shape, inputs.Q, inputs.K, inputs.V, sequence, row, counts[sequence]);
                KernelAgreementTests.AssertRow(expected, output, (sequence * shape.SequenceLength + row) * shape.EmbeddingDim, Tolerances.AttentionAbsolute, Tolerances.AttentionRelative,
                    $"{shapeName}/{engineName} masked attention, sequence {sequence} ({counts[sequence]} keys), row {row}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(ShapesAndEngines))]
    public void Masked_attention_with_every_key_visible_is_bit_identical_to_the_unmasked_call(string shapeName, string engineName)
    {
        TransformerShape shape = Engines.ShapeOf(shapeName);
        var inputs = TestData.Attention(shape, 2, seed: 5);
        var masked = new float[inputs.Q.Length];
        var unmasked = new float[inputs.Q.Length];
        Engines.MaskedAttention(shapeName, engineName)(inputs.Q, inputs.K, inputs.V, new[] { shape.SequenceLength, shape.SequenceLength }, masked, -1);
        Engines.Get(shapeName, engineName).Attention(inputs.Q, inputs.K, inputs.V, unmasked, -1);

        Assert.Equal(unmasked, masked);
    }

    [Theory]
    [MemberData(nameof(ShapesAndEngines))]
    public void Masked_keys_do_not_change_the_result_whatever_their_values(string shapeName, string engineName)
    {
        TransformerShape shape = Engines.ShapeOf(shapeName);
        int[] counts = KeyCounts(shape);
        var inputs = TestData.Attention(shape, counts.Length, seed: 21);
        var before = new float[inputs.Q.Length];
        Engines.MaskedAttention(shapeName, engineName)(inputs.Q, inputs.K, inputs.V, counts, before, -1);

        // Large finite keys and values in the padding: a mask applied after the exp, or a key count read from the
        // wrong sequence, would let them through.
        var random = new Random(3);
        for (int sequence = 0; sequence < counts.Length; sequence++)
        {
            for (int key = counts[sequence]; key < shape.SequenceLength; key++)
            {
                for (int c = 0; c < shape.EmbeddingDim; c++)
                {
                    int at = (sequence * shape.SequenceLength + key) * shape.EmbeddingDim + c;
                    inputs.K[at] = (float)(random.NextDouble() * 2e4 - 1e4);
                    inputs.V[at] = (float)(random.NextDouble() * 2e4 - 1e4);
                }
            }
        }

        var after = new float[inputs.Q.Length];
        Engines.MaskedAttention(shapeName, engineName)(inputs.Q, inputs.K, inputs.V, counts, after, -1);
        Assert.Equal(before, after);
    }

    [Theory]
    [InlineData("Generated")]
    [InlineData("Generic")]
    public void A_sequence_with_no_visible_key_gets_zeros_not_NaN(string engineName)
    {
        TransformerShape shape = Engines.ShapeOf(nameof(ThreeHeads));
        var inputs = TestData.Attention(shape, 2, seed: 8);
        var output = Enumerable.Repeat(float.NaN, inputs.Q.Length).ToArray();
        Engines.MaskedAttention(nameof(ThreeHeads), engineName)(inputs.Q, inputs.K, inputs.V, new[] { 0, shape.SequenceLength }, output, -1);

        Assert.All(output.Take(shape.SequenceElements), value => Assert.Equal(0f, value));
        Assert.All(output.Skip(shape.SequenceElements), value => Assert.True(float.IsFinite(value)));
    }

    [Theory]
    [InlineData(new[] { 9 }, "keyCounts: expected 2 (one count per sequence of the batch), got 1.")]
    [InlineData(new[] { 9, 9, 9 }, "keyCounts: expected 2 (one count per sequence of the batch), got 3.")]
    [InlineData(new[] { 9, 10 }, "keyCounts[1]: expected a count in [0, 9] (SequenceLength), got 10.")]
    [InlineData(new[] { -1, 9 }, "keyCounts[0]: expected a count in [0, 9] (SequenceLength), got -1.")]
    public void Bad_key_counts_are_rejected_before_any_write(int[] counts, string message)
    {
        TransformerShape shape = ThreeHeads.Shape;
        var inputs = TestData.Attention(shape, 2, seed: 1);
        foreach (string engine in new[] { "Generated", "Generic" })
        {
            var output = Enumerable.Repeat(7f, inputs.Q.Length).ToArray();
            var ex = Assert.Throws<ArgumentException>(() => Engines.MaskedAttention(nameof(ThreeHeads), engine)(inputs.Q, inputs.K, inputs.V, counts, output, -1));
            Assert.StartsWith(message, ex.Message, StringComparison.Ordinal);
            Assert.Equal("keyCounts", ex.ParamName);
            Assert.All(output, value => Assert.Equal(7f, value));
        }
    }

    [Fact]
    public void Bad_projection_arguments_are_rejected_before_any_write()
    {
        TransformerShape shape = ThreeHeads.Shape;
        var (x, w, b) = ProjectionInputs(shape, 1, seed: 4);
        var y = Enumerable.Repeat(7f, x.Length).ToArray();

        var wrongWeight = Assert.Throws<ArgumentException>(() => ThreeHeads.Project(x, w.AsSpan(1), b, y));
        Assert.StartsWith("w: expected 576 = 24×24 (EmbeddingDim×EmbeddingDim), got 575.", wrongWeight.Message, StringComparison.Ordinal);
        var wrongBias = Assert.Throws<ArgumentException>(() => ThreeHeads.PackProjection(w, b.AsSpan(1)));
        Assert.StartsWith("b: expected 24 = EmbeddingDim, got 23.", wrongBias.Message, StringComparison.Ordinal);
        var overlap = Assert.Throws<ArgumentException>(() => ThreeHeads.Project(y, w, b, y));
        Assert.Equal("y", overlap.ParamName);

        // Weights packed for another width are refused, not misread.
        PackedProjectionWeights other = Odd.PackProjection(new float[13 * 13], new float[13]);
        var mismatch = Assert.Throws<ArgumentException>(() => ThreeHeads.Project(x, other, y));
        Assert.Contains("packed for EmbeddingDim 13", mismatch.Message, StringComparison.Ordinal);
        Assert.All(y, value => Assert.Equal(7f, value));
    }
}
