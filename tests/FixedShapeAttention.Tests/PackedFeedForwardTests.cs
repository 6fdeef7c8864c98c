using System;
using System.Linq;
using FixedShapeAttention;
using Xunit;

namespace FixedShapeAttention.Tests;

/// <summary>
/// The prepacked feed-forward overload runs the same multiply-adds in the same order as the raw-span one, only
/// reading B from a different place, so its output must be bit-identical, not merely close.
/// </summary>
public class PackedFeedForwardTests
{
    public static TheoryData<string> Shapes() => new(Engines.ShapeNames);

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Packed_weights_give_the_same_bits_as_raw_spans(string shapeName)
    {
        TransformerShape shape = Engines.ShapeOf(shapeName);
        int batch = Engines.IsSmall(shapeName) ? 3 : 1;
        var inputs = TestData.FeedForward(shape, batch, seed: 77);
        var raw = new float[inputs.X.Length];
        Engines.Get(shapeName, "Generated").FeedForward(inputs.X, inputs.W1, inputs.B1, inputs.W2, inputs.B2, raw, -1);

        PackedFeedForwardWeights weights = Engines.Pack(shapeName, inputs.W1, inputs.B1, inputs.W2, inputs.B2);
        Assert.Equal((shape.EmbeddingDim, shape.FfnDim), (weights.EmbeddingDim, weights.FfnDim));
        foreach (int dop in new[] { 1, -1 })
        {
            var packed = new float[inputs.X.Length];
            Engines.PackedFeedForward(shapeName)(inputs.X, weights, packed, dop);
            for (int i = 0; i < raw.Length; i++)
            {
                if (BitConverter.SingleToInt32Bits(raw[i]) != BitConverter.SingleToInt32Bits(packed[i]))
                {
                    Assert.Fail($"{shapeName}, dop {dop}: element {i} is {packed[i]:R} packed but {raw[i]:R} raw.");
                }
            }
        }
    }

    /// <summary>
    /// The plain-array overload's panel copies that the shapes of <see cref="Engines"/> do not reach: by each row chunk's first
    /// row tile (<see cref="RowSplitPanels"/>) and by PanelPacking.PackPanel before a lone tail tile (<see cref="ThreeRowPanels"/>).
    /// The copy must give the prepacked overload's bits, and both the float64 reference within the feed-forward tolerances.
    /// </summary>
    [Theory]
    [InlineData(nameof(RowSplitPanels))]
    [InlineData(nameof(ThreeRowPanels))]
    public void Panels_copied_on_the_fly_give_the_prepacked_bits(string shapeName)
    {
        bool rowSplit = shapeName == nameof(RowSplitPanels);
        TransformerShape shape = rowSplit ? RowSplitPanels.Shape : ThreeRowPanels.Shape;
        FeedForwardKernel raw = rowSplit ? RowSplitPanels.FeedForward : ThreeRowPanels.FeedForward;
        PackedFeedForwardKernel packed = rowSplit ? RowSplitPanels.FeedForward : ThreeRowPanels.FeedForward;
        const int batch = 2;
        var inputs = TestData.FeedForward(shape, batch, seed: 5);
        PackedFeedForwardWeights weights = rowSplit
            ? RowSplitPanels.PackFeedForward(inputs.W1, inputs.B1, inputs.W2, inputs.B2)
            : ThreeRowPanels.PackFeedForward(inputs.W1, inputs.B1, inputs.W2, inputs.B2);
        var y = new float[inputs.X.Length];
        foreach (int dop in new[] { 1, -1 })
        {
            raw(inputs.X, inputs.W1, inputs.B1, inputs.W2, inputs.B2, y, dop);
            var fromPacked = new float[inputs.X.Length];
            packed(inputs.X, weights, fromPacked, dop);
            for (int i = 0; i < y.Length; i++)
            {
                if (BitConverter.SingleToInt32Bits(y[i]) != BitConverter.SingleToInt32Bits(fromPacked[i]))
                {
                    Assert.Fail($"{shapeName}, dop {dop}: element {i} is {fromPacked[i]:R} packed but {y[i]:R} raw.");
                }
            }
        }

        // Every row of the short shape; of the long one, five rows in every 113 (so rows of every chunk and of every row tile
        // position) and the last three, the tail's.
        int rows = batch * shape.SequenceLength;
        foreach (int row in Enumerable.Range(0, rows).Where(r => !rowSplit || r % 113 < 5 || r >= rows - 3))
        {
            double[] expected = Reference.FeedForwardRow(shape, inputs.X, inputs.W1, inputs.B1, inputs.W2, inputs.B2, row);
            KernelAgreementTests.AssertRow(expected, y, row * shape.EmbeddingDim, Tolerances.FeedForwardAbsolute, Tolerances.FeedForwardRelative, $"{shapeName}, row {row}");
        }
    }

    [Fact]
    public void Weights_packed_for_other_dimensions_are_rejected_before_writing()
    {
        var odd = TestData.FeedForward(Odd.Shape, 1, seed: 1);
        PackedFeedForwardWeights oddWeights = Odd.PackFeedForward(odd.W1, odd.B1, odd.W2, odd.B2);
        var x = new float[MiniLm.Shape.SequenceElements];
        var y = Enumerable.Repeat(42f, x.Length).ToArray();

        var error = Assert.Throws<ArgumentException>(() => MiniLm.FeedForward(x, oddWeights, y));
        Assert.Equal("weights", error.ParamName);
        Assert.Contains("packed for EmbeddingDim 13, FfnDim 29", error.Message);
        Assert.Contains("needs EmbeddingDim 384, FfnDim 1536", error.Message);
        Assert.All(y, value => Assert.Equal(42f, value));
        Assert.Throws<ArgumentNullException>(() => MiniLm.FeedForward(x, null!, y));
    }

    [Fact]
    public void Weights_packed_for_one_sequence_length_serve_another_with_the_same_widths()
    {
        // The layout depends on EmbeddingDim, FfnDim and the vector width only.
        var inputs = TestData.FeedForward(SameWidthsAsMedium.Shape, 1, seed: 8);
        PackedFeedForwardWeights weights = Medium.PackFeedForward(inputs.W1, inputs.B1, inputs.W2, inputs.B2);
        var viaOther = new float[inputs.X.Length];
        SameWidthsAsMedium.FeedForward(inputs.X, weights, viaOther);
        var raw = new float[inputs.X.Length];
        SameWidthsAsMedium.FeedForward(inputs.X, inputs.W1, inputs.B1, inputs.W2, inputs.B2, raw);
        Assert.Equal(raw, viaOther);
    }

    [Fact]
    public void Packing_checks_every_weight_length()
    {
        float[] w1 = new float[384 * 1536], b1 = new float[1536], w2 = new float[1536 * 384], b2 = new float[384];
        Assert.Equal("w1", Assert.Throws<ArgumentException>(() => MiniLm.PackFeedForward(w1.AsSpan(1), b1, w2, b2)).ParamName);
        Assert.Equal("b1", Assert.Throws<ArgumentException>(() => MiniLm.PackFeedForward(w1, b1.AsSpan(1), w2, b2)).ParamName);
        Assert.Equal("w2", Assert.Throws<ArgumentException>(() => MiniLm.PackFeedForward(w1, b1, w2.AsSpan(1), b2)).ParamName);
        Assert.Equal("b2", Assert.Throws<ArgumentException>(() => MiniLm.PackFeedForward(w1, b1, w2, b2.AsSpan(1))).ParamName);
    }
}
