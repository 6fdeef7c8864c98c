using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using FixedShapeAttention;
using FixedShapeAttention.Training;
using Xunit;

namespace FixedShapeAttention.Tests.Training;

/// <summary>
/// The generated row passes of training (LayerNormForTraining, LayerNormBackward, EmbeddingBackward, CrossEntropyLoss) of
/// several test shapes against float64 references written out below, the references against central differences in
/// float64, the same bits for every degree of parallelism and for micro-batches, and wrong arguments rejected before
/// any write.
/// </summary>
public class GeneratedRowPassTests
{
    private delegate void LayerNormForward(float[] x, float[] gamma, float[] beta, float epsilon, float[] y, float[] mean, float[] rstd, int dop);

    private delegate void LayerNormBackward(
        float[] x, float[] gamma, float[] mean, float[] rstd, float[] dy, float[]? residual, float[] dx, float[] dGamma, float[] dBeta, int dop);

    private delegate void EmbeddingBackward(int[] tokens, float[] dx, float[] tokenGradient, float[]? positionGradient, int dop);

    private delegate double CrossEntropy(float[] logits, int[] targets, int vocabulary, float[] gradient, int averageOver, int dop);

    private sealed record Kernels(TransformerShape Shape, LayerNormForward Forward, LayerNormBackward Backward, EmbeddingBackward Embedding, CrossEntropy Loss);

    private static readonly Dictionary<string, Kernels> s_kernels = new()
    {
        [nameof(WorkedExample)] = Of<WorkedExample>(),
        [nameof(Odd)] = Of<Odd>(),
        [nameof(ThreeHeads)] = Of<ThreeHeads>(),
        [nameof(CausalSilu)] = Of<CausalSilu>(),
        [nameof(Medium)] = Of<Medium>(),
        [nameof(ColumnSplitTail)] = Of<ColumnSplitTail>(),
    };

    private static Kernels Of<T>()
        where T : ITrainingKernels => new(
        T.Shape,
        (x, g, b, eps, y, m, r, dop) => T.LayerNormForTraining(x, g, b, eps, y, m, r, dop),
        (x, g, m, r, dy, res, dx, dg, db, dop) => T.LayerNormBackward(x, g, m, r, dy, res, dx, dg, db, dop),
        (tokens, dx, tg, pg, dop) => T.EmbeddingBackward(tokens, dx, tg, pg, dop),
        (z, t, v, dz, avg, dop) => T.CrossEntropyLoss(z, t, v, dz, avg, dop));

    public static TheoryData<string> Shapes() => new(s_kernels.Keys);

    private const float Epsilon = 1e-5f;

    // ---- float64 references ----

    /// <summary>y = (x − μ)/√(var + ε)·γ + β per row, in float64; also μ and 1/√(var + ε).</summary>
    private static (double[] Y, double[] Mean, double[] Rstd) ReferenceLayerNorm(IReadOnlyList<double> x, IReadOnlyList<double> gamma, IReadOnlyList<double> beta, int width)
    {
        int rows = x.Count / width;
        var y = new double[x.Count];
        var mean = new double[rows];
        var rstd = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            double mu = 0, variance = 0;
            for (int i = 0; i < width; i++)
                mu += x[r * width + i];
            mu /= width;
            for (int i = 0; i < width; i++)
                variance += (x[r * width + i] - mu) * (x[r * width + i] - mu);
            double inverse = 1 / Math.Sqrt(variance / width + Epsilon);
            mean[r] = mu;
            rstd[r] = inverse;
            for (int i = 0; i < width; i++)
                y[r * width + i] = (x[r * width + i] - mu) * inverse * gamma[i] + beta[i];
        }

        return (y, mean, rstd);
    }

    /// <summary>dx, dγ, dβ of Σ dy·y in float64, by the closed form.</summary>
    private static (double[] Dx, double[] DGamma, double[] DBeta) ReferenceLayerNormBackward(IReadOnlyList<double> x, IReadOnlyList<double> gamma, IReadOnlyList<double> dy, int width)
    {
        var (_, mean, rstd) = ReferenceLayerNorm(x, gamma, new double[width], width);
        int rows = x.Count / width;
        var dx = new double[x.Count];
        var dGamma = new double[width];
        var dBeta = new double[width];
        for (int r = 0; r < rows; r++)
        {
            double m1 = 0, m2 = 0;
            for (int i = 0; i < width; i++)
            {
                double xhat = (x[r * width + i] - mean[r]) * rstd[r], g = dy[r * width + i] * gamma[i];
                m1 += g;
                m2 += g * xhat;
                dGamma[i] += dy[r * width + i] * xhat;
                dBeta[i] += dy[r * width + i];
            }

            m1 /= width;
            m2 /= width;
            for (int i = 0; i < width; i++)
            {
                double xhat = (x[r * width + i] - mean[r]) * rstd[r];
                dx[r * width + i] = rstd[r] * (dy[r * width + i] * gamma[i] - m1 - xhat * m2);
            }
        }

        return (dx, dGamma, dBeta);
    }

    /// <summary>The loss sum over scored rows divided by <paramref name="count"/>, and its gradient, in float64.</summary>
    private static (double Loss, double[] Gradient) ReferenceCrossEntropy(IReadOnlyList<double> logits, int[] targets, int vocabulary, int count)
    {
        var gradient = new double[logits.Count];
        double loss = 0;
        for (int row = 0; row < targets.Length; row++)
        {
            if (targets[row] == SoftmaxCrossEntropy.IgnoreIndex)
                continue;
            double max = double.NegativeInfinity, sum = 0;
            for (int j = 0; j < vocabulary; j++)
                max = Math.Max(max, logits[row * vocabulary + j]);
            for (int j = 0; j < vocabulary; j++)
                sum += Math.Exp(logits[row * vocabulary + j] - max);
            loss += max + Math.Log(sum) - logits[row * vocabulary + targets[row]];
            for (int j = 0; j < vocabulary; j++)
                gradient[row * vocabulary + j] = (Math.Exp(logits[row * vocabulary + j] - max) / sum - (j == targets[row] ? 1 : 0)) / count;
        }

        return (loss / count, gradient);
    }

    private static double[] Wide(float[] values) => values.Select(v => (double)v).ToArray();

    /// <summary>x with a mean and a spread that differ per row (LayerNorm must remove both).</summary>
    private static float[] Rows(int rows, int width, int seed)
    {
        float[] x = TestData.Uniform(rows * width, seed);
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < width; i++)
                x[r * width + i] = x[r * width + i] * (0.5f + r % 5) + (r % 7 - 3);
        return x;
    }

    private static int[] Targets(int rows, int vocabulary, int seed)
    {
        var random = new Random(seed);
        // Every fifth target ignored (padding).
        return Enumerable.Range(0, rows).Select(r => r % 5 == 3 ? SoftmaxCrossEntropy.IgnoreIndex : random.Next(vocabulary)).ToArray();
    }

    // ---- the references against central differences ----

    [Fact]
    public void The_layer_norm_reference_gradients_agree_with_central_differences()
    {
        const int Width = 5, Count = 3 * Width;
        double[] x = Wide(Rows(3, Width, 1)), gamma = Wide(TestData.Uniform(Width, 2)), beta = Wide(TestData.Uniform(Width, 3)), dy = Wide(TestData.Uniform(Count, 4));
        double Loss(double[] xs, double[] g, double[] b) => ReferenceLayerNorm(xs, g, b, Width).Y.Select((v, i) => v * dy[i]).Sum();
        var (dx, dGamma, dBeta) = ReferenceLayerNormBackward(x, gamma, dy, Width);

        AssertCentralDifferences(x, dx, v => Loss(v, gamma, beta), "dx");
        AssertCentralDifferences(gamma, dGamma, v => Loss(x, v, beta), "dγ");
        AssertCentralDifferences(beta, dBeta, v => Loss(x, gamma, v), "dβ");
    }

    [Fact]
    public void The_cross_entropy_reference_gradient_agrees_with_central_differences()
    {
        const int Vocabulary = 9;
        int[] targets = [4, SoftmaxCrossEntropy.IgnoreIndex, 0, 8];
        double[] logits = Wide(TestData.Uniform(targets.Length * Vocabulary, 5, 4f));
        var (_, gradient) = ReferenceCrossEntropy(logits, targets, Vocabulary, count: 7);
        AssertCentralDifferences(logits, gradient, v => ReferenceCrossEntropy(v, targets, Vocabulary, count: 7).Loss, "dlogits");
    }

    [Fact]
    public void The_embedding_reference_agrees_with_central_differences()
    {
        // L = Σ dy·(E[tokens[r]] + P[r mod T]): the reference's scatter-add is the gradient of E and P.
        const int T = 3, Width = 2, Vocabulary = 4;
        int[] tokens = [1, 1, 3, 0, 1, 2];
        double[] dy = Wide(TestData.Uniform(tokens.Length * Width, 6));
        double[] table = Wide(TestData.Uniform(Vocabulary * Width, 7)), positions = Wide(TestData.Uniform(T * Width, 8));
        double Loss(double[] e, double[] p) =>
            Enumerable.Range(0, tokens.Length * Width).Sum(k => dy[k] * (e[tokens[k / Width] * Width + k % Width] + p[k / Width % T * Width + k % Width]));
        var (tokenGradient, positionGradient) = ReferenceEmbedding(tokens, dy, Vocabulary, T, Width, 0, 0);
        AssertCentralDifferences(table, tokenGradient, v => Loss(v, positions), "dE");
        AssertCentralDifferences(positions, positionGradient, v => Loss(table, v), "dP");
    }

    private static (double[] Tokens, double[] Positions) ReferenceEmbedding(int[] tokens, IReadOnlyList<double> dy, int vocabulary, int sequenceLength, int width, double tokenStart, double positionStart)
    {
        double[] tokenGradient = Enumerable.Repeat(tokenStart, vocabulary * width).ToArray();
        double[] positionGradient = Enumerable.Repeat(positionStart, sequenceLength * width).ToArray();
        for (int r = 0; r < tokens.Length; r++)
        {
            for (int i = 0; i < width; i++)
            {
                tokenGradient[tokens[r] * width + i] += dy[r * width + i];
                positionGradient[r % sequenceLength * width + i] += dy[r * width + i];
            }
        }

        return (tokenGradient, positionGradient);
    }

    /// <summary>(L(v + h) − L(v − h)) / 2h for every element, h = 1e-5: truncation h²·L‴ ≈ 1e-10 and rounding ε/h ≈ 1e-11,
    /// so 1e-6 relative (of the element plus the gradient's RMS) leaves a wide margin and still catches a wrong term.</summary>
    private static void AssertCentralDifferences(double[] values, double[] gradient, Func<double[], double> loss, string what)
    {
        const double H = 1e-5;
        double rms = Math.Sqrt(gradient.Sum(g => g * g) / gradient.Length);
        for (int i = 0; i < values.Length; i++)
        {
            double[] plus = (double[])values.Clone(), minus = (double[])values.Clone();
            plus[i] += H;
            minus[i] -= H;
            double numeric = (loss(plus) - loss(minus)) / (2 * H);
            Assert.True(Math.Abs(numeric - gradient[i]) <= 1e-6 * (rms + Math.Abs(gradient[i])), $"{what}[{i}]: {gradient[i]:E9} against {numeric:E9}");
        }
    }

    // ---- the generated kernels against the references ----

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Layer_norm_forward_and_backward_match_the_float64_reference(string shapeName)
    {
        Kernels kernels = s_kernels[shapeName];
        int e = kernels.Shape.EmbeddingDim, rows = 3 * kernels.Shape.SequenceLength;
        float[] x = Rows(rows, e, 11), gamma = TestData.Uniform(e, 12).Select(v => 1 + 0.5f * v).ToArray(), beta = TestData.Uniform(e, 13, 0.2f);
        float[] dy = TestData.Uniform(rows * e, 14), residual = TestData.Uniform(rows * e, 15);
        float[] y = new float[rows * e], mean = new float[rows], rstd = new float[rows];
        kernels.Forward(x, gamma, beta, Epsilon, y, mean, rstd, -1);

        var (wantY, wantMean, wantRstd) = ReferenceLayerNorm(Wide(x), Wide(gamma), Wide(beta), e);
        AssertClose(wantY, y, $"{shapeName} y");
        AssertClose(wantMean, mean, $"{shapeName} mean");
        AssertClose(wantRstd, rstd, $"{shapeName} rstd");

        var (wantDx, wantDGamma, wantDBeta) = ReferenceLayerNormBackward(Wide(x), Wide(gamma), Wide(dy), e);
        foreach (bool withResidual in new[] { false, true })
        {
            // dγ and dβ are added to: start them at a known value.
            float[] dx = new float[rows * e], dGamma = Enumerable.Repeat(0.5f, e).ToArray(), dBeta = Enumerable.Repeat(0.5f, e).ToArray();
            kernels.Backward(x, gamma, mean, rstd, dy, withResidual ? residual : null, dx, dGamma, dBeta, -1);
            AssertClose(wantDx.Select((v, i) => v + (withResidual ? residual[i] : 0)).ToArray(), dx, $"{shapeName} dx (residual {withResidual})");
            AssertClose(wantDGamma.Select(v => v + 0.5).ToArray(), dGamma, $"{shapeName} dγ");
            AssertClose(wantDBeta.Select(v => v + 0.5).ToArray(), dBeta, $"{shapeName} dβ");
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Embedding_backward_matches_the_float64_reference(string shapeName)
    {
        Kernels kernels = s_kernels[shapeName];
        int t = kernels.Shape.SequenceLength, e = kernels.Shape.EmbeddingDim, rows = 3 * t, vocabulary = 5;
        // Few tokens, so most rows collide with others.
        int[] tokens = Enumerable.Range(0, rows).Select(r => r * 7 % vocabulary).ToArray();
        float[] dx = TestData.Uniform(rows * e, 21);
        float[] tokenGradient = Enumerable.Repeat(0.25f, vocabulary * e).ToArray(), positionGradient = Enumerable.Repeat(-0.25f, t * e).ToArray();
        float[] tokensOnly = Enumerable.Repeat(0.25f, vocabulary * e).ToArray();
        kernels.Embedding(tokens, dx, tokenGradient, positionGradient, -1);
        kernels.Embedding(tokens, dx, tokensOnly, null, 2);

        var (wantTokens, wantPositions) = ReferenceEmbedding(tokens, Wide(dx), vocabulary, t, e, 0.25, -0.25);
        AssertClose(wantTokens, tokenGradient, $"{shapeName} token gradient");
        AssertClose(wantPositions, positionGradient, $"{shapeName} position gradient");
        Assert.Equal(tokenGradient, tokensOnly);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Cross_entropy_matches_the_float64_reference(string shapeName)
    {
        Kernels kernels = s_kernels[shapeName];
        int rows = 2 * kernels.Shape.SequenceLength;
        foreach (int vocabulary in new[] { 1, 37, 300 })
        {
            // Logits far from zero: the max must be subtracted before the exponential.
            float[] logits = TestData.Uniform(rows * vocabulary, vocabulary, 6f).Select(v => v + 90f).ToArray();
            int[] targets = Targets(rows, vocabulary, vocabulary + 1);
            int scored = targets.Count(t => t != SoftmaxCrossEntropy.IgnoreIndex);
            foreach (int averageOver in new[] { 0, scored + 5 })
            {
                var gradient = new float[logits.Length];
                double loss = kernels.Loss(logits, targets, vocabulary, gradient, averageOver, -1);
                var (wantLoss, wantGradient) = ReferenceCrossEntropy(Wide(logits), targets, vocabulary, averageOver == 0 ? scored : averageOver);
                // The loss is formed in double from float exponentials (1 ulp each) and a float max: 1e-6 relative.
                Assert.True(Math.Abs(loss - wantLoss) <= 1e-6 * Math.Max(1, Math.Abs(wantLoss)), $"{shapeName} V={vocabulary}: loss {loss} against {wantLoss}");
                AssertClose(wantGradient, gradient, $"{shapeName} V={vocabulary} dlogits");
            }
        }
    }

    /// <summary>|got − want| ≤ 2e-5·(RMS of want + |want|), as the other backward kernels' tests: row sums of at most a few
    /// hundred float terms and LayerNorm's 1/σ amplification.</summary>
    private static void AssertClose(double[] want, float[] got, string what)
    {
        Assert.Equal(want.Length, got.Length);
        double rms = Math.Sqrt(want.Sum(v => v * v) / want.Length);
        for (int i = 0; i < want.Length; i++)
            Assert.True(Math.Abs(got[i] - want[i]) <= 2e-5 * (rms + Math.Abs(want[i])), $"{what}[{i}]: {got[i]:E6} against {want[i]:E6} (RMS {rms:E3})");
    }

    // ---- determinism ----

    /// <summary>Enough rows that every pass is above the parallel threshold (ColumnSplitTail: 21 × 256, 32 sequences).</summary>
    [Theory]
    [InlineData(nameof(ColumnSplitTail), 32)]
    [InlineData(nameof(Medium), 24)]
    public void Every_pass_gives_the_same_bits_for_every_thread_count_and_for_micro_batches(string shapeName, int batch)
    {
        Kernels kernels = s_kernels[shapeName];
        int t = kernels.Shape.SequenceLength, e = kernels.Shape.EmbeddingDim, rows = batch * t, half = rows / 2 / t * t;
        float[] x = Rows(rows, e, 31), gamma = TestData.Uniform(e, 32), beta = TestData.Uniform(e, 33), dy = TestData.Uniform(rows * e, 34);
        const int Vocabulary = 300;
        int[] tokens = Enumerable.Range(0, rows).Select(r => r * 13 % 17).ToArray();
        float[] logits = TestData.Uniform(rows * Vocabulary, 35, 5f);
        int[] targets = Targets(rows, Vocabulary, 36);
        int scored = targets.Count(v => v != SoftmaxCrossEntropy.IgnoreIndex);

        float[][] Run(int dop, bool micro)
        {
            float[] y = new float[rows * e], mean = new float[rows], rstd = new float[rows], dx = new float[rows * e];
            float[] dGamma = new float[e], dBeta = new float[e], tokenGradient = new float[17 * e], positionGradient = new float[t * e], dz = new float[logits.Length];
            kernels.Forward(x, gamma, beta, Epsilon, y, mean, rstd, dop);
            if (micro)
            {
                float[] Part(float[] a, int from, int to, int width) => a[(from * width)..(to * width)];
                foreach ((int from, int to) in new[] { (0, half), (half, rows) })
                {
                    float[] partDx = new float[(to - from) * e];
                    kernels.Backward(Part(x, from, to, e), gamma, Part(mean, from, to, 1), Part(rstd, from, to, 1), Part(dy, from, to, e), null, partDx, dGamma, dBeta, dop);
                    partDx.CopyTo(dx, from * e);
                    kernels.Embedding(tokens[from..to], Part(dy, from, to, e), tokenGradient, positionGradient, dop);
                    float[] partDz = new float[(to - from) * Vocabulary];
                    kernels.Loss(Part(logits, from, to, Vocabulary), targets[from..to], Vocabulary, partDz, scored, dop);
                    partDz.CopyTo(dz, from * Vocabulary);
                }

                return [y, mean, rstd, dx, dGamma, dBeta, tokenGradient, positionGradient, dz];
            }

            kernels.Backward(x, gamma, mean, rstd, dy, null, dx, dGamma, dBeta, dop);
            kernels.Embedding(tokens, dy, tokenGradient, positionGradient, dop);
            double loss = kernels.Loss(logits, targets, Vocabulary, dz, 0, dop);
            return [y, mean, rstd, dx, dGamma, dBeta, tokenGradient, positionGradient, dz, [(float)loss], BitConverter.GetBytes(loss).Select(b => (float)b).ToArray()];
        }

        float[][] one = Run(1, false);
        string[] names = ["y", "mean", "rstd", "dx", "dγ", "dβ", "token gradient", "position gradient", "dlogits", "loss", "loss bits"];
        foreach (int dop in new[] { 2, -1 })
        {
            float[][] other = Run(dop, false);
            for (int i = 0; i < one.Length; i++)
                Assert.True(Bits(one[i]).SequenceEqual(Bits(other[i])), $"{names[i]}: 1 thread and {dop} differ");
        }

        float[][] micro = Run(-1, true);
        for (int i = 0; i < micro.Length; i++)
            Assert.True(Bits(one[i]).SequenceEqual(Bits(micro[i])), $"{names[i]}: micro-batches differ");
    }

    private static IEnumerable<int> Bits(float[] values) => values.Select(BitConverter.SingleToInt32Bits);

    // ---- rejection before any write ----

    [Fact]
    public void Wrong_lengths_and_ids_are_rejected_before_any_write()
    {
        Kernels k = s_kernels[nameof(Odd)];
        int t = 7, e = 13, rows = 2 * t;
        float[] x = Rows(rows, e, 41), gamma = new float[e], beta = new float[e], dy = TestData.Uniform(rows * e, 42);
        float[] y = Filled(rows * e), mean = Filled(rows), rstd = Filled(rows), dx = Filled(rows * e), dGamma = Filled(e), dBeta = Filled(e);
        float[][] outputs = [y, mean, rstd, dx, dGamma, dBeta];

        void Rejects(Action call, string expected)
        {
            var error = Assert.ThrowsAny<ArgumentException>(call);
            Assert.Contains(expected, error.Message);
            foreach (float[] output in outputs)
                Assert.All(output, v => Assert.Equal(7f, v));
        }

        Rejects(() => k.Forward(x[1..], gamma, beta, Epsilon, y, mean, rstd, 1), "91 = 7×13");
        Rejects(() => k.Forward(x, gamma[1..], beta, Epsilon, y, mean, rstd, 1), "gamma");
        Rejects(() => k.Forward(x, gamma, beta, Epsilon, y, mean[1..], rstd, 1), "expected 14");
        Rejects(() => k.Forward(x, gamma, beta, -1f, y, mean, rstd, 1), "epsilon");
        Rejects(() => k.Backward(x, gamma, mean, rstd, dy[1..], null, dx, dGamma, dBeta, 1), "outputGradient");
        Rejects(() => k.Backward(x, gamma, mean, rstd, dy, new float[5], dx, dGamma, dBeta, 1), "residualGradient");
        Rejects(() => k.Backward(x, gamma, mean, rstd, dy, null, dx, dGamma[1..], dBeta, 1), "expected 13");
        Rejects(() => k.Backward(x, gamma, mean, rstd, dy, null, dx, dGamma, dGamma, 1), "gammaGradient");

        int[] tokens = Enumerable.Range(0, rows).Select(r => r % 3).ToArray();
        float[] tokenGradient = Filled(3 * e), positionGradient = Filled(t * e);
        outputs = [tokenGradient, positionGradient];
        int[] badToken = (int[])tokens.Clone();
        badToken[^1] = 3;
        Rejects(() => k.Embedding(badToken, dy, tokenGradient, positionGradient, 1), "tokens[13]");
        badToken[^1] = -1;
        Rejects(() => k.Embedding(badToken, dy, tokenGradient, positionGradient, 1), "[0, 3)");
        Rejects(() => k.Embedding(tokens[1..], dy, tokenGradient, positionGradient, 1), "multiple of 7");
        Rejects(() => k.Embedding(tokens, dy[1..], tokenGradient, positionGradient, 1), "outputGradient");
        Rejects(() => k.Embedding(tokens, dy, tokenGradient, positionGradient[1..], 1), "91 = 7×13");
        Rejects(() => k.Embedding(tokens, dy, tokenGradient[1..], positionGradient, 1), "tokenGradient");

        const int Vocabulary = 10;
        float[] logits = TestData.Uniform(rows * Vocabulary, 43), dz = Filled(rows * Vocabulary);
        int[] targets = Enumerable.Range(0, rows).Select(r => r % Vocabulary).ToArray();
        outputs = [dz];
        int[] badTarget = (int[])targets.Clone();
        badTarget[5] = Vocabulary;
        Rejects(() => k.Loss(logits, badTarget, Vocabulary, dz, 0, 1), "targets[5]");
        Rejects(() => k.Loss(logits[1..], targets, Vocabulary, dz, 0, 1), "expected 140");
        Rejects(() => k.Loss(logits, targets, Vocabulary, dz[1..], 0, 1), "logitGradients");
        Rejects(() => k.Loss(logits[..(6 * Vocabulary)], targets[..6], Vocabulary, dz[..(6 * Vocabulary)], 0, 1), "multiple of 7");
        Rejects(() => k.Loss(logits, targets, Vocabulary, dz, 3, 1), "averageOver");
    }

    /// <summary>The ids are read again while the gradient is written, so ids stored inside the gradient are refused up front.</summary>
    [Fact]
    public void Embedding_backward_refuses_token_ids_that_live_in_the_gradient_it_writes()
    {
        const int s = 4, e = 8;
        float[] tokenGradient = new float[3 * e];
        Span<int> aliased = MemoryMarshal.Cast<float, int>(tokenGradient.AsSpan(0, s));
        aliased.Clear();
        float[] dy = TestData.Uniform(s * e, 5);
        var error = Assert.Throws<ArgumentException>(() =>
            CompilerServices.TrainingOperations.EmbeddingBackward(
                MemoryMarshal.Cast<float, int>(tokenGradient.AsSpan(0, s)), dy, tokenGradient, default, s, e, columnBlock: 16, maxDegreeOfParallelism: 1));
        Assert.Contains("tokenGradient", error.Message, StringComparison.Ordinal);
        Assert.All(tokenGradient, value => Assert.Equal(0f, value));
    }

    /// <summary>A chunk size larger than the rows or columns is one chunk, not an overflowing chunk count that skips the work.</summary>
    [Fact]
    public void Row_passes_take_any_positive_chunk_size_and_give_the_same_bits()
    {
        const int s = 4, e = 8, vocabulary = 5;
        float[] logits = TestData.Uniform(s * vocabulary, 11);
        int[] targets = { 0, 4, 2, 1 };
        float[] small = new float[logits.Length], huge = new float[logits.Length];
        double lossSmall = CompilerServices.TrainingOperations.CrossEntropy(logits, targets, vocabulary, small, 0, s, rowsPerChunk: 1, maxDegreeOfParallelism: 1);
        double lossHuge = CompilerServices.TrainingOperations.CrossEntropy(logits, targets, vocabulary, huge, 0, s, rowsPerChunk: int.MaxValue, maxDegreeOfParallelism: 1);
        Assert.True(lossHuge > 0);
        Assert.Equal(small, huge);

        int[] tokens = { 1, 0, 2, 1 };
        float[] dy = TestData.Uniform(s * e, 12);
        float[] byBlock = new float[3 * e], whole = new float[3 * e];
        CompilerServices.TrainingOperations.EmbeddingBackward(tokens, dy, byBlock, default, s, e, columnBlock: 3, maxDegreeOfParallelism: 1);
        CompilerServices.TrainingOperations.EmbeddingBackward(tokens, dy, whole, default, s, e, columnBlock: int.MaxValue, maxDegreeOfParallelism: 1);
        Assert.Contains(whole, value => value != 0f);
        Assert.Equal(byBlock, whole);
    }

    private static float[] Filled(int length) => Enumerable.Repeat(7f, length).ToArray();
}
