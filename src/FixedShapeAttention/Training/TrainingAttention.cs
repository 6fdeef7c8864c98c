using System;
using System.Runtime.CompilerServices;
using FixedShapeAttention.CompilerServices;
using FixedShapeAttention.Kernels;

namespace FixedShapeAttention.Training;

/// <summary>
/// Multi-head self-attention for training, one chunk per (sequence, head). The forward pass keeps each score row's
/// log-sum-exp; the backward pass recomputes P = exp(S/√d − LSE) from it instead of storing P (flash-attention's
/// trade: T² floats per head are not kept), then forms dS = P ∘ (dP − rowsum(dO ∘ O)) and dQ, dK, dV. Every chunk
/// writes only its own head's columns of its own sequence, so results do not depend on the thread count.
/// </summary>
internal static unsafe class TrainingAttention
{
    [ThreadStatic]
    private static float[]? t_scores;

    [ThreadStatic]
    private static float[]? t_scoreGradients;

    /// <summary>Q, K, V, O: [batch·T, Dim]; lse: [batch, Heads, T].</summary>
    public static void Forward(LanguageModelConfig c, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        Span<float> o, Span<float> lse, int batch, int maxDegreeOfParallelism)
    {
        fixed (float* pq = q, pk = k, pv = v, po = o, pl = lse)
        {
            var kernel = new ForwardKernel(new Operands(c, pq, pk, pv, po, null, pl, null, null, null));
            long flops = 4L * batch * c.Heads * c.SequenceLength * c.SequenceLength * c.HeadDim;
            ParallelRunner.Run(kernel, batch * c.Heads, flops, maxDegreeOfParallelism, default, default, default, default, default, default);
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
            ParallelRunner.Run(kernel, batch * c.Heads, flops, maxDegreeOfParallelism, default, default, default, default, default, default);
        }
    }

    private readonly struct Operands(LanguageModelConfig c, float* q, float* k, float* v, float* o, float* dO, float* lse, float* dQ, float* dK, float* dV)
    {
        public readonly int T = c.SequenceLength, Dim = c.Dim, HeadDim = c.HeadDim, Heads = c.Heads;
        public readonly bool Causal = c.Causal;
        public readonly float* Q = q, K = k, V = v, O = o, DO = dO, Lse = lse, DQ = dQ, DK = dK, DV = dV;

        /// <summary>The span of one head's columns of one sequence's rows in a [batch·T, Dim] buffer.</summary>
        public Span<float> Head(float* matrix, int sequence, int head) =>
            new(matrix + ((nint)sequence * T * Dim) + head * HeadDim, (T - 1) * Dim + HeadDim);

        /// <summary>S = Q·Kᵀ/√d into scores (T×T), then P = exp(S − LSE) in place, 0 above the diagonal when causal.
        /// With <paramref name="keepLse"/> the LSE is computed here and stored; otherwise the stored one is used.</summary>
        public void Probabilities(int sequence, int head, Span<float> scores, bool keepLse)
        {
            PanelGemm.Multiply(Head(Q, sequence, head), Dim, false, Head(K, sequence, head), Dim, true, scores, T, T, T, HeadDim, false, 1);
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
            int sequence = chunk / x.Heads, head = chunk % x.Heads;
            Span<float> p = Scratch(ref t_scores, x.T * x.T);
            x.Probabilities(sequence, head, p, keepLse: true);
            PanelGemm.Multiply(p, x.T, false, x.Head(x.V, sequence, head), x.Dim, false, x.Head(x.O, sequence, head), x.Dim, x.T, x.HeadDim, x.T, false, 1);
        }
    }

    private readonly struct BackwardKernel(Operands x) : IChunkKernel
    {
        public void Execute(in KernelBuffers buffers, int chunk)
        {
            int sequence = chunk / x.Heads, head = chunk % x.Heads, t = x.T;
            Span<float> p = Scratch(ref t_scores, t * t);
            Span<float> dS = Scratch(ref t_scoreGradients, t * t);
            x.Probabilities(sequence, head, p, keepLse: false);

            // dP = dO·Vᵀ, then dS = P ∘ (dP − D)/√d with D_i = dO_i·O_i (= Σ_j P_ij dP_ij).
            Span<float> dO = x.Head(x.DO, sequence, head), o = x.Head(x.O, sequence, head);
            PanelGemm.Multiply(dO, x.Dim, false, x.Head(x.V, sequence, head), x.Dim, true, dS, t, t, t, x.HeadDim, false, 1);
            float scale = 1f / MathF.Sqrt(x.HeadDim);
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

            PanelGemm.Multiply(p, t, true, dO, x.Dim, false, x.Head(x.DV, sequence, head), x.Dim, t, x.HeadDim, t, false, 1);
            PanelGemm.Multiply(dS, t, false, x.Head(x.K, sequence, head), x.Dim, false, x.Head(x.DQ, sequence, head), x.Dim, t, x.HeadDim, t, false, 1);
            PanelGemm.Multiply(dS, t, true, x.Head(x.Q, sequence, head), x.Dim, false, x.Head(x.DK, sequence, head), x.Dim, t, x.HeadDim, t, false, 1);
        }
    }
}
