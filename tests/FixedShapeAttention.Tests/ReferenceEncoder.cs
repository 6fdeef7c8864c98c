using System;
using System.Collections.Generic;
using FixedShapeAttention.Encoder;

namespace FixedShapeAttention.Tests;

/// <summary>
/// A float64 transformer encoder written from the textbook formulas, one sequence at a time with no packing, blocking
/// or threads: the reference TransformerEncoder is held to. Padded keys (from the sequence's token count on) are left
/// out of the softmax.
/// </summary>
internal static class ReferenceEncoder
{
    public static double[] Forward(TransformerShape shape, IReadOnlyList<EncoderLayerParameters> layers, LayerNormPlacement placement, double epsilon, float[] input, int[] tokenCounts)
    {
        int s = shape.SequenceLength, e = shape.EmbeddingDim;
        var output = new double[input.Length];
        for (int sequence = 0; sequence < tokenCounts.Length; sequence++)
        {
            var x = new double[s, e];
            for (int t = 0; t < s; t++)
            {
                for (int c = 0; c < e; c++)
                {
                    x[t, c] = input[(sequence * s + t) * e + c];
                }
            }

            foreach (EncoderLayerParameters layer in layers)
            {
                x = placement == LayerNormPlacement.PostNorm
                    ? Norm(Add(x, Attend(shape, layer, x, tokenCounts[sequence])), layer.AttentionNormGamma, layer.AttentionNormBeta, epsilon)
                    : Add(x, Attend(shape, layer, Norm(x, layer.AttentionNormGamma, layer.AttentionNormBeta, epsilon), tokenCounts[sequence]));
                x = placement == LayerNormPlacement.PostNorm
                    ? Norm(Add(x, FeedForward(shape, layer, x)), layer.FeedForwardNormGamma, layer.FeedForwardNormBeta, epsilon)
                    : Add(x, FeedForward(shape, layer, Norm(x, layer.FeedForwardNormGamma, layer.FeedForwardNormBeta, epsilon)));
            }

            for (int t = 0; t < s; t++)
            {
                for (int c = 0; c < e; c++)
                {
                    output[(sequence * s + t) * e + c] = x[t, c];
                }
            }
        }

        return output;
    }

    private static double[,] Attend(TransformerShape shape, EncoderLayerParameters layer, double[,] x, int tokenCount)
    {
        int s = shape.SequenceLength, e = shape.EmbeddingDim, d = shape.HeadDim;
        double[,] q = Linear(x, layer.QueryWeight, layer.QueryBias, e), k = Linear(x, layer.KeyWeight, layer.KeyBias, e), v = Linear(x, layer.ValueWeight, layer.ValueBias, e);
        var context = new double[s, e];
        for (int head = 0; head < shape.Heads; head++)
        {
            for (int row = 0; row < s; row++)
            {
                int visible = Math.Min(shape.Causal ? row + 1 : s, tokenCount);
                var weights = new double[visible];
                double max = double.NegativeInfinity, sum = 0;
                for (int key = 0; key < visible; key++)
                {
                    double dot = 0;
                    for (int c = 0; c < d; c++)
                    {
                        dot += q[row, head * d + c] * k[key, head * d + c];
                    }

                    weights[key] = dot / Math.Sqrt(d);
                    max = Math.Max(max, weights[key]);
                }

                for (int key = 0; key < visible; key++)
                {
                    weights[key] = Math.Exp(weights[key] - max);
                    sum += weights[key];
                }

                for (int c = 0; c < d; c++)
                {
                    double value = 0;
                    for (int key = 0; key < visible; key++)
                    {
                        value += weights[key] / sum * v[key, head * d + c];
                    }

                    context[row, head * d + c] = value;
                }
            }
        }

        return Linear(context, layer.OutputWeight, layer.OutputBias, e);
    }

    private static double[,] FeedForward(TransformerShape shape, EncoderLayerParameters layer, double[,] x)
    {
        double[,] hidden = Linear(x, layer.FeedForwardWeight1, layer.FeedForwardBias1, shape.FfnDim);
        for (int t = 0; t < hidden.GetLength(0); t++)
        {
            for (int j = 0; j < hidden.GetLength(1); j++)
            {
                hidden[t, j] = Reference.Activate(shape.Activation, hidden[t, j]);
            }
        }

        return Linear(hidden, layer.FeedForwardWeight2, layer.FeedForwardBias2, shape.EmbeddingDim);
    }

    private static double[,] Linear(double[,] x, float[] w, float[] b, int outputs)
    {
        int rows = x.GetLength(0), inputs = x.GetLength(1);
        var y = new double[rows, outputs];
        for (int t = 0; t < rows; t++)
        {
            for (int o = 0; o < outputs; o++)
            {
                double sum = b[o];
                for (int i = 0; i < inputs; i++)
                {
                    sum += x[t, i] * w[i * outputs + o];
                }

                y[t, o] = sum;
            }
        }

        return y;
    }

    private static double[,] Add(double[,] a, double[,] b)
    {
        var sum = new double[a.GetLength(0), a.GetLength(1)];
        for (int t = 0; t < a.GetLength(0); t++)
        {
            for (int c = 0; c < a.GetLength(1); c++)
            {
                sum[t, c] = a[t, c] + b[t, c];
            }
        }

        return sum;
    }

    private static double[,] Norm(double[,] x, float[] gamma, float[] beta, double epsilon)
    {
        int rows = x.GetLength(0), n = x.GetLength(1);
        var y = new double[rows, n];
        for (int t = 0; t < rows; t++)
        {
            double mean = 0, variance = 0;
            for (int c = 0; c < n; c++)
            {
                mean += x[t, c];
            }

            mean /= n;
            for (int c = 0; c < n; c++)
            {
                variance += (x[t, c] - mean) * (x[t, c] - mean);
            }

            variance /= n;
            for (int c = 0; c < n; c++)
            {
                y[t, c] = (x[t, c] - mean) / Math.Sqrt(variance + epsilon) * gamma[c] + beta[c];
            }
        }

        return y;
    }
}
