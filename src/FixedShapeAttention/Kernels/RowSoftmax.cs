// The row softmax of the generic attention kernel: SoftmaxContract, at the lanes the caller picks (the scores
// product's lanes, as the generated kernel's softmax uses), so that both kernel families compute the same weights and
// the same 1/Σ bit for bit.

using System;
using FixedShapeAttention.CompilerServices;

namespace FixedShapeAttention.Kernels;

internal static unsafe class RowSoftmax
{
    /// <summary>
    /// Turns <c>row[0, length)</c> of scores in base-2 units (<see cref="SoftmaxContract.ScoreScale"/>) into <c>2^(score − max)</c> in place and returns the row's 1/Σ, the factor P·V applies
    /// to the row's outputs (<see cref="SoftmaxContract"/>). <paramref name="length"/> is a multiple of the width.
    /// </summary>
    public static float ExpAndReciprocalSum<TVec, TOps>(float* row, int length)
        where TVec : struct
        where TOps : IVectorOps<TVec>
    {
        int w = TOps.Count;
        TVec maxVector = TOps.Broadcast(float.NegativeInfinity);
        for (int j = 0; j < length; j += w)
        {
            maxVector = TOps.Max(maxVector, TOps.Load(row + j));
        }

        float max = TOps.MaxAcross(maxVector);
        if (float.IsNegativeInfinity(max))
        {
            var weights = new Span<float>(row, length);
            if (weights.ContainsAnyExcept(float.NegativeInfinity))
            {
                weights.Fill(float.NaN);
            }
            else
            {
                weights.Clear();
            }

            return 1f;
        }

        TVec maxBroadcast = TOps.Broadcast(max);
        double* sums = stackalloc double[w];
        new Span<double>(sums, w).Clear();
        // At scalar lanes every weight goes into the double sum directly (a block of one).
        int blockLength = (w == 1 ? 1 : SoftmaxContract.SumBlockVectors) * w;
        for (int block = 0; block < length; block += blockLength)
        {
            TVec partial = TOps.Zero;
            int blockEnd = Math.Min(block + blockLength, length);
            for (int j = block; j < blockEnd; j += w)
            {
                TVec weight = TOps.Exp2NonPositive(TOps.Subtract(TOps.Load(row + j), maxBroadcast));
                TOps.Store(weight, row + j);
                partial = TOps.Add(partial, weight);
            }

            TOps.AccumulateWidened(partial, sums);
        }

        return (float)(1d / TOps.SumWidened(sums));
    }
}
