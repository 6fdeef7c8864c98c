using System;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using FixedShapeAttention.Kernels;

namespace FixedShapeAttention.CompilerServices;

/// <summary>
/// The element-wise middle of flash-style attention backward, a head's query rows at a time, between the products that
/// write its inputs and the products that read its outputs. Both products come out of the forward pass's scores body,
/// in base 2 (times c = log₂e/√d, <c>SoftmaxContract.ScoreScale</c>). The forward pass kept the row's log-sum-exp, so
/// the probabilities come back as P = 2^(S·c − LSE·log₂e) = e^(S/√d − LSE), by the forward softmax's exp, without a
/// max or a sum; then, with D = dO·O (= Σ_j P_j dP_j), dS = P ∘ (dP − D) / √d = P ∘ ((dP·c)·ln 2 − D/√d), the score
/// gradient that dQ = dS·K and dK = dSᵀ·Q read. Keys a row does not see (after the query in a causal shape, or
/// padding) get P = dS = 0 exactly, so the products may read them.
/// </summary>
/// <remarks>For generated code; no compatibility promise: this namespace may change in any release.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public static unsafe class AttentionGradientRow
{
    private const double Log2E = 1.4426950408889634;
    private const float Ln2 = 0.693147182f;

    /// <summary>The most rows whose D values are taken ahead of their exps at once (a stack buffer of this many floats).</summary>
    private const int DeltaBlock = 64;

    /// <summary>
    /// Turns rows [<paramref name="firstRow"/>, <paramref name="firstRow"/> + <paramref name="rowCount"/>) of one head's
    /// scaled scores into probabilities and of its scaled dP into dS, in place. Each block of rows takes its rows' D = dO·O
    /// first, then their exps: D's loads and sums are independent from row to row, where a row's exps waited on its own
    /// dot product (with the rows one call each, the pass took 1.5× as long on 128 causal rows).
    /// </summary>
    /// <param name="scores">In: S·log₂e/√d, row i at i·<paramref name="stride"/> (padding columns allowed). Out: P.</param>
    /// <param name="gradients">In: dP·log₂e/√d, laid out as <paramref name="scores"/>. Out: dS (already divided by √d).</param>
    /// <param name="stride">The floats from one row of scores to the next, at least <paramref name="keyCount"/>.</param>
    /// <param name="logSumExp">Row i's log Σ_j e^(S_ij/√d) from the forward pass, at i.</param>
    /// <param name="output">The attention output O: row i's <paramref name="headDim"/> values at i·<paramref name="outputStride"/>.</param>
    /// <param name="outputGradient">dO, laid out as <paramref name="output"/>.</param>
    /// <param name="outputStride">The floats from one row of O to the next.</param>
    /// <param name="headDim">The values of a row of O that D sums over.</param>
    /// <param name="scale">1/√d.</param>
    /// <param name="firstRow">The first row to turn.</param>
    /// <param name="rowCount">How many rows to turn.</param>
    /// <param name="keyCount">Keys [0, keyCount) take part (the rest are padding); the rest of each row gets 0.</param>
    /// <param name="causal">Whether row i sees keys [0, i] only (of the first <paramref name="keyCount"/>).</param>
    /// <exception cref="ArgumentOutOfRangeException">A count, stride or row is negative, or <paramref name="keyCount"/> is above <paramref name="stride"/>.</exception>
    /// <exception cref="ArgumentException">A span is shorter than the rows it must hold; the message names the length needed.</exception>
    public static void WriteRows(
        Span<float> scores, Span<float> gradients, int stride, ReadOnlySpan<float> logSumExp, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGradient,
        int outputStride, int headDim, float scale, int firstRow, int rowCount, int keyCount, bool causal)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(firstRow);
        ArgumentOutOfRangeException.ThrowIfNegative(rowCount);
        ArgumentOutOfRangeException.ThrowIfNegative(headDim);
        ArgumentOutOfRangeException.ThrowIfNegative(outputStride);
        ArgumentOutOfRangeException.ThrowIfNegative(keyCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(keyCount, stride);
        if (rowCount == 0)
        {
            return;
        }

        long rowEnd = (long)firstRow + rowCount;
        long outputNeeded = (rowEnd - 1) * outputStride + headDim;
        if (scores.Length < rowEnd * stride || gradients.Length < rowEnd * stride || logSumExp.Length < rowEnd
            || output.Length < outputNeeded || outputGradient.Length < outputNeeded)
        {
            ThrowShort(scores.Length, gradients.Length, logSumExp.Length, output.Length, outputGradient.Length, rowEnd, stride, outputStride, headDim);
        }

        float* scaledDeltas = stackalloc float[DeltaBlock];
        fixed (float* s = scores, g = gradients, lse = logSumExp, o = output, dO = outputGradient)
        {
            // rowEnd fits an int (logSumExp holds that many floats); the block's end is taken in long so that a block
            // near int.MaxValue cannot wrap around.
            for (int block = firstRow, blockEnd; block < rowEnd; block = blockEnd)
            {
                blockEnd = (int)Math.Min((long)block + DeltaBlock, rowEnd);
                for (int row = block; row < blockEnd; row++)
                {
                    nint at = (nint)row * outputStride;
                    scaledDeltas[row - block] = (float)(Delta(o + at, dO + at, headDim) * scale);
                }

                for (int row = block; row < blockEnd; row++)
                {
                    int visible = causal ? Math.Min(row + 1, keyCount) : keyCount;
                    // The exponent in base 2, as the forward softmax's: 2^(s − LSE·log₂e).
                    Row(s + (nint)row * stride, g + (nint)row * stride, stride, visible, (float)(lse[row] * Log2E), scaledDeltas[row - block]);
                }
            }
        }
    }

    private static void ThrowShort(int scores, int gradients, int logSumExp, int output, int outputGradient, long rowEnd, int stride, int outputStride, int headDim)
    {
        long rowsNeeded = rowEnd * stride, outputNeeded = (rowEnd - 1) * outputStride + headDim;
        (string name, int length, long needed, string what) = scores < rowsNeeded ? ("scores", scores, rowsNeeded, $"{rowEnd}×{stride} (rows × stride)")
            : gradients < rowsNeeded ? ("gradients", gradients, rowsNeeded, $"{rowEnd}×{stride} (rows × stride)")
            : logSumExp < rowEnd ? ("logSumExp", logSumExp, rowEnd, "one per row")
            : output < outputNeeded ? ("output", output, outputNeeded, $"({rowEnd} − 1)×{outputStride} + {headDim}")
            : ("outputGradient", outputGradient, outputNeeded, $"({rowEnd} − 1)×{outputStride} + {headDim}");
        throw new ArgumentException($"{name}: expected at least {needed} floats ({what}), got {length}.", name);
    }

    /// <summary>P and dS of one row of <paramref name="length"/> columns: keys [0, visible) computed, the rest 0.</summary>
    private static void Row(float* s, float* g, int length, int visible, float lse2, float scaledDelta)
    {
        int j = 0, zeroFrom = visible;
        if (Vector512.IsHardwareAccelerated && length >= Vector512<float>.Count)
            zeroFrom = Vectors<Vector512<float>, Vector512Ops>(s, g, length, visible, lse2, scaledDelta, ref j);
        else if (Vector256.IsHardwareAccelerated && length >= Vector256<float>.Count)
            zeroFrom = Vectors<Vector256<float>, Vector256Ops>(s, g, length, visible, lse2, scaledDelta, ref j);

        for (; j < visible; j++)
        {
            float p = ExpOperator.Exp2BelowOverflow(s[j] - lse2);
            s[j] = p;
            g[j] = p * (g[j] * Ln2 - scaledDelta);
        }

        for (; zeroFrom < length; zeroFrom++)
        {
            s[zeroFrom] = 0;
            g[zeroFrom] = 0;
        }
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
    private static double Delta(float* o, float* dO, int length)
    {
        int e = 0;
        double delta = 0;
        if (Avx512F.IsSupported && length >= Vector256<float>.Count)
        {
            // Lanes 0–3 of the sum are the lower partial sums below and lanes 4–7 the upper ones, so the same bits, with
            // one conversion of eight floats where the widening took two.
            Vector512<double> sums = Vector512<double>.Zero;
            for (; e <= length - Vector256<float>.Count; e += Vector256<float>.Count)
            {
                sums += Avx512F.ConvertToVector512Double(Vector256.Load(o + e)) * Avx512F.ConvertToVector512Double(Vector256.Load(dO + e));
            }

            delta = Vector256.Sum(sums.GetLower() + sums.GetUpper());
        }
        else if (Vector256.IsHardwareAccelerated && length >= Vector256<float>.Count)
        {
            Vector256<double> lower = Vector256<double>.Zero, upper = Vector256<double>.Zero;
            for (; e <= length - Vector256<float>.Count; e += Vector256<float>.Count)
            {
                var a = Vector256.Load(o + e);
                var b = Vector256.Load(dO + e);
                lower += Vector256.WidenLower(a) * Vector256.WidenLower(b);
                upper += Vector256.WidenUpper(a) * Vector256.WidenUpper(b);
            }

            delta = Vector256.Sum(lower + upper);
        }

        for (; e < length; e++)
        {
            delta += (double)o[e] * dO[e];
        }

        return delta;
    }
}
