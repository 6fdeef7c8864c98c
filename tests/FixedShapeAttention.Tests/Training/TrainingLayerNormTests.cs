using System;
using System.Linq;
using FixedShapeAttention.Training;
using Xunit;

namespace FixedShapeAttention.Tests.Training;

/// <summary>
/// The one-pass LayerNorm backward's two cases the shape tests do not reach: dx written over dy or over the residual
/// (each row is read for its dγ and dβ terms before its dx is written), and more sequences than one run's partial sums
/// hold (the sequences then go in groups, the partial sums still added in sequence order).
/// </summary>
public sealed class TrainingLayerNormTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(-1)]
    public void Dx_over_dy_or_the_residual_gives_the_bits_of_separate_buffers(int threads)
    {
        const int T = 5, E = 37, Rows = 4 * T;
        (float[] x, float[] gamma, float[] mean, float[] rstd) = Normalised(Rows, E, 1);
        float[] dy = TestData.Uniform(Rows * E, 2), residual = TestData.Uniform(Rows * E, 3);

        (float[] dx, float[] dGamma, float[] dBeta) Separate(bool withResidual)
        {
            float[] dx = new float[Rows * E], dGamma = new float[E], dBeta = new float[E];
            TrainingLayerNorm.Backward(x, gamma, mean, rstd, dy, withResidual ? residual : default, dx, dGamma, dBeta, T, threads);
            return (dx, dGamma, dBeta);
        }

        var want = Separate(withResidual: false);
        float[] overDy = (float[])dy.Clone(), dGamma = new float[E], dBeta = new float[E];
        TrainingLayerNorm.Backward(x, gamma, mean, rstd, overDy, default, overDy, dGamma, dBeta, T, threads);
        AssertBits(want.dx, overDy, "dx over dy");
        AssertBits(want.dGamma, dGamma, "dγ with dx over dy");
        AssertBits(want.dBeta, dBeta, "dβ with dx over dy");

        var wantWithResidual = Separate(withResidual: true);
        float[] overResidual = (float[])residual.Clone();
        dGamma = new float[E];
        dBeta = new float[E];
        TrainingLayerNorm.Backward(x, gamma, mean, rstd, dy, overResidual, overResidual, dGamma, dBeta, T, threads);
        AssertBits(wantWithResidual.dx, overResidual, "dx over the residual");
        AssertBits(wantWithResidual.dGamma, dGamma, "dγ with dx over the residual");
    }

    [Fact]
    public void More_sequences_than_one_run_holds_give_the_bits_of_micro_batches()
    {
        // 4096 columns: one run keeps the partial sums of 512 sequences, so 600 one-row sequences take two runs.
        const int E = 4096, Rows = 600, Half = 300;
        (float[] x, float[] gamma, float[] mean, float[] rstd) = Normalised(Rows, E, 4);
        float[] dy = TestData.Uniform(Rows * E, 5);

        float[] dx = new float[Rows * E], dGamma = new float[E], dBeta = new float[E];
        TrainingLayerNorm.Backward(x, gamma, mean, rstd, dy, default, dx, dGamma, dBeta, 1, -1);

        float[] microDx = new float[Rows * E], microGamma = new float[E], microBeta = new float[E];
        foreach (int first in new[] { 0, Half })
        {
            Range rows = first..(first + Half), values = (first * E)..((first + Half) * E);
            TrainingLayerNorm.Backward(x[values], gamma, mean[rows], rstd[rows], dy[values], default, microDx.AsSpan(values), microGamma, microBeta, 1, 1);
        }

        AssertBits(dx, microDx, "dx");
        AssertBits(dGamma, microGamma, "dγ");
        AssertBits(dBeta, microBeta, "dβ");

        // And the sums themselves: dβ is Σ dy per column, within recursive summation's bound, (n − 1)·2⁻²⁴·Σ|dy|; a
        // sequence left out or added twice moves it by |dy|, about 0.5.
        for (int j = 0; j < E; j += 97)
        {
            double want = Enumerable.Range(0, Rows).Sum(r => (double)dy[r * E + j]);
            double bound = (Rows - 1) * Math.Pow(2, -24) * Enumerable.Range(0, Rows).Sum(r => Math.Abs((double)dy[r * E + j]));
            Assert.True(Math.Abs(dBeta[j] - want) <= bound, $"dβ[{j}]: {dBeta[j]} against {want} (bound {bound:E2})");
        }
    }

    /// <summary>Rows of x with their μ and σ⁻¹ from the forward pass, and a γ around 1.</summary>
    private static (float[] X, float[] Gamma, float[] Mean, float[] Rstd) Normalised(int rows, int width, int seed)
    {
        float[] x = TestData.Uniform(rows * width, seed), gamma = TestData.Uniform(width, seed + 100).Select(v => 1 + 0.5f * v).ToArray();
        float[] y = new float[rows * width], mean = new float[rows], rstd = new float[rows];
        TrainingLayerNorm.Forward(x, gamma, new float[width], 1e-5f, y, mean, rstd, 1, 1);
        return (x, gamma, mean, rstd);
    }

    private static void AssertBits(float[] want, float[] got, string what)
    {
        for (int i = 0; i < want.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(want[i]) == BitConverter.SingleToInt32Bits(got[i]), $"{what}[{i}]: {got[i]:R} against {want[i]:R}");
    }
}
