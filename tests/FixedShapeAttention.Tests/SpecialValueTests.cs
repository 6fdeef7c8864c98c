using System;
using Xunit;

namespace FixedShapeAttention.Tests;

/// <summary>
/// What NaN, ±Inf, huge and subnormal inputs do, for the generated and the generic kernels. The rule (README,
/// "Special values"): a non-finite input spreads exactly as far as the formula carries it, and no further. Each test
/// states where NaN or ±Inf must appear, independently of the reference, and holds every other element to the float64
/// reference within the usual tolerances: rows, heads, columns and sequences that do not touch the value stay finite.
/// </summary>
public class SpecialValueTests
{
    public static TheoryData<string> Engines2() => new() { "Generated", "Generic" };

    /// <summary>What an output element must be.</summary>
    private enum Expect
    {
        /// <summary>Finite and within tolerance of the reference, which must be finite too: the value did not reach here.</summary>
        Finite,

        /// <summary>Whatever the reference is: NaN for NaN, the same infinity, or a finite value within tolerance.</summary>
        LikeReference,

        NaN,
        PositiveInfinity,
        NegativeInfinity,
        Zero,
    }

    // ---- Attention. ThreeHeads: 9 rows, 3 heads of 8 columns, not causal; CausalGelu: 13 rows, 4 heads of 5, causal.

    [Theory]
    [MemberData(nameof(Engines2))]
    public void NaN_in_a_query_makes_that_row_of_that_head_NaN(string engine)
    {
        // Row 4's scores in head 1 are all NaN, so its weights and output are; nothing else reads that query.
        AttentionCase(nameof(ThreeHeads), engine, (q, k, v) => q[Index(nameof(ThreeHeads), 0, 4, 1 * 8 + 3)] = float.NaN,
            (sequence, row, column) => sequence == 0 && row == 4 && column / 8 == 1 ? Expect.NaN : Expect.Finite);
    }

    [Theory]
    [MemberData(nameof(Engines2))]
    public void NaN_in_a_key_makes_every_row_of_that_head_NaN(string engine)
    {
        // Every query scores key 2, and a NaN score makes the softmax sum, so every weight of the row, NaN.
        AttentionCase(nameof(ThreeHeads), engine, (q, k, v) => k[Index(nameof(ThreeHeads), 0, 2, 2 * 8)] = float.NaN,
            (sequence, row, column) => sequence == 0 && column / 8 == 2 ? Expect.NaN : Expect.Finite);
    }

    [Theory]
    [MemberData(nameof(Engines2))]
    public void NaN_in_a_key_reaches_only_the_rows_that_see_it_when_causal(string engine)
    {
        // Key 5 is masked for rows 0–4: they never read it.
        AttentionCase(nameof(CausalGelu), engine, (q, k, v) => k[Index(nameof(CausalGelu), 0, 5, 2 * 5 + 1)] = float.NaN,
            (sequence, row, column) => sequence == 0 && row >= 5 && column / 5 == 2 ? Expect.NaN : Expect.Finite);
    }

    [Theory]
    [MemberData(nameof(Engines2))]
    public void NaN_in_a_value_makes_that_column_NaN_in_every_row(string engine)
    {
        // output[i, c] = Σⱼ wᵢⱼ·v[j, c]: only column c of the values is NaN.
        AttentionCase(nameof(ThreeHeads), engine, (q, k, v) => v[Index(nameof(ThreeHeads), 1, 3, 13)] = float.NaN,
            (sequence, row, column) => sequence == 1 && column == 13 ? Expect.NaN : Expect.Finite);
    }

    [Theory]
    [MemberData(nameof(Engines2))]
    public void NaN_in_a_value_reaches_only_the_rows_that_see_it_when_causal(string engine)
    {
        // Masked keys are skipped, not multiplied by a weight of 0 (0·NaN would be NaN).
        AttentionCase(nameof(CausalGelu), engine, (q, k, v) => v[Index(nameof(CausalGelu), 0, 6, 7)] = float.NaN,
            (sequence, row, column) => sequence == 0 && row >= 6 && column == 7 ? Expect.NaN : Expect.Finite);
    }

    [Theory]
    [InlineData("Generated", float.PositiveInfinity)]
    [InlineData("Generated", float.NegativeInfinity)]
    [InlineData("Generic", float.PositiveInfinity)]
    [InlineData("Generic", float.NegativeInfinity)]
    public void Infinity_in_a_query_makes_that_row_of_that_head_NaN(string engine, float infinity)
    {
        // The row's scores are +Inf for keys of one sign in that column and −Inf for the other: exp(Inf − Inf) is NaN.
        AttentionCase(nameof(ThreeHeads), engine, (q, k, v) => q[Index(nameof(ThreeHeads), 0, 6, 5)] = infinity,
            (sequence, row, column) => sequence == 0 && row == 6 && column / 8 == 0 ? Expect.NaN : Expect.Finite);
    }

    [Theory]
    [MemberData(nameof(Engines2))]
    public void Infinity_in_a_key_gives_NaN_where_its_score_is_plus_Inf_and_weight_0_where_it_is_minus_Inf(string engine)
    {
        // Score (i, 2) = q[i, 9]·(+Inf): +Inf for q[i, 9] > 0 (Inf − Inf in the softmax: NaN), −Inf for q[i, 9] < 0
        // (exp(−Inf) = 0: key 2 drops out and the row is the softmax of the others, as the reference computes it).
        float[]? queries = null;
        AttentionCase(nameof(ThreeHeads), engine,
            (q, k, v) =>
            {
                queries = q;
                k[Index(nameof(ThreeHeads), 0, 2, 9)] = float.PositiveInfinity;
            },
            (sequence, row, column) =>
                sequence == 0 && column / 8 == 1 && queries![Index(nameof(ThreeHeads), 0, row, 9)] > 0 ? Expect.NaN : Expect.Finite);
    }

    [Theory]
    [MemberData(nameof(Engines2))]
    public void Infinity_in_a_value_makes_that_column_infinite(string engine)
    {
        // Every weight is positive (scores are O(1), so exp never underflows): +Inf·w stays +Inf.
        AttentionCase(nameof(ThreeHeads), engine, (q, k, v) => v[Index(nameof(ThreeHeads), 0, 8, 20)] = float.PositiveInfinity,
            (sequence, row, column) => sequence == 0 && column == 20 ? Expect.PositiveInfinity : Expect.Finite);
    }

    [Theory]
    [MemberData(nameof(Engines2))]
    public void A_row_whose_every_score_is_minus_Inf_gives_zeros(string engine)
    {
        // The documented all-masked rule (weights 0, not 0/0 = NaN), reached through the data: q[3, 4] = −Inf and a
        // positive column 4 in every key. Odd has 7 keys, so the score row is padded: the padding must not leak in.
        AttentionCase(nameof(Odd), engine,
            (q, k, v) =>
            {
                for (int key = 0; key < 7; key++)
                {
                    k[Index(nameof(Odd), 0, key, 4)] = Math.Abs(k[Index(nameof(Odd), 0, key, 4)]) + 0.25f;
                }

                q[Index(nameof(Odd), 0, 3, 4)] = float.NegativeInfinity;
            },
            (sequence, row, column) => sequence == 0 && row == 3 ? Expect.Zero : Expect.Finite);
    }

    [Theory]
    [MemberData(nameof(Engines2))]
    public void Scores_far_beyond_the_exp_overflow_stay_finite_and_match_the_reference(string engine)
    {
        // q, k in [−100, 100]: scores of order 1e4, where exp overflows float at 88.7. The kernels subtract the row
        // maximum first, as the reference does; the softmax is then close to one-hot.
        TransformerShape shape = Engines.ShapeOf(nameof(ThreeHeads));
        int length = 2 * shape.SequenceElements;
        var q = TestData.Uniform(length, 41, 100f);
        var k = TestData.Uniform(length, 42, 100f);
        var v = TestData.Uniform(length, 43);
        float[] output = RunAttention(nameof(ThreeHeads), engine, q, k, v);

        Assert.All(output, value => Assert.True(float.IsFinite(value)));
        AssertAttention(shape, q, k, v, output, (_, _, _) => Expect.Finite, $"{engine} large scores");
    }

    [Theory]
    [InlineData(nameof(CausalGelu), "Generated")]
    [InlineData(nameof(CausalGelu), "Generic")]
    [InlineData(nameof(CausalSilu), "Generated")]
    [InlineData(nameof(CausalSilu), "Generic")]
    public void The_first_causal_row_is_its_own_value_row_exactly(string shapeName, string engine)
    {
        // Query 0 sees key 0 only: weight exp(0)/1 = 1 exactly, so output row 0 is v row 0 bit for bit, per head,
        // whatever the queries and keys (here large enough to overflow exp without the max subtraction).
        TransformerShape shape = Engines.ShapeOf(shapeName);
        int n = shape.SequenceElements, e = shape.EmbeddingDim;
        var q = TestData.Uniform(3 * n, 51, 100f);
        var k = TestData.Uniform(3 * n, 52, 100f);
        var v = TestData.Uniform(3 * n, 53);
        float[] output = RunAttention(shapeName, engine, q, k, v);

        for (int sequence = 0; sequence < 3; sequence++)
        {
            Assert.Equal(v.AsSpan(sequence * n, e).ToArray(), output.AsSpan(sequence * n, e).ToArray());
        }
    }

    [Theory]
    [MemberData(nameof(Engines2))]
    public void Subnormal_inputs_compute_without_flushing(string engine)
    {
        // Subnormal q, k, v (|x| < 1e-39, below float's smallest normal 1.2e-38): the products underflow to 0 in float
        // (to 1e-78 in the reference), so the weights are uniform and the output is the mean of V. Each of the ~10
        // roundings per output is at most half a subnormal step, so the bound is the relative tolerance plus a few
        // float.Epsilon: a kernel that flushed subnormals to zero, or read a wrong row, would be far outside it.
        // Speed with subnormals is not tested.
        TransformerShape shape = Engines.ShapeOf(nameof(ThreeHeads));
        int length = 2 * shape.SequenceElements;
        var q = TestData.Uniform(length, 61, 1e-39f);
        var k = TestData.Uniform(length, 62, 1e-39f);
        var v = TestData.Uniform(length, 63, 1e-39f);
        Assert.Contains(v, value => value != 0 && !float.IsNormal(value));
        float[] output = RunAttention(nameof(ThreeHeads), engine, q, k, v);

        for (int sequence = 0; sequence < 2; sequence++)
        {
            for (int row = 0; row < shape.SequenceLength; row++)
            {
                double[] expected = Reference.AttentionRow(shape, q, k, v, sequence, row);
                int offset = (sequence * shape.SequenceLength + row) * shape.EmbeddingDim;
                for (int c = 0; c < expected.Length; c++)
                {
                    double tolerance = Tolerances.AttentionRelative * Math.Abs(expected[c]) + 2 * (shape.SequenceLength + 1) * (double)float.Epsilon;
                    Assert.True(Math.Abs(output[offset + c] - expected[c]) <= tolerance,
                        $"{engine}: sequence {sequence}, row {row}, column {c}: got {output[offset + c]:R}, expected {expected[c]:R}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Engines2))]
    public void Subnormal_queries_and_keys_give_the_mean_of_the_values(string engine)
    {
        TransformerShape shape = Engines.ShapeOf(nameof(ThreeHeads));
        int length = 2 * shape.SequenceElements;
        var q = TestData.Uniform(length, 71, 1e-39f);
        var k = TestData.Uniform(length, 72, 1e-39f);
        var v = TestData.Uniform(length, 73);
        float[] output = RunAttention(nameof(ThreeHeads), engine, q, k, v);

        AssertAttention(shape, q, k, v, output, (_, _, _) => Expect.Finite, $"{engine} subnormal q, k");
    }

    // ---- Feed-forward. Odd: 7 rows, 13 → 29 → 13, ReLU.

    [Theory]
    [MemberData(nameof(Engines2))]
    public void NaN_in_x_makes_only_that_row_NaN(string engine)
    {
        FeedForwardCase(nameof(Odd), engine, inputs => inputs.X[Index(nameof(Odd), 1, 3, 5)] = float.NaN,
            (globalRow, column) => globalRow == 7 + 3 ? Expect.NaN : Expect.Finite);
    }

    [Theory]
    [InlineData("Generated", "w1")]
    [InlineData("Generated", "b1")]
    [InlineData("Generic", "w1")]
    [InlineData("Generic", "b1")]
    public void NaN_in_the_first_layer_makes_every_output_NaN(string engine, string parameter)
    {
        // Hidden unit 11 is NaN in every row (ReLU keeps NaN), and every output column reads it through W2.
        FeedForwardCase(nameof(Odd), engine,
            inputs => (parameter == "w1" ? inputs.W1 : inputs.B1)[parameter == "w1" ? 6 * 29 + 11 : 11] = float.NaN,
            (_, _) => Expect.NaN);
    }

    [Theory]
    [InlineData("Generated", "w2")]
    [InlineData("Generated", "b2")]
    [InlineData("Generic", "w2")]
    [InlineData("Generic", "b2")]
    public void NaN_in_the_second_layer_makes_one_column_NaN(string engine, string parameter)
    {
        FeedForwardCase(nameof(Odd), engine,
            inputs => (parameter == "w2" ? inputs.W2 : inputs.B2)[parameter == "w2" ? 20 * 13 + 4 : 4] = float.NaN,
            (_, column) => column == 4 ? Expect.NaN : Expect.Finite);
    }

    [Theory]
    [MemberData(nameof(Engines2))]
    public void Infinity_in_the_output_bias_makes_that_column_infinite(string engine)
    {
        FeedForwardCase(nameof(Odd), engine, inputs => inputs.B2[9] = float.NegativeInfinity,
            (_, column) => column == 9 ? Expect.NegativeInfinity : Expect.Finite);
    }

    [Theory]
    [MemberData(nameof(Engines2))]
    public void Infinity_in_x_makes_only_that_row_non_finite(string engine)
    {
        // x[r, 2] = +Inf drives hidden (r, j) to ±Inf by the sign of W1[2, j]; ReLU keeps the +Inf ones, and each
        // output sums +Inf·W2[j, c] over them: NaN where the signs are mixed, ±Inf where they agree, as in the
        // reference (IEEE sums of infinities do not depend on the order). Other rows never see it.
        FeedForwardCase(nameof(Odd), engine, inputs => inputs.X[Index(nameof(Odd), 0, 5, 2)] = float.PositiveInfinity,
            (globalRow, _) => globalRow == 5 ? Expect.LikeReference : Expect.Finite, nonFiniteRow: 5);
    }

    [Theory]
    [InlineData("Generated", nameof(Odd))]
    [InlineData("Generated", nameof(CausalGelu))]
    [InlineData("Generated", nameof(GeluTanhShape))]
    [InlineData("Generated", nameof(CausalSilu))]
    [InlineData("Generic", nameof(Odd))]
    [InlineData("Generic", nameof(CausalGelu))]
    [InlineData("Generic", nameof(GeluTanhShape))]
    [InlineData("Generic", nameof(CausalSilu))]
    public void A_minus_Inf_pre_activation_activates_to_zero(string engine, string shapeName)
    {
        // act(−Inf) = 0 for every activation (its limit; ReLU by definition): b1[j] = −Inf switches hidden unit j
        // off, and the output is that of the same layer with W2's row j zeroed: finite everywhere.
        TransformerShape shape = Engines.ShapeOf(shapeName);
        const int unit = 3;
        var inputs = TestData.FeedForward(shape, batch: 2, seed: 81);
        inputs.B1[unit] = float.NegativeInfinity;
        float[] y = RunFeedForward(shapeName, engine, inputs);

        float[] w2Off = (float[])inputs.W2.Clone();
        Array.Clear(w2Off, unit * shape.EmbeddingDim, shape.EmbeddingDim);
        float[] b1Off = (float[])inputs.B1.Clone();
        b1Off[unit] = 0;
        AssertFeedForward(shape, inputs with { B1 = b1Off, W2 = w2Off }, y, (_, _) => Expect.Finite, $"{engine} {shapeName} b1[{unit}] = −Inf");
    }

    [Theory]
    [InlineData("Generated", nameof(Odd))]
    [InlineData("Generated", nameof(CausalGelu))]
    [InlineData("Generated", nameof(GeluTanhShape))]
    [InlineData("Generated", nameof(CausalSilu))]
    [InlineData("Generic", nameof(Odd))]
    [InlineData("Generic", nameof(CausalGelu))]
    [InlineData("Generic", nameof(GeluTanhShape))]
    [InlineData("Generic", nameof(CausalSilu))]
    public void A_plus_Inf_pre_activation_gives_infinities_signed_by_W2(string engine, string shapeName)
    {
        // act(+Inf) = +Inf for every activation: y[r, c] = +Inf·W2[j, c] + finite, so ±Inf by the sign of W2[j, c].
        TransformerShape shape = Engines.ShapeOf(shapeName);
        const int unit = 2;
        var inputs = TestData.FeedForward(shape, batch: 2, seed: 82);
        inputs.B1[unit] = float.PositiveInfinity;
        float[] y = RunFeedForward(shapeName, engine, inputs);

        int e = shape.EmbeddingDim;
        for (int i = 0; i < y.Length; i++)
        {
            float expected = inputs.W2[unit * e + i % e] > 0 ? float.PositiveInfinity : float.NegativeInfinity;
            Assert.True(y[i] == expected, $"{engine} {shapeName}: y[{i}] = {y[i]}, expected {expected}");
        }
    }

    [Theory]
    [MemberData(nameof(Engines2))]
    public void Subnormal_feed_forward_inputs_and_weights_stay_within_tolerance(string engine)
    {
        // Subnormal x: hidden ≈ b1. Subnormal W1 and W2 as well: y ≈ b2. Both are normal-sized results, held to the
        // usual tolerance.
        TransformerShape shape = Engines.ShapeOf(nameof(Odd));
        var normal = TestData.FeedForward(shape, batch: 2, seed: 91);
        var tinyX = normal with { X = TestData.Uniform(normal.X.Length, 92, 1e-39f) };
        var tinyAll = tinyX with { W1 = TestData.Uniform(normal.W1.Length, 93, 1e-39f), W2 = TestData.Uniform(normal.W2.Length, 94, 1e-39f) };
        foreach (var inputs in new[] { tinyX, tinyAll })
        {
            AssertFeedForward(shape, inputs, RunFeedForward(nameof(Odd), engine, inputs), (_, _) => Expect.Finite, $"{engine} subnormal");
        }
    }

    // ---- Helpers.

    private static int Index(string shapeName, int sequence, int row, int column)
    {
        TransformerShape shape = Engines.ShapeOf(shapeName);
        return (sequence * shape.SequenceLength + row) * shape.EmbeddingDim + column;
    }

    private static float[] RunAttention(string shapeName, string engine, float[] q, float[] k, float[] v)
    {
        var output = new float[q.Length];
        Engines.Get(shapeName, engine).Attention(q, k, v, output, -1);
        return output;
    }

    private static float[] RunFeedForward(string shapeName, string engine, TestData.FeedForwardInputs inputs)
    {
        var y = new float[inputs.X.Length];
        Engines.Get(shapeName, engine).FeedForward(inputs.X, inputs.W1, inputs.B1, inputs.W2, inputs.B2, y, -1);
        return y;
    }

    /// <summary>Seeded batch-2 data, <paramref name="poison"/> applied, the kernel run, each element checked against <paramref name="expect"/>.</summary>
    private static void AttentionCase(string shapeName, string engine, Action<float[], float[], float[]> poison, Func<int, int, int, Expect> expect)
    {
        TransformerShape shape = Engines.ShapeOf(shapeName);
        var inputs = TestData.Attention(shape, batch: 2, seed: 31);
        poison(inputs.Q, inputs.K, inputs.V);
        float[] output = RunAttention(shapeName, engine, inputs.Q, inputs.K, inputs.V);
        AssertAttention(shape, inputs.Q, inputs.K, inputs.V, output, expect, $"{engine} {shapeName}");
    }

    private static void FeedForwardCase(string shapeName, string engine, Action<TestData.FeedForwardInputs> poison, Func<int, int, Expect> expect, int nonFiniteRow = -1)
    {
        TransformerShape shape = Engines.ShapeOf(shapeName);
        var inputs = TestData.FeedForward(shape, batch: 2, seed: 32);
        poison(inputs);
        float[] y = RunFeedForward(shapeName, engine, inputs);
        AssertFeedForward(shape, inputs, y, expect, $"{engine} {shapeName}");
        if (nonFiniteRow >= 0)
        {
            for (int c = 0; c < shape.EmbeddingDim; c++)
            {
                Assert.False(float.IsFinite(y[nonFiniteRow * shape.EmbeddingDim + c]), $"{engine} {shapeName}: y[{nonFiniteRow}, {c}] = {y[nonFiniteRow * shape.EmbeddingDim + c]} is finite");
            }
        }
    }

    private static void AssertAttention(TransformerShape shape, float[] q, float[] k, float[] v, float[] output, Func<int, int, int, Expect> expect, string what)
    {
        int batch = q.Length / shape.SequenceElements;
        for (int sequence = 0; sequence < batch; sequence++)
        {
            for (int row = 0; row < shape.SequenceLength; row++)
            {
                double[] reference = Reference.AttentionRow(shape, q, k, v, sequence, row);
                int offset = (sequence * shape.SequenceLength + row) * shape.EmbeddingDim;
                for (int c = 0; c < shape.EmbeddingDim; c++)
                {
                    AssertElement(expect(sequence, row, c), output[offset + c], reference[c], Tolerances.AttentionAbsolute, Tolerances.AttentionRelative,
                        $"{what} attention, sequence {sequence}, row {row}, column {c}");
                }
            }
        }
    }

    private static void AssertFeedForward(TransformerShape shape, TestData.FeedForwardInputs inputs, float[] y, Func<int, int, Expect> expect, string what)
    {
        int rows = inputs.X.Length / shape.EmbeddingDim;
        for (int row = 0; row < rows; row++)
        {
            double[] reference = Reference.FeedForwardRow(shape, inputs.X, inputs.W1, inputs.B1, inputs.W2, inputs.B2, row);
            for (int c = 0; c < shape.EmbeddingDim; c++)
            {
                AssertElement(expect(row, c), y[row * shape.EmbeddingDim + c], reference[c], Tolerances.FeedForwardAbsolute, Tolerances.FeedForwardRelative,
                    $"{what} feed-forward, row {row}, column {c}");
            }
        }
    }

    /// <summary>Checks one element against its expectation; finite values within |got − want| ≤ absolute + relative·|want|.</summary>
    private static void AssertElement(Expect expect, float got, double reference, double absolute, double relative, string what)
    {
        bool ok = expect switch
        {
            Expect.NaN => float.IsNaN(got),
            Expect.PositiveInfinity => float.IsPositiveInfinity(got),
            Expect.NegativeInfinity => float.IsNegativeInfinity(got),
            Expect.Zero => got == 0,
            Expect.LikeReference when double.IsNaN(reference) => float.IsNaN(got),
            Expect.LikeReference when double.IsInfinity(reference) => got == reference,
            _ => double.IsFinite(reference) && Math.Abs(got - reference) <= absolute + relative * Math.Abs(reference),
        };
        string want = expect is Expect.Finite or Expect.LikeReference ? $"{reference:R} ({expect})" : expect.ToString();
        Assert.True(ok, $"{what}: got {got:R}, expected {want}.");
    }
}
