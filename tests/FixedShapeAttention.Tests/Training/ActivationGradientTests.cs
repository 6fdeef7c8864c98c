using System;
using FixedShapeAttention.CompilerServices;
using Xunit;

namespace FixedShapeAttention.Tests.Training;

/// <summary>
/// dg · act′(h) as a training step takes it (<see cref="TrainingOperations.ActivationBackward"/>, at the widest width
/// the process has: the CI's other ISA passes run it at Vector256, Vector128 and scalar) against the float64 derivative
/// of <see cref="ReferenceGpt.ActivationDerivative"/>, element by element and relative to each element, over the tails as
/// well as the middle: a derivative whose own value is small must keep its digits too, since it scales that element's
/// gradient alone. Each error is taken relative to the sum of the magnitudes of the derivative's two terms, which is its
/// own magnitude except near the derivative's zero (x ≈ −0.75 for GELU), where the terms cancel in any precision.
/// </summary>
public class ActivationGradientTests
{
    /// <summary>A few floats' worth of relative error from e^z, the division and the products after it.</summary>
    private const double RelativeTolerance = 1e-6;

    /// <summary>Four roundings of the exponent z, each moving e^z by |z|·2⁻²⁴ relative: e^z of a z rounded to float is no
    /// closer than that in any implementation (z = 2u = −66 at x = −9 for tanh GELU).</summary>
    private const double PerUnitOfExponent = 4 * 5.96e-8;

    /// <summary>The exponent whose e^z the derivative takes: 2u for tanh GELU, −x for SiLU, −x²/2 for GELU.</summary>
    private static double Exponent(Activation activation, double x) => activation switch
    {
        Activation.GeluTanh => 2 * Math.Sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x),
        Activation.Silu => -x,
        _ => -x * x / 2,
    };

    /// <summary>|first term| + |second term| of the derivative in float64 (<see cref="ReferenceGpt.ActivationDerivativeTerms"/>).</summary>
    private static double TermMagnitude(Activation activation, double x)
    {
        var (first, second) = ReferenceGpt.ActivationDerivativeTerms(activation, x);
        return Math.Abs(first) + Math.Abs(second);
    }

    [Theory]
    [InlineData(Activation.GeluTanh, -9.0, 12.0)]
    [InlineData(Activation.Silu, -30.0, 30.0)]
    [InlineData(Activation.Gelu, -5.0, 8.0)]
    public void Each_derivative_keeps_its_relative_accuracy_over_the_tails(Activation activation, double low, double high)
    {
        const int Count = 100_003;
        var h = new float[Count];
        var dg = new float[Count];
        for (int i = 0; i < Count; i++)
        {
            h[i] = (float)(low + (high - low) * i / (Count - 1));
            dg[i] = 1f;
        }

        TrainingOperations.ActivationBackward(activation, h, dg, Count, 1);

        double worst = 0;
        float worstAt = 0;
        // The error over the tolerance at each h: the worst must stay at or below 1.
        for (int i = 0; i < Count; i++)
        {
            double expected = ReferenceGpt.ActivationDerivative(activation, h[i]);
            // Below the least normal float a derivative is not representable to relative precision; those are compared absolutely.
            double error = Math.Abs(dg[i] - expected) / Math.Max(TermMagnitude(activation, h[i]), 1e-37)
                / (RelativeTolerance + PerUnitOfExponent * Math.Abs(Exponent(activation, h[i])));
            if (error > worst)
                (worst, worstAt) = (error, h[i]);
        }

        Assert.True(worst <= 1, $"{activation}′: worst error {worst:0.00}× the tolerance at h = {worstAt:r}");
    }

    [Theory]
    [InlineData(-5f, -1.5463628e-6)]
    [InlineData(-4f, -3.3512316e-4)]
    public void Tanh_gelu_derivative_below_minus_four_is_not_lost_to_cancellation(float h, double expected)
    {
        var dg = new[] { 1f };
        TrainingOperations.ActivationBackward(Activation.GeluTanh, new[] { h }, dg, 1, 1);
        Assert.Equal(expected, dg[0], Math.Abs(expected) * 1e-5);
        Assert.Equal(expected, ReferenceGpt.ActivationDerivative(Activation.GeluTanh, h), Math.Abs(expected) * 1e-6);
    }
}
