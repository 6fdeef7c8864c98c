using System;
using System.Collections.Generic;

namespace FixedShapeAttention.Tests;

/// <summary>
/// The float64 reference the kernels are held to: the textbook formulas, one output row at a time, with no
/// blocking, vectors or threads. Rows are computed on request so large shapes can be checked on a sample.
/// </summary>
internal static class Reference
{
    /// <summary>Attention output row <paramref name="row"/> of sequence <paramref name="sequence"/>, all heads; keys from
    /// <paramref name="keyCount"/> on are masked (a row with no visible key is zeros). With <paramref name="keyValueHeads"/>
    /// (0: one per query head) K and V have keyValueHeads·HeadDim columns and query head h reads key/value head
    /// h / (Heads / keyValueHeads), grouped-query attention.</summary>
    public static double[] AttentionRow(TransformerShape shape, float[] q, float[] k, float[] v, int sequence, int row, int keyCount = int.MaxValue, int keyValueHeads = 0)
    {
        int s = shape.SequenceLength, e = shape.EmbeddingDim, d = shape.HeadDim;
        int kvHeads = keyValueHeads == 0 ? shape.Heads : keyValueHeads, kv = kvHeads * d, group = shape.Heads / kvHeads;
        int baseOffset = sequence * s * e, kvOffset = sequence * s * kv;
        var output = new double[e];
        int visible = Math.Min(shape.Causal ? row + 1 : s, keyCount);
        if (visible == 0)
        {
            return output;
        }

        var scores = new double[visible];
        for (int head = 0; head < shape.Heads; head++)
        {
            int column0 = head * d, kvColumn0 = head / group * d;
            double max = double.NegativeInfinity;
            for (int key = 0; key < visible; key++)
            {
                double dot = 0;
                for (int c = 0; c < d; c++)
                {
                    dot += (double)q[baseOffset + row * e + column0 + c] * k[kvOffset + key * kv + kvColumn0 + c];
                }

                scores[key] = dot / Math.Sqrt(d);
                max = Math.Max(max, scores[key]);
            }

            double sum = 0;
            for (int key = 0; key < visible; key++)
            {
                scores[key] = Math.Exp(scores[key] - max);
                sum += scores[key];
            }

            for (int c = 0; c < d; c++)
            {
                double value = 0;
                for (int key = 0; key < visible; key++)
                {
                    value += scores[key] / sum * v[kvOffset + key * kv + kvColumn0 + c];
                }

                output[column0 + c] = value;
            }
        }

        return output;
    }

    /// <summary>Feed-forward output row <paramref name="row"/> (a global row index over the batch).</summary>
    public static double[] FeedForwardRow(TransformerShape shape, float[] x, float[] w1, float[] b1, float[] w2, float[] b2, int row)
    {
        int e = shape.EmbeddingDim, f = shape.FfnDim;
        var hidden = new double[f];
        for (int j = 0; j < f; j++)
        {
            double sum = b1[j];
            for (int i = 0; i < e; i++)
            {
                sum += (double)x[row * e + i] * w1[i * f + j];
            }

            hidden[j] = Activate(shape.Activation, sum);
        }

        var output = new double[e];
        for (int c = 0; c < e; c++)
        {
            double sum = b2[c];
            for (int j = 0; j < f; j++)
            {
                sum += hidden[j] * w2[j * e + c];
            }

            output[c] = sum;
        }

        return output;
    }

    /// <summary>Projection output row <paramref name="row"/> (a global row index over the batch): x·W + b.</summary>
    public static double[] ProjectionRow(int embeddingDim, float[] x, float[] w, float[] b, int row)
    {
        int e = embeddingDim;
        var output = new double[e];
        for (int c = 0; c < e; c++)
        {
            double sum = b[c];
            for (int i = 0; i < e; i++)
            {
                sum += (double)x[row * e + i] * w[i * e + c];
            }

            output[c] = sum;
        }

        return output;
    }

    public static double Activate(Activation activation, double x) => activation switch
    {
        Activation.Relu => Math.Max(x, 0),
        Activation.Gelu => 0.5 * x * Erfc(-x / Math.Sqrt(2)),
        // 0.5·(1 + tanh(u)) = 1/(1 + e^(−2u)): the same function without 1 + tanh(u) cancelling to 0 for u ≪ 0.
        Activation.GeluTanh => x / (1 + Math.Exp(-2 * Math.Sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x))),
        Activation.Silu => x / (1 + Math.Exp(-x)),
        _ => throw new ArgumentOutOfRangeException(nameof(activation)),
    };

    /// <summary>
    /// erfc in double to ~1e-15 relative: the Maclaurin series of erf below |z| = 2 (terms shrink past n ≈ 4, so
    /// at most ~1e-16 is lost), Lentz's continued fraction for erfc above it (A&amp;S 7.1.14), where it converges fast.
    /// </summary>
    public static double Erfc(double z)
    {
        if (z < 0)
        {
            return 2 - Erfc(-z);
        }

        if (z <= 2)
        {
            double term = z, sum = z;
            for (int n = 1; Math.Abs(term) > 1e-18 * Math.Abs(sum); n++)
            {
                term *= -z * z / n;
                sum += term / (2 * n + 1);
            }

            return 1 - 2 / Math.Sqrt(Math.PI) * sum;
        }

        // erfc(z) = exp(−z²)/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + 2/(z + …))))).
        const double tiny = 1e-300;
        double f = z, c = z, dd = 0;
        for (int n = 1; n < 500; n++)
        {
            double a = n / 2.0;
            dd = z + a * dd;
            dd = Math.Abs(dd) < tiny ? tiny : dd;
            c = z + a / c;
            c = Math.Abs(c) < tiny ? tiny : c;
            dd = 1 / dd;
            double delta = c * dd;
            f *= delta;
            if (Math.Abs(delta - 1) < 1e-16)
            {
                break;
            }
        }

        return Math.Exp(-z * z) / Math.Sqrt(Math.PI) / f;
    }

    /// <summary>Rows worth checking: all of a small sequence; for a large one the first and last tiles, tails and the middle.</summary>
    public static IEnumerable<int> SampleRows(int sequenceLength)
    {
        if (sequenceLength <= 40)
        {
            for (int row = 0; row < sequenceLength; row++)
            {
                yield return row;
            }

            yield break;
        }

        var rows = new SortedSet<int> { 0, 1, 2, 3, 4, 5, sequenceLength / 2, sequenceLength / 2 + 1, sequenceLength - 5, sequenceLength - 3, sequenceLength - 2, sequenceLength - 1 };
        foreach (int row in rows)
        {
            yield return row;
        }
    }
}
