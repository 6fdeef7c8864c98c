// Element-wise activations, one operator struct each, in the style of TensorPrimitives' operators: the same
// formula at every width, so the generated scalar branch is a readable reference for the vector ones.
//
// Accuracy: Relu is exact. Gelu uses erfc from Numerical Recipes (2nd ed., §6.2, "erfcc": a Chebyshev fit with
// fractional error below 1.2e-7 everywhere) on top of ExpOperator, so it is accurate to a few float ulps in
// relative terms, also in the negative tail where 1 + erf(x) would cancel. GeluTanh and Silu are written as
// x·sigmoid(·), which is the tanh form rearranged (0.5·(1 + tanh(u)) = sigmoid(2u)); they inherit the accuracy
// of exp and overflow cleanly to ±0 or x.
//
// Special values: act(NaN) = NaN, act(+Inf) = +Inf and act(−Inf) = 0 (−0 for the smooth ones, their limit). Gelu,
// GeluTanh and Silu first raise x to at least float.MinValue: at −Inf their formulas would compute −Inf/Inf or −Inf·0,
// which is NaN, while at the lowest finite float they give −0. The clamp is a NaN-propagating Max (MathF.Max and,
// since .NET 9, Vector*.Max), so it leaves every finite x and NaN exactly as they are.

using System;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FixedShapeAttention.CompilerServices;

/// <summary>An element-wise activation at the three widths the kernels use.</summary>
/// <remarks>For generated code; no compatibility promise: this namespace may change in any release.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public interface IActivationOperator
{
    /// <summary>The activation of one value.</summary>
    static abstract float Invoke(float x);

    /// <summary>The activation of four values.</summary>
    static abstract Vector128<float> Invoke(Vector128<float> x);

    /// <summary>The activation of eight values.</summary>
    static abstract Vector256<float> Invoke(Vector256<float> x);

    /// <summary>The activation of sixteen values.</summary>
    static abstract Vector512<float> Invoke(Vector512<float> x);
}

/// <summary><c>max(x, 0)</c>; NaN stays NaN.</summary>
/// <remarks>For generated code; no compatibility promise: this namespace may change in any release.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct ReluOperator : IActivationOperator
{
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float x) => MathF.Max(x, 0f);

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> x) => Vector128.Max(x, Vector128<float>.Zero);

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x) => Vector256.Max(x, Vector256<float>.Zero);

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> x) => Vector512.Max(x, Vector512<float>.Zero);
}

/// <summary>Exact GELU, <c>x/2·erfc(−x/√2)</c>.</summary>
/// <remarks>
/// erfc(z) = t·exp(−z² + p(t)), t = 1/(1 + z/2), z = |x|/√2, for the positive half, and 2 − erfc(|z|) for the
/// negative one (here: x &gt; 0). The exponent −x²/2 + p(t) is formed by one fused multiply-add from x itself, so it
/// is rounded once: for large |x| that rounding, |x²/2|·2⁻²⁴ relative after exp, is what limits the accuracy.
/// <para>For generated code; no compatibility promise: this namespace may change in any release.</para>
/// </remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct GeluOperator : IActivationOperator
{
    private const float HalfInvSqrt2 = 0.35355339059327376f;

    // Numerical Recipes erfcc coefficients, innermost first.
    private const float C0 = -1.26551223f, C1 = 1.00002368f, C2 = 0.37409196f, C3 = 0.09678418f, C4 = -0.18628806f;
    private const float C5 = 0.27886807f, C6 = -1.13520398f, C7 = 1.48851587f, C8 = -0.82215223f, C9 = 0.17087277f;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float x)
    {
        x = MathF.Max(x, float.MinValue);
        float t = 1f / (1f + HalfInvSqrt2 * MathF.Abs(x));
        float poly = C9;
        poly = poly * t + C8; poly = poly * t + C7; poly = poly * t + C6; poly = poly * t + C5;
        poly = poly * t + C4; poly = poly * t + C3; poly = poly * t + C2; poly = poly * t + C1; poly = poly * t + C0;
        float erfcOfAbs = t * ExpOperator.Invoke(MathF.FusedMultiplyAdd(-0.5f * x, x, poly));
        return 0.5f * x * (x > 0f ? 2f - erfcOfAbs : erfcOfAbs);
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> x)
    {
        x = Vector128.Max(x, Vector128.Create(float.MinValue));
        Vector128<float> t = Vector128<float>.One / (Vector128<float>.One + Vector128.Create(HalfInvSqrt2) * Vector128.Abs(x));
        Vector128<float> poly = Vector128.Create(C9);
        poly = poly * t + Vector128.Create(C8); poly = poly * t + Vector128.Create(C7); poly = poly * t + Vector128.Create(C6);
        poly = poly * t + Vector128.Create(C5); poly = poly * t + Vector128.Create(C4); poly = poly * t + Vector128.Create(C3);
        poly = poly * t + Vector128.Create(C2); poly = poly * t + Vector128.Create(C1); poly = poly * t + Vector128.Create(C0);
        Vector128<float> erfcOfAbs = t * ExpOperator.Invoke(Vector128.MultiplyAddEstimate(Vector128.Create(-0.5f) * x, x, poly));
        Vector128<float> erfc = Vector128.ConditionalSelect(Vector128.GreaterThan(x, Vector128<float>.Zero), Vector128.Create(2f) - erfcOfAbs, erfcOfAbs);
        return Vector128.Create(0.5f) * x * erfc;
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x)
    {
        x = Vector256.Max(x, Vector256.Create(float.MinValue));
        Vector256<float> t = Vector256<float>.One / (Vector256<float>.One + Vector256.Create(HalfInvSqrt2) * Vector256.Abs(x));
        Vector256<float> poly = Vector256.Create(C9);
        poly = poly * t + Vector256.Create(C8); poly = poly * t + Vector256.Create(C7); poly = poly * t + Vector256.Create(C6);
        poly = poly * t + Vector256.Create(C5); poly = poly * t + Vector256.Create(C4); poly = poly * t + Vector256.Create(C3);
        poly = poly * t + Vector256.Create(C2); poly = poly * t + Vector256.Create(C1); poly = poly * t + Vector256.Create(C0);
        Vector256<float> erfcOfAbs = t * ExpOperator.Invoke(Vector256.FusedMultiplyAdd(Vector256.Create(-0.5f) * x, x, poly));
        Vector256<float> erfc = Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), Vector256.Create(2f) - erfcOfAbs, erfcOfAbs);
        return Vector256.Create(0.5f) * x * erfc;
    }

    /// <inheritdoc/>
    /// <remarks>
    /// The hot width (the feed-forward pass of every BERT layer), so it differs from the narrower ones: t is AVX-512's
    /// 14-bit reciprocal estimate refined by one Newton step (relative error below 2⁻²⁶, under half an ulp, instead of
    /// a division that issues once every several cycles), and p(t) is evaluated by Estrin's scheme with fused
    /// multiply-adds (Horner's nine dependent steps left the pass latency-bound: 9.4 → 7.3 ns per vector together with
    /// the exp's vscalefps). These change the last bits at most; the tests hold every width to the same float64 reference.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> x)
    {
        x = Vector512.Max(x, Vector512.Create(float.MinValue));
        Vector512<float> denominator = Vector512.FusedMultiplyAdd(Vector512.Create(HalfInvSqrt2), Vector512.Abs(x), Vector512<float>.One);
        Vector512<float> t = Reciprocal(denominator);
        // Estrin's scheme: four levels of dependent operations instead of Horner's nine; the pass is latency-bound.
        Vector512<float> t2 = t * t;
        Vector512<float> t4 = t2 * t2;
        Vector512<float> q01 = Vector512.FusedMultiplyAdd(Vector512.Create(C1), t, Vector512.Create(C0));
        Vector512<float> q23 = Vector512.FusedMultiplyAdd(Vector512.Create(C3), t, Vector512.Create(C2));
        Vector512<float> q45 = Vector512.FusedMultiplyAdd(Vector512.Create(C5), t, Vector512.Create(C4));
        Vector512<float> q67 = Vector512.FusedMultiplyAdd(Vector512.Create(C7), t, Vector512.Create(C6));
        Vector512<float> q89 = Vector512.FusedMultiplyAdd(Vector512.Create(C9), t, Vector512.Create(C8));
        Vector512<float> r03 = Vector512.FusedMultiplyAdd(q23, t2, q01);
        Vector512<float> r47 = Vector512.FusedMultiplyAdd(q67, t2, q45);
        Vector512<float> poly = Vector512.FusedMultiplyAdd(Vector512.FusedMultiplyAdd(q89, t4, r47), t4, r03);
        Vector512<float> erfcOfAbs = t * ExpOperator.Invoke(Vector512.FusedMultiplyAdd(Vector512.Create(-0.5f) * x, x, poly));
        Vector512<float> erfc = Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), Vector512.Create(2f) - erfcOfAbs, erfcOfAbs);
        return Vector512.Create(0.5f) * x * erfc;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Reciprocal(Vector512<float> d)
    {
        if (Avx512F.IsSupported)
        {
            Vector512<float> estimate = Avx512F.Reciprocal14(d);
            Vector512<float> refined = estimate * Vector512.FusedMultiplyAdd(-d, estimate, Vector512.Create(2f));
            // The Newton step turns 1/∞ = 0 into 0·(2 − ∞·0) = NaN; x = ±∞ must give t = 0 as the division does.
            return Vector512.ConditionalSelect(Vector512.Equals(d, Vector512.Create(float.PositiveInfinity)), Vector512<float>.Zero, refined);
        }

        return Vector512<float>.One / d;
    }
}

/// <summary>GELU, tanh approximation: <c>x·sigmoid(2·√(2/π)·(x + 0.044715·x³))</c>.</summary>
/// <remarks>For generated code; no compatibility promise: this namespace may change in any release.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct GeluTanhOperator : IActivationOperator
{
    private const float MinusTwoSqrt2OverPi = -1.5957691216057308f;
    private const float Cubic = 0.044715f;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float x)
    {
        x = MathF.Max(x, float.MinValue);
        return x / (1f + ExpOperator.Invoke(MinusTwoSqrt2OverPi * (x + Cubic * x * x * x)));
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> x)
    {
        x = Vector128.Max(x, Vector128.Create(float.MinValue));
        return x / (Vector128<float>.One + ExpOperator.Invoke(Vector128.Create(MinusTwoSqrt2OverPi) * (x + Vector128.Create(Cubic) * x * x * x)));
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x)
    {
        x = Vector256.Max(x, Vector256.Create(float.MinValue));
        return x / (Vector256<float>.One + ExpOperator.Invoke(Vector256.Create(MinusTwoSqrt2OverPi) * (x + Vector256.Create(Cubic) * x * x * x)));
    }

    /// <inheritdoc/>
    /// <remarks>
    /// The hot width (the feed-forward pass of every GPT layer and of a training step), so it differs from the
    /// narrower ones: the exponent is −2k·x·(1 + c·x²), one fused multiply-add and two multiplies instead of five
    /// operations, and e^x skips the end selects that 1/(1 + e^x) does not need (<see cref="ExpOperator"/>'s
    /// ExpSaturating). 0.57–0.60 → 0.43 ms per million values, one thread, AVX-512 (2026-12-01); the largest error
    /// against float64 over [−12, 12] is unchanged (5.2e-7 absolute) and ±Inf, NaN and the lowest float give what the
    /// other widths give.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> x)
    {
        x = Vector512.Max(x, Vector512.Create(float.MinValue));
        Vector512<float> exponent = Vector512.FusedMultiplyAdd(x * x, Vector512.Create(MinusTwoSqrt2OverPi * Cubic), Vector512.Create(MinusTwoSqrt2OverPi)) * x;
        return x / (Vector512<float>.One + ExpOperator.ExpSaturating(exponent));
    }
}

/// <summary>SiLU, <c>x·sigmoid(x) = x / (1 + e^−x)</c>.</summary>
/// <remarks>For generated code; no compatibility promise: this namespace may change in any release.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public readonly struct SiluOperator : IActivationOperator
{
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float x)
    {
        x = MathF.Max(x, float.MinValue);
        return x / (1f + ExpOperator.Invoke(-x));
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> x)
    {
        x = Vector128.Max(x, Vector128.Create(float.MinValue));
        return x / (Vector128<float>.One + ExpOperator.Invoke(-x));
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x)
    {
        x = Vector256.Max(x, Vector256.Create(float.MinValue));
        return x / (Vector256<float>.One + ExpOperator.Invoke(-x));
    }

    /// <inheritdoc/>
    /// <remarks>e^−x skips the end selects that 1/(1 + e^−x) does not need (ExpSaturating): the same
    /// bits except where e^−x is past 2^127.5, there x/(1 + e^−x) is about −3e-37 instead of −0.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> x)
    {
        x = Vector512.Max(x, Vector512.Create(float.MinValue));
        return x / (Vector512<float>.One + ExpOperator.ExpSaturating(-x));
    }
}
