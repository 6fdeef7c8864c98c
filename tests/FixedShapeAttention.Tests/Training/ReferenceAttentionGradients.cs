using System;
using FixedShapeAttention;

namespace FixedShapeAttention.Tests.Training;

/// <summary>
/// Multi-head attention forward and backward in float64, written from the definitions with nothing shared with the
/// kernels: S = Q·Kᵀ/√d over the visible keys (j ≤ i when causal, j &lt; keyCount when masked), LSE_i = log Σ_j e^S_ij,
/// P = e^(S − LSE), O = P·V; dP = dO·Vᵀ, dS = P ∘ (dP − rowsum(P ∘ dP)), dQ = dS·K/√d, dK = dSᵀ·Q/√d, dV = Pᵀ·dO. A row
/// that sees no key has O = 0, LSE = −∞ and no gradient.
/// </summary>
internal sealed record ReferenceAttentionGradients(double[] Output, double[] LogSumExp, double[] QueryGradient, double[] KeyGradient, double[] ValueGradient)
{
    public static ReferenceAttentionGradients Compute(TransformerShape shape, int batch, float[] q, float[] k, float[] v, float[] dO, int[]? keyCounts)
    {
        int t = shape.SequenceLength, e = shape.EmbeddingDim, d = shape.HeadDim, heads = shape.Heads;
        int n = batch * t * e;
        var result = new ReferenceAttentionGradients(new double[n], new double[batch * heads * t], new double[n], new double[n], new double[n]);
        double scale = 1.0 / Math.Sqrt(d);
        var p = new double[t, t];
        var dS = new double[t, t];
        for (int b = 0; b < batch; b++)
        {
            int keyCount = keyCounts?[b] ?? t;
            for (int h = 0; h < heads; h++)
            {
                int At(int row, int col) => (b * t + row) * e + h * d + col;
                for (int i = 0; i < t; i++)
                {
                    int visible = shape.Causal ? Math.Min(i + 1, keyCount) : keyCount;
                    double max = double.NegativeInfinity;
                    for (int j = 0; j < t; j++)
                    {
                        double s = 0;
                        for (int c = 0; c < d; c++)
                            s += (double)q[At(i, c)] * k[At(j, c)];
                        p[i, j] = j < visible ? s * scale : double.NegativeInfinity;
                        max = Math.Max(max, p[i, j]);
                    }

                    double sum = 0;
                    for (int j = 0; j < visible; j++)
                        sum += Math.Exp(p[i, j] - max);
                    double lse = visible == 0 ? double.NegativeInfinity : max + Math.Log(sum);
                    result.LogSumExp[(b * heads + h) * t + i] = lse;
                    for (int j = 0; j < t; j++)
                        p[i, j] = j < visible ? Math.Exp(p[i, j] - lse) : 0;

                    for (int c = 0; c < d; c++)
                    {
                        double o = 0;
                        for (int j = 0; j < visible; j++)
                            o += p[i, j] * v[At(j, c)];
                        result.Output[At(i, c)] = o;
                    }

                    double delta = 0;
                    for (int j = 0; j < visible; j++)
                    {
                        double dp = 0;
                        for (int c = 0; c < d; c++)
                            dp += (double)dO[At(i, c)] * v[At(j, c)];
                        dS[i, j] = dp;
                        delta += p[i, j] * dp;
                    }

                    for (int j = 0; j < t; j++)
                        dS[i, j] = j < visible ? p[i, j] * (dS[i, j] - delta) : 0;
                }

                for (int i = 0; i < t; i++)
                {
                    for (int c = 0; c < d; c++)
                    {
                        double dq = 0, dk = 0, dv = 0;
                        for (int j = 0; j < t; j++)
                        {
                            dq += dS[i, j] * k[At(j, c)];
                            dk += dS[j, i] * q[At(j, c)];
                            dv += p[j, i] * dO[At(j, c)];
                        }

                        result.QueryGradient[At(i, c)] = dq * scale;
                        result.KeyGradient[At(i, c)] = dk * scale;
                        result.ValueGradient[At(i, c)] = dv;
                    }
                }
            }
        }

        return result;
    }
}
