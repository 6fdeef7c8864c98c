using System;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using FixedShapeAttention.Kernels;

namespace FixedShapeAttention.CompilerServices;

/// <summary>
/// The element-wise middle of flash-style attention backward, one query row at a time, between the products that
/// write its inputs and the products that read its outputs. Both products come out of the forward pass's scores body,
/// in base 2 (times c = log₂e/√d, <c>SoftmaxContract.ScoreScale</c>). The forward pass kept the row's log-sum-exp, so
/// the probabilities come back as P = 2^(S·c − LSE·log₂e) = e^(S/√d − LSE), by the forward softmax's exp, without a
/// max or a sum; then, with D = dO·O (= Σ_j P_j dP_j), dS = P ∘ (dP − D) / √d = P ∘ ((dP·c)·ln 2 − D/√d), the score
/// gradient that dQ = dS·K and dK = dSᵀ·Q read. Keys from <c>visible</c> on (after the query in a causal shape, or
/// padding) get P = dS = 0 exactly, so the products may read them.
/// </summary>
/// <remarks>For generated code; no compatibility promise: this namespace may change in any release.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public static unsafe class AttentionGradientRow
{
    private const double Log2E = 1.4426950408889634;
    private const float Ln2 = 0.693147182f;

    /// <summary>Turns one row of scaled scores into probabilities and one row of scaled dP into dS, in place.</summary>
    /// <param name="scores">In: S·log₂e/√d of the row's keys (padding columns allowed). Out: P.</param>
    /// <param name="gradients">In: dP·log₂e/√d, the same length. Out: dS (already divided by √d).</param>
    /// <param name="logSumExp">The row's log Σ_j e^(S_j/√d) from the forward pass.</param>
    /// <param name="output">The row's attention output O (HeadDim values).</param>
    /// <param name="outputGradient">The row's dO, the same length.</param>
    /// <param name="scale">1/√d.</param>
    /// <param name="visible">Keys [0, visible) take part; the rest of the row gets 0.</param>
    /// <exception cref="ArgumentException">The row spans differ in length, the head spans differ in length, or <paramref name="visible"/>
    /// is outside [0, scores.Length].</exception>
    public static void Write(
        Span<float> scores, Span<float> gradients, float logSumExp, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGradient,
        float scale, int visible)
    {
        if (gradients.Length != scores.Length)
        {
            throw new ArgumentException($"gradients: expected {scores.Length} floats (the length of scores), got {gradients.Length}.", nameof(gradients));
        }

        if (outputGradient.Length != output.Length)
        {
            throw new ArgumentException($"outputGradient: expected {output.Length} floats (the length of output), got {outputGradient.Length}.", nameof(outputGradient));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(visible);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(visible, scores.Length);

        float scaledDelta = (float)(Delta(output, outputGradient) * scale);
        // The exponent in base 2, as the forward softmax's: 2^(s − LSE·log₂e).
        float lse2 = (float)(logSumExp * Log2E);
        int j = 0, zeroFrom = visible;
        fixed (float* s = scores, g = gradients)
        {
            if (Vector512.IsHardwareAccelerated && scores.Length >= Vector512<float>.Count)
                zeroFrom = Vectors<Vector512<float>, Vector512Ops>(s, g, scores.Length, visible, lse2, scaledDelta, ref j);
            else if (Vector256.IsHardwareAccelerated && scores.Length >= Vector256<float>.Count)
                zeroFrom = Vectors<Vector256<float>, Vector256Ops>(s, g, scores.Length, visible, lse2, scaledDelta, ref j);

            for (; j < visible; j++)
            {
                float p = ExpOperator.Exp2BelowOverflow(s[j] - lse2);
                s[j] = p;
                g[j] = p * (g[j] * Ln2 - scaledDelta);
            }
        }

        scores[zeroFrom..].Clear();
        gradients[zeroFrom..].Clear();
    }

    /// <summary>
    /// The row's whole vectors from key 0: P and dS of every vector inside [0, visible), the last partial one computed
    /// whole with its lanes from visible on cleared (a scalar 2^x per key there, a library call, took a sixth of the
    /// backward head at 128 causal rows), then whole vectors of zeros (two Span.Clear calls per row cost more than the
    /// stores). Leaves <paramref name="j"/> at the first key still to compute and returns the first column still to clear.
    /// </summary>
    private static unsafe int Vectors<TVec, TOps>(float* s, float* g, int length, int visible, float lse2, float scaledDelta, ref int j)
        where TVec : struct
        where TOps : IVectorOps<TVec>
    {
        int lanes = TOps.Count;
        TVec lse = TOps.Broadcast(lse2), negativeDelta = TOps.Broadcast(-scaledDelta), ln2 = TOps.Broadcast(Ln2);
        for (; j <= visible - lanes; j += lanes)
        {
            TVec p = TOps.Exp2NonPositive(TOps.Subtract(TOps.Load(s + j), lse));
            TOps.Store(p, s + j);
            TOps.Store(TOps.Multiply(p, TOps.MultiplyAdd(TOps.Load(g + j), ln2, negativeDelta)), g + j);
        }

        int zeroFrom = visible;
        if (j < visible && j <= length - lanes)
        {
            // Lanes past visible compute from whatever the row holds there, and are discarded.
            TVec p = TOps.Exp2NonPositive(TOps.Subtract(TOps.Load(s + j), lse));
            TVec dS = TOps.Multiply(p, TOps.MultiplyAdd(TOps.Load(g + j), ln2, negativeDelta));
            TOps.Store(TOps.KeepFirst(p, visible - j), s + j);
            TOps.Store(TOps.KeepFirst(dS, visible - j), g + j);
            j = visible;
            zeroFrom = (visible + lanes - 1) & -lanes;
        }

        for (; zeroFrom <= length - lanes; zeroFrom += lanes)
        {
            TOps.Store(TOps.Zero, s + zeroFrom);
            TOps.Store(TOps.Zero, g + zeroFrom);
        }

        return zeroFrom;
    }

    /// <summary>
    /// D = dO·O in double: each float product is exact in double, so only the additions round. Eight lanes of partial sums
    /// (a fixed order, the same for every row and thread count) instead of one chain of HeadDim dependent double adds,
    /// which was the longest latency of the row.
    /// </summary>
    private static double Delta(ReadOnlySpan<float> output, ReadOnlySpan<float> outputGradient)
    {
        ref float o = ref MemoryMarshal.GetReference(output);
        ref float dO = ref MemoryMarshal.GetReference(outputGradient);
        int e = 0;
        double delta = 0;
        if (Vector256.IsHardwareAccelerated && output.Length >= Vector256<float>.Count)
        {
            Vector256<double> lower = Vector256<double>.Zero, upper = Vector256<double>.Zero;
            for (; e <= output.Length - Vector256<float>.Count; e += Vector256<float>.Count)
            {
                var a = Vector256.LoadUnsafe(ref o, (nuint)e);
                var b = Vector256.LoadUnsafe(ref dO, (nuint)e);
                lower += Vector256.WidenLower(a) * Vector256.WidenLower(b);
                upper += Vector256.WidenUpper(a) * Vector256.WidenUpper(b);
            }

            delta = Vector256.Sum(lower + upper);
        }

        for (; e < output.Length; e++)
        {
            delta += (double)Unsafe.Add(ref o, e) * Unsafe.Add(ref dO, e);
        }

        return delta;
    }
}
