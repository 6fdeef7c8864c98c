// The attention of a decode step (and of a prefill, row by row): each new query row attends to the keys its sequence
// has cached, 0..position, per head.
//
// Layout, as the kernel reads it: keys are stored transposed, [sequence, key/value head, HeadDim, SequenceLength]
// (Kᵀ panels filled a column per token), so the scores of a vector of consecutive keys are HeadDim broadcast FMAs over
// contiguous rows of Kᵀ, with no horizontal sum per key; values stay [sequence, position, KeyValueDim], so P·V adds
// HeadDim-wide rows of V scaled by each weight.
//
// Arithmetic: a score is Σ_e q[e]·K[j,e] in e order in one FMA chain (vector lanes and the scalar tail of keys alike),
// times log₂e/√HeadDim (SoftmaxContract.ScoreScale: the softmax works in base 2). Softmax is RowSoftmax, the generic attention kernel's (SoftmaxContract: subtract the max, exp, sum
// in double, multiply by 1/Σ after P·V), over the scores padded with −∞ to whole vectors, whose weights are exactly 0.
// A chunk is one (row, head) and its arithmetic depends only on the query, the cache and the position, so results are
// the same bits for every degree of parallelism and whichever rows share the step.
//
// Work: every chunk records how many cached keys it read; the decoder sums them (AttendedKeys), so a test can count
// the attention work of a step instead of timing it.

using System;
using System.Runtime.Intrinsics;
using FixedShapeAttention.CompilerServices;
using FixedShapeAttention.Kernels;

namespace FixedShapeAttention.Decoding;

internal static unsafe class CachedAttention
{
    /// <summary>Score floats per chunk: the context rounded up to whole vectors of the widest width.</summary>
    public static int ScoreStride(int sequenceLength) => (sequenceLength + 15) / 16 * 16;

    /// <summary>Writes the key and value rows of one token (kv = KeyValueHeads·HeadDim floats each) into the cache of
    /// <paramref name="sequence"/> at <paramref name="position"/>.</summary>
    public static void Append(ReadOnlySpan<float> key, ReadOnlySpan<float> value, Span<float> keys, Span<float> values,
        int keyValueHeads, int headDim, int sequenceLength, int sequence, int position)
    {
        int kv = keyValueHeads * headDim;
        value.CopyTo(values.Slice((sequence * sequenceLength + position) * kv, kv));
        Span<float> transposed = keys.Slice(sequence * sequenceLength * kv, sequenceLength * kv);
        for (int e = 0; e < kv; e++)
            transposed[e * sequenceLength + position] = key[e];
    }

    /// <summary>
    /// Attends <paramref name="rows"/> query rows (q: [rows, Heads·HeadDim]) to their sequences' cached keys and values
    /// of one layer, writing o: [rows, Heads·HeadDim]. Row r belongs to sequence rowSequence[r] at rowPosition[r] and
    /// sees the keys at positions 0..rowPosition[r], which must already be in the cache.
    /// </summary>
    public static void Run(
        int heads, int keyValueHeads, int headDim, int sequenceLength,
        float[] q, float[] keys, float[] values, float[] o, float[] scores, int[] keysRead,
        int[] rowSequence, int[] rowPosition, int rows, int maxDegreeOfParallelism)
    {
        long flops = 0;
        for (int r = 0; r < rows; r++)
            flops += 4L * heads * headDim * (rowPosition[r] + 1);
        var layout = new Layout(heads, keyValueHeads, headDim, sequenceLength);
        var data = new Arrays(q, keys, values, o, scores, keysRead, rowSequence, rowPosition);
        if (Vector512.IsHardwareAccelerated)
            ParallelRunner.Run(new Kernel<Vector512<float>, Vector512Ops>(layout, data), rows * heads, flops, maxDegreeOfParallelism, default, default, default, default, default, default);
        else if (Vector256.IsHardwareAccelerated)
            ParallelRunner.Run(new Kernel<Vector256<float>, Vector256Ops>(layout, data), rows * heads, flops, maxDegreeOfParallelism, default, default, default, default, default, default);
        else
            ParallelRunner.Run(new Kernel<float, ScalarOps>(layout, data), rows * heads, flops, maxDegreeOfParallelism, default, default, default, default, default, default);
    }

    private readonly record struct Layout(int Heads, int KeyValueHeads, int HeadDim, int SequenceLength);

    private readonly record struct Arrays(float[] Q, float[] Keys, float[] Values, float[] O, float[] Scores, int[] KeysRead, int[] RowSequence, int[] RowPosition);

    private readonly struct Kernel<TVec, TOps>(Layout layout, Arrays data) : IChunkKernel
        where TVec : struct
        where TOps : IVectorOps<TVec>
    {
        public void Execute(in KernelBuffers buffers, int chunk)
        {
            int heads = layout.Heads, dh = layout.HeadDim, t = layout.SequenceLength;
            int row = chunk / heads, head = chunk % heads;
            int kv = layout.KeyValueHeads * dh;
            int keyCount = data.RowPosition[row] + 1;
            int keyOffset = head / (heads / layout.KeyValueHeads) * dh;
            float scale = SoftmaxContract.ScoreScale(dh);
            fixed (float* qBase = data.Q, keysBase = data.Keys, valuesBase = data.Values, oBase = data.O, scoresBase = data.Scores)
            {
                float* q = qBase + (nint)row * heads * dh + head * dh;
                float* keysT = keysBase + (nint)data.RowSequence[row] * t * kv + (nint)keyOffset * t;
                float* values = valuesBase + (nint)data.RowSequence[row] * t * kv + keyOffset;
                float* o = oBase + (nint)row * heads * dh + head * dh;
                float* scores = scoresBase + (nint)chunk * ScoreStride(t);

                int read = Scores(q, keysT, scores, keyCount, dh, t, scale);

                // −∞ up to a whole vector of the widest width: weight exactly 0, so P·V can stop at keyCount.
                int padded = (keyCount + 15) / 16 * 16;
                new Span<float>(scores + keyCount, padded - keyCount).Fill(float.NegativeInfinity);
                float inverse = Vector512.IsHardwareAccelerated
                    ? RowSoftmax.ExpAndReciprocalSum<Vector512<float>, Vector512Ops>(scores, padded)
                    : Vector256.IsHardwareAccelerated
                        ? RowSoftmax.ExpAndReciprocalSum<Vector256<float>, Vector256Ops>(scores, padded)
                        : RowSoftmax.ExpAndReciprocalSum<float, ScalarOps>(scores, padded);

                WeightedValues(scores, values, o, keyCount, dh, kv, inverse);
                data.KeysRead[chunk] = read;
            }
        }

        /// <summary>scores[j] = (Σ_e q[e]·Kᵀ[e, j])·scale for j &lt; keyCount; returns the keys read.</summary>
        private static int Scores(float* q, float* keysT, float* scores, int keyCount, int dh, int t, float scale)
        {
            int lanes = TOps.Count;
            TVec scaleVector = TOps.Broadcast(scale);
            int j = 0;
            for (; j + 4 * lanes <= keyCount; j += 4 * lanes)
            {
                TVec s0 = TOps.Zero, s1 = TOps.Zero, s2 = TOps.Zero, s3 = TOps.Zero;
                float* column = keysT + j;
                for (int e = 0; e < dh; e++, column += t)
                {
                    TVec a = TOps.Broadcast(q[e]);
                    s0 = TOps.MultiplyAdd(a, TOps.Load(column), s0);
                    s1 = TOps.MultiplyAdd(a, TOps.Load(column + lanes), s1);
                    s2 = TOps.MultiplyAdd(a, TOps.Load(column + 2 * lanes), s2);
                    s3 = TOps.MultiplyAdd(a, TOps.Load(column + 3 * lanes), s3);
                }

                TOps.Store(TOps.Multiply(s0, scaleVector), scores + j);
                TOps.Store(TOps.Multiply(s1, scaleVector), scores + j + lanes);
                TOps.Store(TOps.Multiply(s2, scaleVector), scores + j + 2 * lanes);
                TOps.Store(TOps.Multiply(s3, scaleVector), scores + j + 3 * lanes);
            }

            for (; j + lanes <= keyCount; j += lanes)
            {
                TVec s = TOps.Zero;
                float* column = keysT + j;
                for (int e = 0; e < dh; e++, column += t)
                    s = TOps.MultiplyAdd(TOps.Broadcast(q[e]), TOps.Load(column), s);
                TOps.Store(TOps.Multiply(s, scaleVector), scores + j);
            }

            // The last keys, short of a vector: each lane's FMA chain on its own (the cache ends at the context).
            for (; j < keyCount; j++)
            {
                float s = 0;
                for (int e = 0; e < dh; e++)
                    s = MathF.FusedMultiplyAdd(q[e], keysT[(nint)e * t + j], s);
                scores[j] = s * scale;
            }

            return j;
        }

        /// <summary>o[e] = (Σ_j w[j]·V[j, e])·inverse, in j order per element.</summary>
        private static void WeightedValues(float* weights, float* values, float* o, int keyCount, int dh, int kv, float inverse)
        {
            int lanes = TOps.Count;
            TVec scale = TOps.Broadcast(inverse);
            int e = 0;
            for (; e + lanes <= dh; e += lanes)
            {
                TVec acc = TOps.Zero;
                float* value = values + e;
                for (int j = 0; j < keyCount; j++, value += kv)
                    acc = TOps.MultiplyAdd(TOps.Broadcast(weights[j]), TOps.Load(value), acc);
                TOps.Store(TOps.Multiply(acc, scale), o + e);
            }

            for (; e < dh; e++)
            {
                float acc = 0;
                float* value = values + e;
                for (int j = 0; j < keyCount; j++, value += kv)
                    acc = MathF.FusedMultiplyAdd(weights[j], *value, acc);
                o[e] = acc * inverse;
            }
        }
    }
}
