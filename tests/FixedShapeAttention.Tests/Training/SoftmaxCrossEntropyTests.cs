using System;
using System.Linq;
using FixedShapeAttention.Training;
using Xunit;

namespace FixedShapeAttention.Tests.Training;

public sealed class SoftmaxCrossEntropyTests
{
    /// <summary>The loss and gradient in float64, with the max subtracted.</summary>
    private static (double Loss, double[] Gradient) Reference(float[] logits, int[] targets, int vocabulary)
    {
        var gradient = new double[logits.Length];
        int scored = targets.Count(t => t != SoftmaxCrossEntropy.IgnoreIndex);
        double loss = 0;
        for (int row = 0; row < targets.Length; row++)
        {
            if (targets[row] == SoftmaxCrossEntropy.IgnoreIndex)
                continue;
            double max = double.NegativeInfinity;
            for (int j = 0; j < vocabulary; j++)
                max = Math.Max(max, logits[row * vocabulary + j]);
            double sum = 0;
            for (int j = 0; j < vocabulary; j++)
                sum += Math.Exp(logits[row * vocabulary + j] - max);
            loss += max + Math.Log(sum) - logits[row * vocabulary + targets[row]];
            for (int j = 0; j < vocabulary; j++)
                gradient[row * vocabulary + j] = (Math.Exp(logits[row * vocabulary + j] - max) / sum - (j == targets[row] ? 1 : 0)) / scored;
        }

        return (scored == 0 ? 0 : loss / scored, gradient);
    }

    public static TheoryData<int, int> Sizes => new() { { 1, 1 }, { 3, 7 }, { 4, 8 }, { 5, 37 }, { 16, 256 }, { 2, 50_257 } };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Loss_and_gradient_match_the_float64_reference(int rows, int vocabulary)
    {
        float[] logits = TestData.Uniform(rows * vocabulary, rows + vocabulary, 8f);
        int[] targets = Enumerable.Range(0, rows).Select(r => (r * 7919) % vocabulary).ToArray();
        var gradient = new float[logits.Length];

        double loss = SoftmaxCrossEntropy.Compute(logits, targets, vocabulary, gradient);

        var (referenceLoss, referenceGradient) = Reference(logits, targets, vocabulary);
        Assert.Equal(referenceLoss, loss, 1e-6 * Math.Max(1, Math.Abs(referenceLoss)));
        // Each gradient element is e^(z − max) (1 ulp) times a float scale: a few ulp relative, plus the rounding of
        // p − 1 at the target, one ulp of 1/rows.
        for (int i = 0; i < gradient.Length; i++)
            Assert.True(Math.Abs(gradient[i] - referenceGradient[i]) <= 4e-7 * Math.Abs(referenceGradient[i]) + 1.2e-7 / rows,
                $"gradient[{i}]: {gradient[i]} against {referenceGradient[i]}");
    }

    [Fact]
    public void The_reference_gradient_agrees_with_central_differences_of_the_reference_loss()
    {
        const int Rows = 3, Vocabulary = 11;
        float[] logits = TestData.Uniform(Rows * Vocabulary, 4, 3f);
        int[] targets = [2, SoftmaxCrossEntropy.IgnoreIndex, 10];
        var (_, gradient) = Reference(logits, targets, Vocabulary);
        double[] z = logits.Select(x => (double)x).ToArray();
        for (int i = 0; i < z.Length; i++)
        {
            const double H = 1e-5;
            double saved = z[i];
            z[i] = saved + H;
            double plus = LossOf(z, targets, Vocabulary);
            z[i] = saved - H;
            double minus = LossOf(z, targets, Vocabulary);
            z[i] = saved;
            double numeric = (plus - minus) / (2 * H);
            Assert.True(Math.Abs(numeric - gradient[i]) <= 1e-6 * Math.Max(Math.Abs(gradient[i]), 1e-3), $"{i}: {numeric} against {gradient[i]}");
        }
    }

    private static double LossOf(double[] z, int[] targets, int vocabulary)
    {
        double loss = 0;
        int scored = 0;
        for (int row = 0; row < targets.Length; row++)
        {
            if (targets[row] == SoftmaxCrossEntropy.IgnoreIndex)
                continue;
            scored++;
            double max = z.Skip(row * vocabulary).Take(vocabulary).Max();
            double sum = z.Skip(row * vocabulary).Take(vocabulary).Sum(x => Math.Exp(x - max));
            loss += max + Math.Log(sum) - z[row * vocabulary + targets[row]];
        }

        return loss / scored;
    }

    [Fact]
    public void Huge_and_infinite_logits_stay_finite_where_the_exact_answer_is()
    {
        float[] logits = [1e30f, 1e30f - 1e24f, float.NegativeInfinity, 0f, -1e30f, 3e38f, 3e38f, float.NegativeInfinity];
        int[] targets = [1, 2];
        var gradient = new float[logits.Length];

        double loss = SoftmaxCrossEntropy.Compute(logits, targets, 4, gradient);

        var (referenceLoss, referenceGradient) = Reference(logits, targets, 4);
        Assert.True(double.IsFinite(loss));
        Assert.Equal(referenceLoss, loss, 1e-6 * Math.Abs(referenceLoss));
        for (int i = 0; i < gradient.Length; i++)
            Assert.Equal(referenceGradient[i], gradient[i], 1e-7);
        Assert.Equal(0f, gradient[2]);
    }

    [Fact]
    public void A_confident_target_keeps_the_digits_of_its_small_gradient()
    {
        // p = 1/(1 + 7e⁻²⁰): the target's gradient (p − 1)/2 ≈ −7.2e-9 is below float's resolution of p itself.
        float[] logits = [20f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 17f];
        int[] targets = [0, 7];
        var gradient = new float[logits.Length];

        SoftmaxCrossEntropy.Compute(logits, targets, 8, gradient);

        var (_, referenceGradient) = Reference(logits, targets, 8);
        Assert.Equal(-3.5 * Math.Exp(-20) / (1 + 7 * Math.Exp(-20)), referenceGradient[0], 1e-7 * 3.5 * Math.Exp(-20));
        foreach (int i in new[] { 0, 15 })
            Assert.Equal(referenceGradient[i], gradient[i], 1e-6 * Math.Abs(referenceGradient[i]));
    }

    [Fact]
    public void A_target_ahead_by_forty_logits_keeps_its_gradient_and_loss()
    {
        // Σ = 1 + 7e⁻⁴⁰ is 1 in double, so Σ − 1 has nothing left: the others must be added up apart.
        float[] logits = [40f, 0f, 0f, 0f, 0f, 0f, 0f, 0f];
        var gradient = new float[logits.Length];

        double loss = SoftmaxCrossEntropy.Compute(logits, [0], 8, gradient);

        double others = 7 * Math.Exp(-40);
        Assert.Equal(-others / (1 + others), gradient[0], 1e-6 * others);
        Assert.Equal(others, loss, 1e-6 * others);
    }

    [Fact]
    public void Ignored_rows_add_no_loss_and_get_a_zero_gradient()
    {
        float[] logits = TestData.Uniform(3 * 5, 8);
        var gradient = Enumerable.Repeat(float.NaN, logits.Length).ToArray();
        int[] targets = [SoftmaxCrossEntropy.IgnoreIndex, 4, SoftmaxCrossEntropy.IgnoreIndex];

        double loss = SoftmaxCrossEntropy.Compute(logits, targets, 5, gradient);

        Assert.Equal(Reference(logits, targets, 5).Loss, loss, 1e-6);
        Assert.All(gradient[..5].Concat(gradient[10..]), g => Assert.Equal(0f, g));
        Assert.Equal(0, SoftmaxCrossEntropy.Compute(logits, [SoftmaxCrossEntropy.IgnoreIndex, SoftmaxCrossEntropy.IgnoreIndex, SoftmaxCrossEntropy.IgnoreIndex], 5, gradient));
        Assert.All(gradient, g => Assert.Equal(0f, g));
    }

    [Fact]
    public void Writing_the_gradient_over_the_logits_gives_the_same_bits()
    {
        float[] logits = TestData.Uniform(6 * 37, 12, 4f);
        int[] targets = [0, 36, 5, 17, SoftmaxCrossEntropy.IgnoreIndex, 8];
        var separate = new float[logits.Length];
        double lossSeparate = SoftmaxCrossEntropy.Compute(logits, targets, 37, separate);
        float[] inPlace = (float[])logits.Clone();
        double lossInPlace = SoftmaxCrossEntropy.Compute(inPlace, targets, 37, inPlace);
        Assert.Equal(lossSeparate, lossInPlace);
        Assert.Equal(separate.Select(BitConverter.SingleToInt32Bits), inPlace.Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void Bad_arguments_throw_before_any_write()
    {
        float[] logits = TestData.Uniform(2 * 4, 1);
        float[] gradient = Enumerable.Repeat(7f, 8).ToArray();
        var range = Assert.Throws<ArgumentOutOfRangeException>(() => SoftmaxCrossEntropy.Compute(logits, [1, 4], 4, gradient));
        Assert.Contains("targets[1]", range.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => SoftmaxCrossEntropy.Compute(logits, [-1, 0], 4, gradient));
        var length = Assert.Throws<ArgumentException>(() => SoftmaxCrossEntropy.Compute(logits, [1, 2, 3], 4, gradient));
        Assert.Contains("expected 12", length.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => SoftmaxCrossEntropy.Compute(logits, [1, 2], 4, new float[7]));
        Assert.Throws<ArgumentException>(() => SoftmaxCrossEntropy.Compute(logits.AsSpan(0, 4), [1], 4, logits.AsSpan(2, 4)));
        Assert.Throws<ArgumentOutOfRangeException>(() => SoftmaxCrossEntropy.Compute(logits, [1, 2], 0, gradient));
        Assert.All(gradient, g => Assert.Equal(7f, g));
    }
}
