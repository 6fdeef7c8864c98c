using System;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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
public static class AttentionGradientRow
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
        ref float s = ref MemoryMarshal.GetReference(scores);
        ref float g = ref MemoryMarshal.GetReference(gradients);
        int j = 0, zeroFrom = visible;
        if (Vector512.IsHardwareAccelerated && scores.Length >= Vector512<float>.Count)
        {
            var lse = Vector512.Create(lse2);
            var d = Vector512.Create(scaledDelta);
            var ln2 = Vector512.Create(Ln2);
            for (; j <= visible - Vector512<float>.Count; j += Vector512<float>.Count)
            {
                var p = ExpOperator.Exp2BelowOverflow(Vector512.LoadUnsafe(ref s, (nuint)j) - lse);
                p.StoreUnsafe(ref s, (nuint)j);
                (p * Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref g, (nuint)j), ln2, -d)).StoreUnsafe(ref g, (nuint)j);
            }

            if (j < visible && j <= scores.Length - Vector512<float>.Count)
            {
                // The row's last keys as one whole vector whose lanes from visible on get 0: a scalar 2^x per key here
                // (float.Exp2, a library call) took a sixth of the backward head at 128 causal rows. Lanes past visible
                // compute from whatever the row holds there, and are discarded.
                var keep = Vector512.LessThan(Vector512.CreateSequence(j, 1), Vector512.Create(visible)).AsSingle();
                var p = ExpOperator.Exp2BelowOverflow(Vector512.LoadUnsafe(ref s, (nuint)j) - lse);
                var dS = p * Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref g, (nuint)j), ln2, -d);
                (keep & p).StoreUnsafe(ref s, (nuint)j);
                (keep & dS).StoreUnsafe(ref g, (nuint)j);
                j = visible;
                zeroFrom = (visible + Vector512<float>.Count - 1) & -Vector512<float>.Count;
            }

            // The zeros as whole vectors: two Span.Clear calls per row cost more than the stores.
            for (; zeroFrom <= scores.Length - Vector512<float>.Count; zeroFrom += Vector512<float>.Count)
            {
                Vector512<float>.Zero.StoreUnsafe(ref s, (nuint)zeroFrom);
                Vector512<float>.Zero.StoreUnsafe(ref g, (nuint)zeroFrom);
            }
        }
        else if (Vector256.IsHardwareAccelerated && scores.Length >= Vector256<float>.Count)
        {
            var lse = Vector256.Create(lse2);
            var d = Vector256.Create(scaledDelta);
            var ln2 = Vector256.Create(Ln2);
            for (; j <= visible - Vector256<float>.Count; j += Vector256<float>.Count)
            {
                var p = ExpOperator.Exp2BelowOverflow(Vector256.LoadUnsafe(ref s, (nuint)j) - lse);
                p.StoreUnsafe(ref s, (nuint)j);
                (p * Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref g, (nuint)j), ln2, -d)).StoreUnsafe(ref g, (nuint)j);
            }

            if (j < visible && j <= scores.Length - Vector256<float>.Count)
            {
                // As the Vector512 branch: the last keys as one masked vector instead of a scalar 2^x per key.
                var keep = Vector256.LessThan(Vector256.CreateSequence(j, 1), Vector256.Create(visible)).AsSingle();
                var p = ExpOperator.Exp2BelowOverflow(Vector256.LoadUnsafe(ref s, (nuint)j) - lse);
                var dS = p * Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref g, (nuint)j), ln2, -d);
                (keep & p).StoreUnsafe(ref s, (nuint)j);
                (keep & dS).StoreUnsafe(ref g, (nuint)j);
                j = visible;
                zeroFrom = (visible + Vector256<float>.Count - 1) & -Vector256<float>.Count;
            }

            for (; zeroFrom <= scores.Length - Vector256<float>.Count; zeroFrom += Vector256<float>.Count)
            {
                Vector256<float>.Zero.StoreUnsafe(ref s, (nuint)zeroFrom);
                Vector256<float>.Zero.StoreUnsafe(ref g, (nuint)zeroFrom);
            }
        }

        for (; j < visible; j++)
        {
            float p = ExpOperator.Exp2BelowOverflow(Unsafe.Add(ref s, j) - lse2);
            Unsafe.Add(ref s, j) = p;
            Unsafe.Add(ref g, j) = p * (Unsafe.Add(ref g, j) * Ln2 - scaledDelta);
        }

        scores[zeroFrom..].Clear();
        gradients[zeroFrom..].Clear();
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
