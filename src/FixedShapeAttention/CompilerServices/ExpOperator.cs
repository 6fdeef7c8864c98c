// e^x for the softmax and the smooth activations, inlined at every width. The platform's Vector512.Exp is accurate
// but on .NET 10 it is an out-of-line call that widens to double and returns through memory; in the attention
// softmax that call was ~50 % of the kernel's time. This is the classic single-precision scheme (Cody–Waite range
// reduction as in Cephes' expf, with its degree-6 minimax polynomial for e^r on |r| ≤ ln2/2):
//   n = round(x·log2 e),  r = x − n·ln2 (ln2 split in two so r is exact to float precision),
//   e^x = 2^n · (1 + r + r²·P(r)),  2^n built in the exponent bits, or with AVX-512 by vscalefps.
// Accuracy: within 1 ulp of the correctly rounded e^x over [−87.3, 88.3], measured against Math.Exp on every
// 1021st float in that range at all three widths (ExpOperatorTests asserts 2 ulp, to leave room for other FMA
// units). Invoke: results below 2^−126 (x < −87.34) flush to +0, x > 88.37 gives +Inf, NaN stays NaN, exp(−Inf) = 0
// and exp(+Inf) = +Inf.
//
// Exp2BelowOverflow is the attention softmax's: 2^t for t = score·c − max·c with c = log₂e/√d already in the scores, so
// the base change costs nothing and the argument is reduced exactly (XNNPACK's f32 rr1-p5-scalef, in base 2):
//   n = round(t) (vrndscaleps), r = t − n (vreduceps: exact, and 0 for t = −Inf, so no clamp), r ∈ [−1/2, 1/2],
//   2^r = 1 + r·Q(r) with Q of degree 4 (a relative minimax fit, 1.5·2⁻²⁴ on the interval, fitted for this file),
//   2^t = 2^n · 2^r by vscalefps (which rounds into the subnormals and gives +0 for n = −Inf).
// 8 operations per 16 values with AVX-512 (the softmax adds the subtraction and the running sum: 10), against 14 for
// the e^x it replaced there (Invoke without its range patches) plus the multiply by log₂e. Accuracy: within 2 ulp of the correctly rounded 2^t for normal
// results (ExpOperatorTests; the same FMA sequence simulated in float on every 101st float of [−1/2, 1/2] was 2 ulp
// from it on 0.1 % of them, 1 or 0 elsewhere), within 1 ulp of it in the subnormals with AVX-512;
// Vector256 and Vector128 build 2^n in the exponent bits and give +0 below 2^−126 (2^−127 and less exactly), as
// Invoke does. 2^0 = 1 exactly (the row's maximum gets weight 1), 2^−Inf = +0 (a masked key gets weight 0), NaN
// stays NaN. Arguments above 127 are not supported (the softmax's are ≤ 0).

using System;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FixedShapeAttention.CompilerServices;

/// <summary>e^x at every width the kernels use; see the file's header for the method and its error bound.</summary>
/// <remarks>For generated code; no compatibility promise: this namespace may change in any release.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class ExpOperator
{
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2High = 0.693359375f;        // 0.693359375 has 9 significant bits: n·Ln2High is exact
    private const float Ln2Low = -2.12194440e-4f;      // ln 2 − Ln2High
    private const float LowestArgument = -87.3365447505531f;  // ln(2^−126): below it the result is not normal
    private const float HighestArgument = 88.3762626647949f;  // ln(2^127.5): above it the result overflows
    private const float ZeroBelow = -110f;                  // e^−110 ≈ 2^−158.7, below half the least subnormal (2^−150): +0
    private const float SaturatingHighest = 100f;           // e^100 ≈ 2^144.3: vscalefps overflows to +Inf
    // 2^r = 1 + r·(Q1 + r·(Q2 + r·(Q3 + r·(Q4 + r·Q5)))) on [−1/2, 1/2]: Remez fit of (2^r − 1)/r weighted by |r|/2^r, so the
    // error is relative to 2^r; max 9.1e−8 before rounding (the coefficients are the fit's, rounded to float).
    private const float Q1 = 0.693147004f, Q2 = 0.240222424f, Q3 = 0.0555073358f, Q4 = 0.00967151299f, Q5 = 0.00132647273f;
    private const float Exp2Floor = -127f;                 // Vector256/128: 2^n from the exponent bits is +0 at n = −127
    private const byte RoundToNearest = 0x08;              // vrndscaleps/vreduceps: 0 fraction bits, to nearest, no precision exception
    private const float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f, P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    /// <summary>e^x of one value (the platform's).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Invoke(float x) => MathF.Exp(x);

    /// <summary>e^x of four values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Invoke(Vector128<float> x)
    {
        Vector128<float> clamped = Vector128.MinNative(Vector128.MaxNative(x, Vector128.Create(LowestArgument)), Vector128.Create(HighestArgument));
        Vector128<float> n = Vector128.Round(clamped * Vector128.Create(Log2E));
        Vector128<float> r = Vector128.MultiplyAddEstimate(n, Vector128.Create(-Ln2High), clamped);
        r = Vector128.MultiplyAddEstimate(n, Vector128.Create(-Ln2Low), r);
        Vector128<float> p = Vector128.MultiplyAddEstimate(Vector128.Create(P0), r, Vector128.Create(P1));
        p = Vector128.MultiplyAddEstimate(p, r, Vector128.Create(P2));
        p = Vector128.MultiplyAddEstimate(p, r, Vector128.Create(P3));
        p = Vector128.MultiplyAddEstimate(p, r, Vector128.Create(P4));
        p = Vector128.MultiplyAddEstimate(p, r, Vector128.Create(P5));
        p = Vector128.MultiplyAddEstimate(p, r * r, r) + Vector128<float>.One;
        Vector128<float> scale = Vector128.ShiftLeft(Vector128.ConvertToInt32Native(n) + Vector128.Create(127), 23).AsSingle();
        Vector128<float> result = p * scale;
        result = Vector128.ConditionalSelect(Vector128.LessThan(x, Vector128.Create(LowestArgument)), Vector128<float>.Zero, result);
        result = Vector128.ConditionalSelect(Vector128.GreaterThan(x, Vector128.Create(HighestArgument)), Vector128.Create(float.PositiveInfinity), result);
        return Vector128.ConditionalSelect(Vector128.Equals(x, x), result, x);
    }

    /// <summary>e^x of eight values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Invoke(Vector256<float> x)
    {
        Vector256<float> clamped = Vector256.MinNative(Vector256.MaxNative(x, Vector256.Create(LowestArgument)), Vector256.Create(HighestArgument));
        Vector256<float> n = Vector256.Round(clamped * Vector256.Create(Log2E));
        Vector256<float> r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2High), clamped);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Low), r);
        Vector256<float> p = Vector256.FusedMultiplyAdd(Vector256.Create(P0), r, Vector256.Create(P1));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P2));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P3));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P4));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(P5));
        p = Vector256.FusedMultiplyAdd(p, r * r, r) + Vector256<float>.One;
        Vector256<float> scale = Vector256.ShiftLeft(Vector256.ConvertToInt32Native(n) + Vector256.Create(127), 23).AsSingle();
        Vector256<float> result = p * scale;
        result = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256.Create(LowestArgument)), Vector256<float>.Zero, result);
        result = Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256.Create(HighestArgument)), Vector256.Create(float.PositiveInfinity), result);
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), result, x);
    }

    /// <summary>e^x of sixteen values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Invoke(Vector512<float> x)
    {
        if (!Avx512F.IsSupported)
        {
            // Vector512 without AVX-512 (the tests' other ISA passes) is two Vector256 halves anyway.
            return Vector512.Create(Invoke(x.GetLower()), Invoke(x.GetUpper()));
        }

        // 2^n by vscalefps: the clamp keeps the polynomial finite, the selects keep the documented ends (flush below
        // 2^−126, +Inf above ln(2^127.5)), and no lane ever forms a subnormal product: the shift-and-multiply form
        // did for every argument below the range, and each cost a microcode assist (3.5× the time per vector).
        Vector512<float> clamped = Avx512F.Min(Vector512.Create(HighestArgument), Avx512F.Max(Vector512.Create(ZeroBelow), x));
        Vector512<float> result = ScaledPolynomial(clamped);
        result = Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512.Create(LowestArgument)), Vector512<float>.Zero, result);
        return Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512.Create(HighestArgument)), Vector512.Create(float.PositiveInfinity), result);
    }

    /// <summary>
    /// e^x of sixteen values for a logistic function's 1/(1 + e^x): with AVX-512, <see cref="Invoke(Vector512{float})"/>
    /// without its two end selects (without it, Invoke itself). x is clamped to [−110, 100] to keep the polynomial
    /// finite, and vscalefps takes the ends: +Inf once e^x overflows (x above ln(FLT_MAX) ≈ 88.72, where Invoke gives +Inf from 88.38), and subnormals
    /// then +0 below −87.34 (where Invoke flushes to +0). Inside [−87.34, 88.37] it is Invoke's bits; outside, 1 + e^x
    /// is 1 or +Inf either way, except above 88.38 where it is the true (finite) value instead of +Inf. NaN stays NaN.
    /// Four operations fewer than Invoke: the GELU (tanh) and SiLU passes of a training step spend most of their time
    /// in this exp.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> ExpSaturating(Vector512<float> x)
    {
        if (!Avx512F.IsSupported)
        {
            return Invoke(x);
        }

        return ScaledPolynomial(Avx512F.Min(Vector512.Create(SaturatingHighest), Avx512F.Max(Vector512.Create(ZeroBelow), x)));
    }

    /// <summary>2^n · e^r for x = n·ln2 + r, n = round(x·log2 e), by vscalefps; x must be finite or NaN and at most 100
    /// (past ln(FLT_MAX) the scaling overflows to +Inf).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ScaledPolynomial(Vector512<float> x)
    {
        Vector512<float> n = Vector512.Round(x * Vector512.Create(Log2E));
        return Avx512F.Scale(Polynomial(Reduce(n, x)), n);
    }

    /// <summary>r = x − n·ln2, with ln2 in two parts so that r is exact to float precision (Cody–Waite).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Reduce(Vector512<float> n, Vector512<float> x) =>
        Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Low), Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2High), x));

    /// <summary>e^r = 1 + r + r²·P(r) on |r| ≤ ln2/2 (Cephes' expf coefficients).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Polynomial(Vector512<float> r)
    {
        Vector512<float> p = Vector512.FusedMultiplyAdd(Vector512.Create(P0), r, Vector512.Create(P1));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P2));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P3));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P4));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(P5));
        return Vector512.FusedMultiplyAdd(p, r * r, r) + Vector512<float>.One;
    }

    /// <summary>2^t of sixteen values t ≤ 127, −Inf or NaN (the attention softmax's score·c − max·c); see the file's header.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp2BelowOverflow(Vector512<float> t)
    {
        if (!Avx512DQ.IsSupported)
        {
            return Vector512.Create(Exp2BelowOverflow(t.GetLower()), Exp2BelowOverflow(t.GetUpper()));
        }

        // n and r are independent of each other (two ports at once), and vreduceps gives r = 0 at t = −Inf where
        // t − n would be NaN: vscalefps then scales 1 by 2^−Inf, +0.
        Vector512<float> n = Avx512F.RoundScale(t, RoundToNearest);
        Vector512<float> r = Avx512DQ.Reduce(t, RoundToNearest);
        return Avx512F.Scale(Exp2Polynomial(r), n);
    }

    /// <summary>2^t of eight values t ≤ 127, −Inf or NaN; +0 below 2^−126.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp2BelowOverflow(Vector256<float> t)
    {
        // vmaxps returns its second operand when either is NaN: t second keeps a NaN argument NaN (the IEEE Max elsewhere).
        Vector256<float> clamped = Avx.IsSupported ? Avx.Max(Vector256.Create(Exp2Floor), t) : Vector256.Max(Vector256.Create(Exp2Floor), t);
        Vector256<float> n = Vector256.Round(clamped);
        Vector256<float> p = Exp2Polynomial(clamped - n);
        Vector256<float> scale = Vector256.ShiftLeft(Vector256.ConvertToInt32Native(n) + Vector256.Create(127), 23).AsSingle();
        return p * scale;
    }

    /// <summary>2^t of four values t ≤ 127, −Inf or NaN; +0 below 2^−126.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Exp2BelowOverflow(Vector128<float> t)
    {
        Vector128<float> clamped = Sse.IsSupported ? Sse.Max(Vector128.Create(Exp2Floor), t) : Vector128.Max(Vector128.Create(Exp2Floor), t);
        Vector128<float> n = Vector128.Round(clamped);
        Vector128<float> p = Exp2Polynomial(clamped - n);
        Vector128<float> scale = Vector128.ShiftLeft(Vector128.ConvertToInt32Native(n) + Vector128.Create(127), 23).AsSingle();
        return p * scale;
    }

    /// <summary>2^t of one value (the platform's, the scalar branches' reference).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Exp2BelowOverflow(float t) => float.Exp2(t);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Exp2Polynomial(Vector512<float> r)
    {
        Vector512<float> q = Vector512.FusedMultiplyAdd(Vector512.Create(Q5), r, Vector512.Create(Q4));
        q = Vector512.FusedMultiplyAdd(q, r, Vector512.Create(Q3));
        q = Vector512.FusedMultiplyAdd(q, r, Vector512.Create(Q2));
        q = Vector512.FusedMultiplyAdd(q, r, Vector512.Create(Q1));
        return Vector512.FusedMultiplyAdd(q, r, Vector512<float>.One);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Exp2Polynomial(Vector256<float> r)
    {
        Vector256<float> q = Vector256.FusedMultiplyAdd(Vector256.Create(Q5), r, Vector256.Create(Q4));
        q = Vector256.FusedMultiplyAdd(q, r, Vector256.Create(Q3));
        q = Vector256.FusedMultiplyAdd(q, r, Vector256.Create(Q2));
        q = Vector256.FusedMultiplyAdd(q, r, Vector256.Create(Q1));
        return Vector256.FusedMultiplyAdd(q, r, Vector256<float>.One);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Exp2Polynomial(Vector128<float> r)
    {
        Vector128<float> q = Vector128.MultiplyAddEstimate(Vector128.Create(Q5), r, Vector128.Create(Q4));
        q = Vector128.MultiplyAddEstimate(q, r, Vector128.Create(Q3));
        q = Vector128.MultiplyAddEstimate(q, r, Vector128.Create(Q2));
        q = Vector128.MultiplyAddEstimate(q, r, Vector128.Create(Q1));
        return Vector128.MultiplyAddEstimate(q, r, Vector128<float>.One);
    }
}
