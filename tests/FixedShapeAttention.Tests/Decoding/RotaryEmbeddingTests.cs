using System;
using System.Linq;
using FixedShapeAttention.Decoding;
using Xunit;

namespace FixedShapeAttention.Tests.Decoding;

public sealed class RotaryEmbeddingTests
{
    /// <summary>RoPE in float64 from its definition.</summary>
    private static double[] Reference(float[] x, int[] positions, int headDim, double theta, RotaryLayout layout)
    {
        var y = x.Select(v => (double)v).ToArray();
        int width = x.Length / positions.Length, pairs = headDim / 2;
        for (int t = 0; t < positions.Length; t++)
        {
            for (int head = 0; head < width; head += headDim)
            {
                for (int i = 0; i < pairs; i++)
                {
                    double angle = positions[t] * Math.Pow(theta, -2.0 * i / headDim);
                    int ia = t * width + head + (layout == RotaryLayout.Half ? i : 2 * i);
                    int ib = t * width + head + (layout == RotaryLayout.Half ? i + pairs : 2 * i + 1);
                    double a = x[ia], b = x[ib];
                    y[ia] = a * Math.Cos(angle) - b * Math.Sin(angle);
                    y[ib] = a * Math.Sin(angle) + b * Math.Cos(angle);
                }
            }
        }

        return y;
    }

    public static TheoryData<int, int, RotaryLayout> Cases => new()
    {
        { 2, 1, RotaryLayout.Half }, { 8, 3, RotaryLayout.Half }, { 32, 4, RotaryLayout.Half }, { 64, 2, RotaryLayout.Half },
        { 18, 2, RotaryLayout.Half }, { 2, 1, RotaryLayout.Interleaved }, { 64, 2, RotaryLayout.Interleaved }, { 18, 3, RotaryLayout.Interleaved },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Rotation_matches_the_float64_definition(int headDim, int heads, RotaryLayout layout)
    {
        const int MaxPositions = 4096;
        int[] positions = [0, 1, 7, 100, 2047, 4095];
        float[] x = TestData.Uniform(positions.Length * heads * headDim, headDim + heads);
        double[] expected = Reference(x, positions, headDim, 10_000, layout);

        new RotaryEmbedding(headDim, MaxPositions, 10_000, layout).Apply(x, positions);

        // The table's float rounding of cos and sin (½ ulp each) and the fused rotation (1 ulp): ~2 ulp of values ≤ √2.
        for (int i = 0; i < x.Length; i++)
            Assert.True(Math.Abs(x[i] - expected[i]) <= 3e-7, $"{i}: {x[i]} against {expected[i]}");
    }

    [Fact]
    public void Position_zero_is_the_identity_to_the_bit()
    {
        float[] x = TestData.Uniform(3 * 64, 2);
        float[] before = (float[])x.Clone();
        new RotaryEmbedding(32, 16).Apply(x, [0, 0, 0]);
        Assert.Equal(before, x);
    }

    [Fact]
    public void Scores_of_rotated_queries_and_keys_depend_only_on_the_distance()
    {
        var rope = new RotaryEmbedding(64, 512, 10_000);
        float[] q = TestData.Uniform(64, 3), k = TestData.Uniform(64, 4);
        double Score(int pq, int pk)
        {
            float[] rq = (float[])q.Clone(), rk = (float[])k.Clone();
            rope.Apply(rq, [pq]);
            rope.Apply(rk, [pk]);
            return rq.Zip(rk, (a, b) => (double)a * b).Sum();
        }

        Assert.Equal(Score(10, 3), Score(310, 303), 1e-5);
        Assert.Equal(Score(0, 0), q.Zip(k, (a, b) => (double)a * b).Sum(), 1e-6);
        Assert.NotEqual(Score(10, 3), Score(10, 4), 1e-3);
    }

    [Fact]
    public void Bad_positions_and_shapes_are_rejected_before_any_row_rotates()
    {
        var rope = new RotaryEmbedding(8, 10);
        float[] x = TestData.Uniform(2 * 8, 1);
        float[] before = (float[])x.Clone();
        Assert.Throws<ArgumentOutOfRangeException>(() => rope.Apply(x, [3, 10]));
        Assert.Throws<ArgumentOutOfRangeException>(() => rope.Apply(x, [-1, 0]));
        Assert.Equal(before, x);
        var error = Assert.Throws<ArgumentException>(() => rope.Apply(x.AsSpan(0, 12), [1, 2]));
        Assert.Contains("2 rows", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => rope.Apply(x, []));
        rope.Apply([], []);
        Assert.Throws<ArgumentOutOfRangeException>(() => new RotaryEmbedding(7, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RotaryEmbedding(8, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RotaryEmbedding(8, 10, theta: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RotaryEmbedding(8, int.MaxValue));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RotaryEmbedding(8, 10, layout: (RotaryLayout)7));
    }
}
