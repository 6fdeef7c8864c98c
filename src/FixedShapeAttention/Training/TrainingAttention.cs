using System;
using System.Runtime.CompilerServices;
using FixedShapeAttention.CompilerServices;
using FixedShapeAttention.Kernels;

namespace FixedShapeAttention.Training;

/// <summary>
/// Multi-head self-attention for training, grouped-query when the model has fewer key/value heads than query heads,
/// one chunk per (sequence, key/value head) that runs the query heads of its group in order. The forward pass keeps each score row's
/// log-sum-exp; the backward pass recomputes P = exp(S/√d − LSE) from it instead of storing P (flash-attention's
/// trade: T² floats per head are not kept), then forms dS = P ∘ (dP − rowsum(dO ∘ O)) and dQ, dK, dV; the group's heads add
/// into their shared dK and dV in head order. Every chunk writes only its own heads' columns of its own sequence, so
/// results do not depend on the thread count.
/// </summary>
internal static unsafe class TrainingAttention
{
    [ThreadStatic]
    private static float[]? t_scores;

    [ThreadStatic]
    private static float[]? t_scoreGradients;

    /// <summary>Q, O: [batch·T, Dim]; K, V: [batch·T, KeyValueDim]; lse: [batch, Heads, T].</summary>
    public static void Forward(LanguageModelConfig c, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        Span<float> o, Span<float> lse, int batch, int maxDegreeOfParallelism)
    {
        fixed (float* pq = q, pk = k, pv = v, po = o, pl = lse)
        {
            var kernel = new ForwardKernel(new Operands(c, pq, pk, pv, po, null, pl, null, null, null));
            long flops = 4L * batch * c.Heads * c.SequenceLength * c.SequenceLength * c.HeadDim;
            ParallelRunner.Run(kernel, batch * c.KeyValueHeadCount, flops, maxDegreeOfParallelism, default, default, default, default, default, default);
        }
    }

    /// <summary>dQ, dK, dV from dO, with Q, K, V, O and the LSE of the forward pass.</summary>
    public static void Backward(LanguageModelConfig c, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        ReadOnlySpan<float> o, ReadOnlySpan<float> lse, ReadOnlySpan<float> dO, Span<float> dQ, Span<float> dK, Span<float> dV,
        int batch, int maxDegreeOfParallelism)
    {
        fixed (float* pq = q, pk = k, pv = v, po = o, pl = lse, pdo = dO, pdq = dQ, pdk = dK, pdv = dV)
        {
            var kernel = new BackwardKernel(new Operands(c, pq, pk, pv, po, pdo, pl, pdq, pdk, pdv));
            long flops = 10L * batch * c.Heads * c.SequenceLength * c.SequenceLength * c.HeadDim;
            ParallelRunner.Run(kernel, batch * c.KeyValueHeadCount, flops, maxDegreeOfParallelism, default, default, default, default, default, default);
        }
    }

    private readonly struct Operands(LanguageModelConfig c, float* q, float* k, float* v, float* o, float* dO, float* lse, float* dQ, float* dK, float* dV)
    {
        public readonly int T = c.SequenceLength, Dim = c.Dim, KvDim = c.KeyValueDim, HeadDim = c.HeadDim, Heads = c.Heads;
        public readonly int Group = c.Heads / c.KeyValueHeadCount;
        public readonly bool Causal = c.Causal;
        public readonly float* Q = q, K = k, V = v, O = o, DO = dO, Lse = lse, DQ = dQ, DK = dK, DV = dV;

        /// <summary>The span of one query head's columns of one sequence's rows in a [batch·T, Dim] buffer.</summary>
        public Span<float> Head(float* matrix, int sequence, int head) =>
            new(matrix + ((nint)sequence * T * Dim) + head * HeadDim, (T - 1) * Dim + HeadDim);

        /// <summary>The span of one key/value head's columns of one sequence's rows in a [batch·T, KeyValueDim] buffer.</summary>
        public Span<float> KvHead(float* matrix, int sequence, int kvHead) =>
            new(matrix + ((nint)sequence * T * KvDim) + kvHead * HeadDim, (T - 1) * KvDim + HeadDim);

        /// <summary>S = Q·Kᵀ/√d into scores (T×T), then P = exp(S − LSE) in place, 0 above the diagonal when causal.
        /// With <paramref name="keepLse"/> the LSE is computed here and stored; otherwise the stored one is used.</summary>
        public void Probabilities(int sequence, int head, Span<float> scores, bool keepLse)
        {
            PanelGemm.Multiply(Head(Q, sequence, head), Dim, false, KvHead(K, sequence, head / Group), KvDim, true, scores, T, T, T, HeadDim, false, 1);
            float scale = 1f / MathF.Sqrt(HeadDim);
            float* lse = Lse + ((nint)sequence * Heads + head) * T;
            for (int i = 0; i < T; i++)
            {
                Span<float> row = scores.Slice(i * T, T);
                int keys = Causal ? i + 1 : T;
                if (keepLse)
                {
                    float max = RowExp.Max(row[..keys], scale);
                    lse[i] = (float)(max + Math.Log(RowExp.Sum(row[..keys], scale, max)));
                }

                RowExp.Write(row[..keys], scale, lse[i]);
                row[keys..].Clear();
            }
        }
    }

    private static Span<float> Scratch(ref float[]? buffer, int floats)
    {
        if (buffer is null || buffer.Length < floats)
            buffer = new float[floats];
        return buffer.AsSpan(0, floats);
    }

    private readonly struct ForwardKernel(Operands x) : IChunkKernel
    {
        public void Execute(in KernelBuffers buffers, int chunk)
        {
            int kvHeads = x.Heads / x.Group, sequence = chunk / kvHeads, kvHead = chunk % kvHeads;
            Span<float> p = Scratch(ref t_scores, x.T * x.T);
            for (int head = kvHead * x.Group; head < (kvHead + 1) * x.Group; head++)
            {
                x.Probabilities(sequence, head, p, keepLse: true);
                PanelGemm.Multiply(p, x.T, false, x.KvHead(x.V, sequence, kvHead), x.KvDim, false, x.Head(x.O, sequence, head), x.Dim, x.T, x.HeadDim, x.T, false, 1);
            }
        }
    }

    private readonly struct BackwardKernel(Operands x) : IChunkKernel
    {
        public void Execute(in KernelBuffers buffers, int chunk)
        {
            int kvHeads = x.Heads / x.Group, sequence = chunk / kvHeads, kvHead = chunk % kvHeads, t = x.T;
            Span<float> p = Scratch(ref t_scores, t * t);
            Span<float> dS = Scratch(ref t_scoreGradients, t * t);
            Span<float> k = x.KvHead(x.K, sequence, kvHead), v = x.KvHead(x.V, sequence, kvHead);
            Span<float> dK = x.KvHead(x.DK, sequence, kvHead), dV = x.KvHead(x.DV, sequence, kvHead);
            float scale = 1f / MathF.Sqrt(x.HeadDim);
            for (int head = kvHead * x.Group; head < (kvHead + 1) * x.Group; head++)
            {
                // The group's first head writes dK and dV, the others add to them, in head order.
                bool accumulate = head != kvHead * x.Group;
                x.Probabilities(sequence, head, p, keepLse: false);

                // dP = dO·Vᵀ, then dS = P ∘ (dP − D)/√d with D_i = dO_i·O_i (= Σ_j P_ij dP_ij).
                Span<float> dO = x.Head(x.DO, sequence, head), o = x.Head(x.O, sequence, head);
                PanelGemm.Multiply(dO, x.Dim, false, v, x.KvDim, true, dS, t, t, t, x.HeadDim, false, 1);
                for (int i = 0; i < t; i++)
                {
                    double d = 0;
                    for (int e = 0; e < x.HeadDim; e++)
                        d += (double)dO[i * x.Dim + e] * o[i * x.Dim + e];
                    float di = (float)d;
                    Span<float> pRow = p.Slice(i * t, t), dRow = dS.Slice(i * t, t);
                    for (int j = 0; j < t; j++)
                        dRow[j] = pRow[j] * (dRow[j] - di) * scale;
                }

                PanelGemm.Multiply(p, t, true, dO, x.Dim, false, dV, x.KvDim, t, x.HeadDim, t, accumulate, 1);
                PanelGemm.Multiply(dS, t, false, k, x.KvDim, false, x.Head(x.DQ, sequence, head), x.Dim, t, x.HeadDim, t, false, 1);
                PanelGemm.Multiply(dS, t, true, x.Head(x.Q, sequence, head), x.Dim, false, dK, x.KvDim, t, x.HeadDim, t, accumulate, 1);
            }
        }
    }
}
