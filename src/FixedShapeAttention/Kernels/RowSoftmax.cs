// Row-wise softmax for the generic kernels, following ggml's soft_max (ggml-cpu/vec.cpp) rather than
// TensorPrimitives.SoftMax, which does not subtract the maximum and so overflows exp for scores above ~88:
// start the max at -inf, take exp(x - max), sum in double, multiply by the float reciprocal of the sum.
// A row whose entries are all -inf (every key masked) becomes all zeros instead of 0/0 = NaN.

namespace FixedShapeAttention.Kernels;

internal static unsafe class RowSoftmax
{
    /// <summary>Softmax of <paramref name="row"/> in place; <paramref name="length"/> is a multiple of the width.</summary>
    public static void Apply<TVec, TOps>(float* row, int length)
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
            // TOps.Max is the hardware max, which skips NaN: a row of NaN scores lands here too and must stay NaN.
            var weights = new System.Span<float>(row, length);
            if (System.MemoryExtensions.ContainsAnyExcept(weights, float.NegativeInfinity))
            {
                weights.Fill(float.NaN);
            }
            else
            {
                weights.Clear();
            }

            return;
        }

        TVec maxBroadcast = TOps.Broadcast(max);
        double sum = 0;
        for (int j = 0; j < length; j += w)
        {
            TVec e = TOps.ExpNonPositive(TOps.Subtract(TOps.Load(row + j), maxBroadcast));
            TOps.Store(e, row + j);
            sum += TOps.SumAcrossAsDouble(e);
        }

        TVec reciprocal = TOps.Broadcast((float)(1.0 / sum));
        for (int j = 0; j < length; j += w)
        {
            TOps.Store(TOps.Multiply(TOps.Load(row + j), reciprocal), row + j);
        }
    }
}
