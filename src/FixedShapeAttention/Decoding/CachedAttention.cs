// The attention of a decode step (and of a prefill, row by row): each new query row attends to the keys its sequence
// has cached, 0..position, per head.
//
// Layout, as the kernel reads it: keys are stored transposed, [sequence, key/value head, HeadDim, SequenceLength]
// (Kᵀ panels filled a column per token), so the scores of a vector of consecutive keys are HeadDim broadcast FMAs over
// contiguous rows of Kᵀ, with no horizontal sum per key; values stay [sequence, position, KeyValueDim], so P·V adds
// HeadDim-wide rows of V scaled by each weight.
//
// Arithmetic: a score is Σ_e q[e]·K[j,e] in e order in one FMA chain (vector lanes and the scalar tail of keys alike),
// times log₂e/√HeadDim (SoftmaxContract.ScoreScale: the softmax works in base 2). Softmax is RowSoftmax, the generic
// attention kernel's (SoftmaxContract: subtract the max, exp, sum in double, multiply by 1/Σ after P·V), over the scores
// padded with −∞ to whole vectors, whose weights are exactly 0. An output element is Σ_j w[j]·V[j,e] in j order in one
// FMA chain. A chunk is one query row with all its heads, so that P·V runs eight of those chains at once across heads
// when HeadDim is a whole number of vectors (a head of 32 floats has only two vectors of them, each a chain as long as
// the keys; other head dims go one head at a time). The chunk's arithmetic depends only on the query, the cache and the
// position, so results are the same bits for every degree of parallelism and whichever rows share the step.
//
// Work: every (row, head) records how many cached keys it attended; the decoder sums them (AttendedKeys), so a test can count
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
            ParallelRunner.Run(new Kernel<Vector512<float>, Vector512Ops>(layout, data), rows, flops, maxDegreeOfParallelism, default, default, default, default, default, default);
        else if (Vector256.IsHardwareAccelerated)
            ParallelRunner.Run(new Kernel<Vector256<float>, Vector256Ops>(layout, data), rows, flops, maxDegreeOfParallelism, default, default, default, default, default, default);
        else
            ParallelRunner.Run(new Kernel<float, ScalarOps>(layout, data), rows, flops, maxDegreeOfParallelism, default, default, default, default, default, default);
    }

    private readonly record struct Layout(int Heads, int KeyValueHeads, int HeadDim, int SequenceLength);

    private readonly record struct Arrays(float[] Q, float[] Keys, float[] Values, float[] O, float[] Scores, int[] KeysRead, int[] RowSequence, int[] RowPosition);

    /// <summary>A chunk is one query row with all its heads: P·V then runs every head's output vectors in one key loop,
    /// eight independent FMA chains, where one head alone has HeadDim / lanes of them.</summary>
    private readonly struct Kernel<TVec, TOps>(Layout layout, Arrays data) : IChunkKernel
        where TVec : struct
        where TOps : IVectorOps<TVec>
    {
        public void Execute(in KernelBuffers buffers, int row)
        {
            int heads = layout.Heads, dh = layout.HeadDim, t = layout.SequenceLength;
            int group = heads / layout.KeyValueHeads, kv = layout.KeyValueHeads * dh;
            int keyCount = data.RowPosition[row] + 1;
            // −∞ up to a whole vector of the widest width: weight exactly 0, so P·V can stop at keyCount.
            int padded = (keyCount + 15) / 16 * 16;
            int stride = ScoreStride(t);
            float scale = SoftmaxContract.ScoreScale(dh);
            float* inverses = stackalloc float[heads];
            fixed (float* qBase = data.Q, keysBase = data.Keys, valuesBase = data.Values, oBase = data.O, scoresBase = data.Scores)
            {
                float* keysT = keysBase + (nint)data.RowSequence[row] * t * kv;
                float* values = valuesBase + (nint)data.RowSequence[row] * t * kv;
                float* rowScores = scoresBase + (nint)row * heads * stride;
                for (int head = 0; head < heads; head++)
                {
                    float* scores = rowScores + (nint)head * stride;
                    Scores(qBase + ((nint)row * heads + head) * dh, keysT + (nint)(head / group) * dh * t, scores, keyCount, padded, dh, t, scale);
                    new Span<float>(scores + keyCount, padded - keyCount).Fill(float.NegativeInfinity);
                    inverses[head] = Vector512.IsHardwareAccelerated
                        ? RowSoftmax.ExpAndReciprocalSum<Vector512<float>, Vector512Ops>(scores, padded)
                        : Vector256.IsHardwareAccelerated
                            ? RowSoftmax.ExpAndReciprocalSum<Vector256<float>, Vector256Ops>(scores, padded)
                            : RowSoftmax.ExpAndReciprocalSum<float, ScalarOps>(scores, padded);
                    data.KeysRead[row * heads + head] = keyCount;
                }

                float* o = oBase + (nint)row * heads * dh;
                if (dh % TOps.Count == 0)
                {
                    WeightedValuesAcrossHeads(rowScores, stride, values, o, inverses, keyCount, heads, group, dh, kv);
                }
                else
                {
                    for (int head = 0; head < heads; head++)
                        WeightedValues(rowScores + (nint)head * stride, values + (head / group) * dh, o + head * dh, keyCount, dh, kv, inverses[head]);
                }
            }
        }

        /// <summary>scores[j] = (Σ_e q[e]·Kᵀ[e, j])·scale for j &lt; keyCount. Whole vectors run up to
        /// <paramref name="padded"/> while they stay inside the cache's row of <paramref name="t"/> keys: a lane past
        /// keyCount reads a key not yet attended, and its score is overwritten with −∞.</summary>
        private static void Scores(float* q, float* keysT, float* scores, int keyCount, int padded, int dh, int t, float scale)
        {
            int lanes = TOps.Count;
            int vectorEnd = Math.Min(padded, t);
            TVec scaleVector = TOps.Broadcast(scale);
            int j = 0;
            for (; j < keyCount && j + 4 * lanes <= vectorEnd; j += 4 * lanes)
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

            for (; j < keyCount && j + lanes <= vectorEnd; j += lanes)
            {
                TVec s = TOps.Zero;
                float* column = keysT + j;
                for (int e = 0; e < dh; e++, column += t)
                    s = TOps.MultiplyAdd(TOps.Broadcast(q[e]), TOps.Load(column), s);
                TOps.Store(TOps.Multiply(s, scaleVector), scores + j);
            }

            // The last keys, short of a vector at the end of the cache's row: each lane's FMA chain on its own.
            for (; j < keyCount; j++)
            {
                float s = 0;
                for (int e = 0; e < dh; e++)
                    s = MathF.FusedMultiplyAdd(q[e], keysT[(nint)e * t + j], s);
                scores[j] = s * scale;
            }
        }

        /// <summary>o[c] = (Σ_j w[j]·V[j, c])·inverse of c's head, in j order per element, for every output vector of
        /// the row's heads (HeadDim a whole number of vectors): eight vectors share one key loop.</summary>
        private static void WeightedValuesAcrossHeads(float* rowScores, int stride, float* values, float* o, float* inverses,
            int keyCount, int heads, int group, int dh, int kv)
        {
            int lanes = TOps.Count, vectors = heads * dh / lanes;
            int c = 0;
            for (; c + 8 <= vectors; c += 8)
            {
                float* w0 = Weights(c), w1 = Weights(c + 1), w2 = Weights(c + 2), w3 = Weights(c + 3);
                float* w4 = Weights(c + 4), w5 = Weights(c + 5), w6 = Weights(c + 6), w7 = Weights(c + 7);
                float* v0 = Values(c), v1 = Values(c + 1), v2 = Values(c + 2), v3 = Values(c + 3);
                float* v4 = Values(c + 4), v5 = Values(c + 5), v6 = Values(c + 6), v7 = Values(c + 7);
                TVec a0 = TOps.Zero, a1 = TOps.Zero, a2 = TOps.Zero, a3 = TOps.Zero, a4 = TOps.Zero, a5 = TOps.Zero, a6 = TOps.Zero, a7 = TOps.Zero;
                nint offset = 0;
                for (int j = 0; j < keyCount; j++, offset += kv)
                {
                    a0 = TOps.MultiplyAdd(TOps.Broadcast(w0[j]), TOps.Load(v0 + offset), a0);
                    a1 = TOps.MultiplyAdd(TOps.Broadcast(w1[j]), TOps.Load(v1 + offset), a1);
                    a2 = TOps.MultiplyAdd(TOps.Broadcast(w2[j]), TOps.Load(v2 + offset), a2);
                    a3 = TOps.MultiplyAdd(TOps.Broadcast(w3[j]), TOps.Load(v3 + offset), a3);
                    a4 = TOps.MultiplyAdd(TOps.Broadcast(w4[j]), TOps.Load(v4 + offset), a4);
                    a5 = TOps.MultiplyAdd(TOps.Broadcast(w5[j]), TOps.Load(v5 + offset), a5);
                    a6 = TOps.MultiplyAdd(TOps.Broadcast(w6[j]), TOps.Load(v6 + offset), a6);
                    a7 = TOps.MultiplyAdd(TOps.Broadcast(w7[j]), TOps.Load(v7 + offset), a7);
                }

                float* y = o + c * lanes;
                TOps.Store(TOps.Multiply(a0, TOps.Broadcast(Inverse(c))), y);
                TOps.Store(TOps.Multiply(a1, TOps.Broadcast(Inverse(c + 1))), y + lanes);
                TOps.Store(TOps.Multiply(a2, TOps.Broadcast(Inverse(c + 2))), y + 2 * lanes);
                TOps.Store(TOps.Multiply(a3, TOps.Broadcast(Inverse(c + 3))), y + 3 * lanes);
                TOps.Store(TOps.Multiply(a4, TOps.Broadcast(Inverse(c + 4))), y + 4 * lanes);
                TOps.Store(TOps.Multiply(a5, TOps.Broadcast(Inverse(c + 5))), y + 5 * lanes);
                TOps.Store(TOps.Multiply(a6, TOps.Broadcast(Inverse(c + 6))), y + 6 * lanes);
                TOps.Store(TOps.Multiply(a7, TOps.Broadcast(Inverse(c + 7))), y + 7 * lanes);
            }

            for (; c < vectors; c++)
            {
                float* w = Weights(c), v = Values(c);
                TVec acc = TOps.Zero;
                nint offset = 0;
                for (int j = 0; j < keyCount; j++, offset += kv)
                    acc = TOps.MultiplyAdd(TOps.Broadcast(w[j]), TOps.Load(v + offset), acc);
                TOps.Store(TOps.Multiply(acc, TOps.Broadcast(Inverse(c))), o + c * lanes);
            }

            // Output vector c lies in head c·lanes / dh, whose weights are that head's scores and whose values sit in
            // its key/value head's columns.
            float* Weights(int vector) => rowScores + (nint)(vector * lanes / dh) * stride;

            float* Values(int vector) => values + vector * lanes / dh / group * dh + vector * lanes % dh;

            float Inverse(int vector) => inverses[vector * lanes / dh];
        }

        /// <summary>o[e] = (Σ_j w[j]·V[j, e])·inverse, in j order per element: one head, HeadDim not a whole number of vectors.</summary>
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
