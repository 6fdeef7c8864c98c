using System;
using System.Collections.Generic;
using System.Linq;
using FixedShapeAttention;
using Xunit;

namespace FixedShapeAttention.Tests.Training;

/// <summary>
/// The generated training attention (AttentionForTraining, AttentionBackward) of every test shape against a float64
/// forward and backward pass written out below, unmasked and with a key-padding mask; bit-identical for every degree of
/// parallelism.
/// </summary>
public class GeneratedAttentionBackwardTests
{
    /// <summary>
    /// Every gradient within 2e-6 + 2e-5 of its tensor's largest magnitude (the training issue's 2e-5, scaled per tensor
    /// as a normwise bound, since a single element of a gradient can be a cancellation near 0; the absolute term is the
    /// attention tolerance, for gradients that are exactly 0). Measured 2026-11-30 on these shapes: at most 1.6e-6 of the
    /// largest magnitude on the Vector512, Vector256 and scalar paths.
    /// </summary>
    private const double GradientTolerance = 2e-5;

    private delegate void Forward(float[] q, float[] k, float[] v, int[]? keyCounts, float[] output, float[] lse, int dop);

    private delegate void Backward(float[] q, float[] k, float[] v, int[]? keyCounts, float[] output, float[] lse, float[] dO, float[] dQ, float[] dK, float[] dV, int dop);

    private sealed record Kernels(TransformerShape Shape, Forward Forward, Backward Backward);

    private static readonly Dictionary<string, Kernels> s_kernels = new()
    {
        [nameof(WorkedExample)] = Of<WorkedExample>(),
        [nameof(Tiny)] = Of<Tiny>(),
        [nameof(Odd)] = Of<Odd>(),
        [nameof(ThreeHeads)] = Of<ThreeHeads>(),
        [nameof(HeadDimOne)] = Of<HeadDimOne>(),
        [nameof(CausalGelu)] = Of<CausalGelu>(),
        [nameof(CausalSilu)] = Of<CausalSilu>(),
        [nameof(Medium)] = Of<Medium>(),
        [nameof(MiniLm)] = Of<MiniLm>(),
        [nameof(BertBase)] = Of<BertBase>(),
        [nameof(LongCausal)] = Of<LongCausal>(),
        [nameof(OneHeadCausal)] = Of<OneHeadCausal>(),
        [nameof(OneHeadBidirectional)] = Of<OneHeadBidirectional>(),
    };

    private static Kernels Of<T>()
        where T : ITrainingKernels => new(
        T.Shape,
        (q, k, v, counts, o, lse, dop) =>
        {
            if (counts is null)
                T.AttentionForTraining(q, k, v, o, lse, dop);
            else
                T.AttentionForTraining(q, k, v, counts, o, lse, dop);
        },
        (q, k, v, counts, o, lse, dO, dQ, dK, dV, dop) =>
        {
            if (counts is null)
                T.AttentionBackward(q, k, v, o, lse, dO, dQ, dK, dV, dop);
            else
                T.AttentionBackward(q, k, v, counts, o, lse, dO, dQ, dK, dV, dop);
        });

    public static TheoryData<string, bool> Cases()
    {
        var data = new TheoryData<string, bool>();
        foreach (string name in s_kernels.Keys)
        {
            data.Add(name, false);
            data.Add(name, true);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Gradients_match_the_float64_reference(string shapeName, bool masked)
    {
        Kernels kernels = s_kernels[shapeName];
        TransformerShape shape = kernels.Shape;
        int batch = shape.SequenceLength >= 512 ? 1 : 2;
        int n = batch * shape.SequenceLength * shape.EmbeddingDim;
        float[] q = TestData.Uniform(n, 11, 2f), k = TestData.Uniform(n, 12, 2f), v = TestData.Uniform(n, 13), dO = TestData.Uniform(n, 14);
        int[]? counts = masked ? Enumerable.Range(0, batch).Select(b => b == 0 ? Math.Max(1, shape.SequenceLength / 2) : shape.SequenceLength - 1).ToArray() : null;

        float[] o = new float[n], lse = new float[batch * shape.Heads * shape.SequenceLength];
        float[] dQ = new float[n], dK = new float[n], dV = new float[n];
        kernels.Forward(q, k, v, counts, o, lse, 1);
        kernels.Backward(q, k, v, counts, o, lse, dO, dQ, dK, dV, 1);

        ReferenceAttentionGradients want = ReferenceAttentionGradients.Compute(shape, batch, q, k, v, dO, counts);
        AssertClose(want.Output, o, 2e-6, "output");
        AssertClose(want.LogSumExp, lse, 2e-6, "log-sum-exp", skipInfinite: true);
        AssertClose(want.QueryGradient, dQ, GradientTolerance, "dQ");
        AssertClose(want.KeyGradient, dK, GradientTolerance, "dK");
        AssertClose(want.ValueGradient, dV, GradientTolerance, "dV");
    }

    [Theory]
    [InlineData(nameof(MiniLm))]
    [InlineData(nameof(CausalSilu))]
    [InlineData(nameof(LongCausal))]
    public void Gradients_are_bit_identical_for_every_degree_of_parallelism(string shapeName)
    {
        Kernels kernels = s_kernels[shapeName];
        TransformerShape shape = kernels.Shape;
        int batch = 3, n = batch * shape.SequenceLength * shape.EmbeddingDim;
        float[] q = TestData.Uniform(n, 21, 2f), k = TestData.Uniform(n, 22, 2f), v = TestData.Uniform(n, 23), dO = TestData.Uniform(n, 24);
        float[][]? first = null;
        foreach (int dop in new[] { 1, 2, -1 })
        {
            float[] o = new float[n], lse = new float[batch * shape.Heads * shape.SequenceLength];
            float[] dQ = new float[n], dK = new float[n], dV = new float[n];
            kernels.Forward(q, k, v, null, o, lse, dop);
            kernels.Backward(q, k, v, null, o, lse, dO, dQ, dK, dV, dop);
            float[][] results = { o, lse, dQ, dK, dV };
            first ??= results;
            for (int i = 0; i < results.Length; i++)
                Assert.True(first[i].AsSpan().SequenceEqual(results[i]), $"result {i} differs at maxDegreeOfParallelism {dop}");
        }
    }

    /// <summary>
    /// One sequence of a one-head shape is one (sequence, head) pair, fewer than two threads: AttentionBackward then runs
    /// in two phases (P and dS into a shared buffer by row blocks, then dQ, dK and dV by row blocks). Same bits as the
    /// one-phase path on one thread, and the float64 reference. (On a one-processor machine both calls take one phase.)
    /// </summary>
    [Theory]
    [InlineData(nameof(OneHeadCausal), false)]
    [InlineData(nameof(OneHeadCausal), true)]
    [InlineData(nameof(OneHeadBidirectional), true)]
    public void Two_phase_backward_for_fewer_heads_than_threads_gives_the_one_phase_bits(string shapeName, bool masked)
    {
        Kernels kernels = s_kernels[shapeName];
        TransformerShape shape = kernels.Shape;
        int n = shape.SequenceLength * shape.EmbeddingDim;
        float[] q = TestData.Uniform(n, 51, 2f), k = TestData.Uniform(n, 52, 2f), v = TestData.Uniform(n, 53), dO = TestData.Uniform(n, 54);
        int[]? counts = masked ? new[] { shape.SequenceLength - 5 } : null;
        float[] o = new float[n], lse = new float[shape.Heads * shape.SequenceLength];
        kernels.Forward(q, k, v, counts, o, lse, 1);
        float[][] Backward(int dop)
        {
            float[] dQ = new float[n], dK = new float[n], dV = new float[n];
            kernels.Backward(q, k, v, counts, o, lse, dO, dQ, dK, dV, dop);
            return new[] { dQ, dK, dV };
        }

        float[][] one = Backward(1), split = Backward(-1);
        for (int i = 0; i < 3; i++)
            Assert.True(one[i].AsSpan().SequenceEqual(split[i]), $"gradient {i}: the two-phase path differs from the one-phase path");
        ReferenceAttentionGradients want = ReferenceAttentionGradients.Compute(shape, 1, q, k, v, dO, counts);
        AssertClose(want.QueryGradient, split[0], GradientTolerance, "dQ");
        AssertClose(want.KeyGradient, split[1], GradientTolerance, "dK");
        AssertClose(want.ValueGradient, split[2], GradientTolerance, "dV");
    }

    [Fact]
    public void Wrong_lengths_are_rejected_before_any_write()
    {
        int n = 2 * 128 * 384;
        float[] q = new float[n], k = new float[n], v = new float[n], o = new float[n], dO = new float[n];
        float[] dQ = Enumerable.Repeat(7f, n).ToArray(), dK = Enumerable.Repeat(7f, n).ToArray(), dV = Enumerable.Repeat(7f, n).ToArray();
        float[] shortLse = new float[2 * 12 * 128 - 1];
        var error = Assert.Throws<ArgumentException>(() => MiniLm.AttentionBackward(q, k, v, o, shortLse, dO, dQ, dK, dV, 1));
        Assert.Contains("expected 3072", error.Message);
        Assert.Throws<ArgumentException>(() => MiniLm.AttentionBackward(q, k, v, o, new float[3072], dO, dQ, dK.AsSpan(1), dV, 1));
        Assert.Throws<ArgumentException>(() => MiniLm.AttentionBackward(q, k, v, o, new float[3072], dO, dQ, q, dV, 1));
        Assert.Throws<ArgumentException>(() => MiniLm.AttentionForTraining(q, k, v, o, shortLse, 1));
        Assert.All(dQ.Concat(dK).Concat(dV), x => Assert.Equal(7f, x));
    }

    private static void AssertClose(double[] want, float[] got, double tolerance, string what, bool skipInfinite = false)
    {
        double scale = want.Where(double.IsFinite).Select(Math.Abs).DefaultIfEmpty(0).Max();
        double worst = 0;
        int worstIndex = -1;
        for (int i = 0; i < want.Length; i++)
        {
            if (skipInfinite && double.IsInfinity(want[i]))
            {
                Assert.Equal(want[i], got[i]);
                continue;
            }

            double error = Math.Abs(got[i] - want[i]);
            if (!(error <= worst))
            {
                worst = error;
                worstIndex = i;
            }
        }

        Assert.True(worst <= Tolerances.AttentionAbsolute + tolerance * scale,
            $"{what}: worst |error| {worst:E2} at {worstIndex} (want {(worstIndex >= 0 ? want[worstIndex] : 0):G9}, got {(worstIndex >= 0 ? got[worstIndex] : 0):G9}), {worst / scale:E2} of the largest |want| {scale:E2}");
    }
}
