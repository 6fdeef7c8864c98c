using System;
using FixedShapeAttention;
using Xunit;

namespace FixedShapeAttention.Tests;

/// <summary>The seed's example: X = [[1,2,3],[4,5,6],[7,8,9],[10,11,12]], Q = K = V = X, one head.</summary>
public class WorkedExampleTests
{
    private static readonly float[] s_x = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

    // The float64 values the brief gives for this example.
    private static readonly double[] s_expected =
    {
        9.99990799, 10.999908, 11.999908,
        10, 11, 12,
        10, 11, 12,
        10, 11, 12,
    };

    [Fact]
    public void The_float64_reference_reproduces_the_published_values()
    {
        for (int row = 0; row < 4; row++)
        {
            double[] actual = Reference.AttentionRow(WorkedExample.Shape, s_x, s_x, s_x, 0, row);
            for (int c = 0; c < 3; c++)
            {
                Assert.Equal(s_expected[row * 3 + c], actual[c], 6e-7);
            }
        }
    }

    [Theory]
    [InlineData("Generated")]
    [InlineData("Generic")]
    public void Attention_matches_the_published_values(string engine)
    {
        var output = new float[12];
        Engines.Get(nameof(WorkedExample), engine).Attention(s_x, s_x, s_x, output, -1);
        for (int i = 0; i < 12; i++)
        {
            Assert.Equal(s_expected[i], output[i], Tolerances.WorkedExample);
        }

        // Row 0 is pulled below [10, 11, 12] by its small weight on the other tokens; the others round to them.
        Assert.True(output[0] < 10f);
    }

    /// <summary>
    /// W1 copies each input column twice (hidden 0..5) and negates it twice (hidden 6..11, which ReLU zeroes unless
    /// b1 lifts them: b1[6] = 2 keeps −x₀ + 2 = 1 alive for the first token only). W2 sums the two copies (2·x) and
    /// sends hidden 6 to output 0 with weight 10; b2 = [0.5, −1, 0]. By hand:
    /// token 1: x = [1, 2, 3] → y = [2 + 10 + 0.5, 4 − 1, 6] = [12.5, 3, 6];
    /// tokens 2..4: y = [2x₀ + 0.5, 2x₁ − 1, 2x₂].
    /// </summary>
    [Theory]
    [InlineData("Generated")]
    [InlineData("Generic")]
    public void FeedForward_matches_values_worked_out_by_hand(string engine)
    {
        var w1 = new float[3 * 12];
        var w2 = new float[12 * 3];
        for (int j = 0; j < 12; j++)
        {
            w1[(j % 3) * 12 + j] = j < 6 ? 1 : -1;
            if (j < 6)
            {
                w2[j * 3 + j % 3] = 1;
            }
        }

        w2[6 * 3 + 0] = 10;
        var b1 = new float[12];
        b1[6] = 2;
        float[] b2 = { 0.5f, -1, 0 };
        float[] expected =
        {
            12.5f, 3, 6,
            8.5f, 9, 12,
            14.5f, 15, 18,
            20.5f, 21, 24,
        };

        var y = new float[12];
        Engines.Get(nameof(WorkedExample), engine).FeedForward(s_x, w1, b1, w2, b2, y, -1);
        Assert.Equal(expected, y);
    }
}
