using System;
using FixedShapeAttention.Encoder;

namespace FixedShapeAttention.Models.Tests;

/// <summary>
/// A naive float64 BERT encoder (post-LayerNorm, erf GELU) over <see cref="BertWeights"/>, written from the BERT paper's
/// definition and nothing else: if the loader mapped a tensor to the wrong role, transposed a matrix, or inferred the
/// wrong head count or ε, its output parts from ONNX Runtime's for the same model.
/// </summary>
internal static class ReferenceEncoder
{
    /// <summary>The last hidden state, <c>[tokens, hidden]</c>, for one unpadded sequence.</summary>
    public static double[,] Run(BertWeights weights, ReadOnlySpan<long> inputIds, ReadOnlySpan<long> tokenTypeIds)
    {
        BertConfig c = weights.Config;
        int n = inputIds.Length, h = c.HiddenSize;
        var x = new double[n, h];
        for (int t = 0; t < n; t++)
        {
            for (int j = 0; j < h; j++)
            {
                x[t, j] = weights.WordEmbeddings[inputIds[t] * h + j] + weights.PositionEmbeddings[t * h + j]
                          + weights.TokenTypeEmbeddings[tokenTypeIds[t] * h + j];
            }
        }

        x = LayerNorm(x, weights.EmbeddingLayerNormGamma, weights.EmbeddingLayerNormBeta, c.LayerNormEpsilon);
        foreach (EncoderLayerParameters layer in weights.Layers)
        {
            double[,] context = Attention(
                Linear(x, layer.QueryWeight, layer.QueryBias), Linear(x, layer.KeyWeight, layer.KeyBias), Linear(x, layer.ValueWeight, layer.ValueBias), c.Heads);
            double[,] a = LayerNorm(Add(Linear(context, layer.OutputWeight, layer.OutputBias), x),
                layer.AttentionNormGamma, layer.AttentionNormBeta, c.LayerNormEpsilon);
            double[,] inner = Linear(a, layer.FeedForwardWeight1, layer.FeedForwardBias1);
            for (int t = 0; t < n; t++)
            {
                for (int j = 0; j < inner.GetLength(1); j++)
                    inner[t, j] = 0.5 * inner[t, j] * (1 + Erf(inner[t, j] / Math.Sqrt(2)));
            }

            x = LayerNorm(Add(Linear(inner, layer.FeedForwardWeight2, layer.FeedForwardBias2), a),
                layer.FeedForwardNormGamma, layer.FeedForwardNormBeta, c.LayerNormEpsilon);
        }

        return x;
    }

    /// <summary>y = x·W + b with W stored [in, out].</summary>
    private static double[,] Linear(double[,] x, float[] w, float[] b)
    {
        int n = x.GetLength(0), inputs = x.GetLength(1), outputs = b.Length;
        var y = new double[n, outputs];
        for (int t = 0; t < n; t++)
        {
            for (int o = 0; o < outputs; o++)
            {
                double sum = b[o];
                for (int i = 0; i < inputs; i++)
                    sum += x[t, i] * w[i * outputs + o];
                y[t, o] = sum;
            }
        }

        return y;
    }

    /// <summary>Per head: softmax(Q·Kᵀ/√d)·V over the columns of that head.</summary>
    private static double[,] Attention(double[,] q, double[,] k, double[,] v, int heads)
    {
        int n = q.GetLength(0), h = q.GetLength(1), d = h / heads;
        var output = new double[n, h];
        var scores = new double[n];
        for (int head = 0; head < heads; head++)
        {
            int offset = head * d;
            for (int i = 0; i < n; i++)
            {
                double max = double.NegativeInfinity;
                for (int j = 0; j < n; j++)
                {
                    double dot = 0;
                    for (int e = 0; e < d; e++)
                        dot += q[i, offset + e] * k[j, offset + e];
                    scores[j] = dot / Math.Sqrt(d);
                    max = Math.Max(max, scores[j]);
                }

                double total = 0;
                for (int j = 0; j < n; j++)
                    total += scores[j] = Math.Exp(scores[j] - max);
                for (int e = 0; e < d; e++)
                {
                    double sum = 0;
                    for (int j = 0; j < n; j++)
                        sum += scores[j] / total * v[j, offset + e];
                    output[i, offset + e] = sum;
                }
            }
        }

        return output;
    }

    private static double[,] LayerNorm(double[,] x, float[] gamma, float[] beta, double epsilon)
    {
        int n = x.GetLength(0), h = x.GetLength(1);
        var y = new double[n, h];
        for (int t = 0; t < n; t++)
        {
            double mean = 0, variance = 0;
            for (int j = 0; j < h; j++)
                mean += x[t, j] / h;
            for (int j = 0; j < h; j++)
                variance += (x[t, j] - mean) * (x[t, j] - mean) / h;
            for (int j = 0; j < h; j++)
                y[t, j] = (x[t, j] - mean) / Math.Sqrt(variance + epsilon) * gamma[j] + beta[j];
        }

        return y;
    }

    private static double[,] Add(double[,] a, double[,] b)
    {
        var y = (double[,])a.Clone();
        for (int t = 0; t < a.GetLength(0); t++)
        {
            for (int j = 0; j < a.GetLength(1); j++)
                y[t, j] += b[t, j];
        }

        return y;
    }

    /// <summary>
    /// erf by Abramowitz and Stegun, Handbook of Mathematical Functions, formula 7.1.26 (absolute error ≤ 1.5e-7, far
    /// below the float32 tolerance this reference is compared with).
    /// </summary>
    private static double Erf(double x)
    {
        double t = 1 / (1 + 0.3275911 * Math.Abs(x));
        double poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
        double y = 1 - poly * Math.Exp(-x * x);
        return x >= 0 ? y : -y;
    }
}
