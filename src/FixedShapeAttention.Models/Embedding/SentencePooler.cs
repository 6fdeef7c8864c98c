using System;

namespace FixedShapeAttention.Models;

/// <summary>
/// sentence-transformers' Pooling and Normalize modules over one sentence's token states <c>[count, hidden]</c>
/// (padding already cut off). Sums and the norm are taken in double, so the result does not depend on how many
/// tokens are summed in float.
/// </summary>
internal static class SentencePooler
{
    public static void Pool(ReadOnlySpan<float> tokens, int count, int hidden, SentencePooling pooling, bool normalize, Span<float> embedding, Span<double> scratch)
    {
        Span<double> pooled = scratch.Slice(0, hidden);
        switch (pooling)
        {
            case SentencePooling.Cls:
                for (int c = 0; c < hidden; c++)
                {
                    pooled[c] = tokens[c];
                }

                break;

            case SentencePooling.Max:
                for (int c = 0; c < hidden; c++)
                {
                    pooled[c] = double.NegativeInfinity;
                }

                for (int t = 0; t < count; t++)
                {
                    ReadOnlySpan<float> row = tokens.Slice(t * hidden, hidden);
                    for (int c = 0; c < hidden; c++)
                    {
                        pooled[c] = Math.Max(pooled[c], row[c]);
                    }
                }

                break;

            default:
                pooled.Clear();
                for (int t = 0; t < count; t++)
                {
                    ReadOnlySpan<float> row = tokens.Slice(t * hidden, hidden);
                    for (int c = 0; c < hidden; c++)
                    {
                        pooled[c] += row[c];
                    }
                }

                // sentence-transformers divides by max(count, 1e-9); every sequence has at least [CLS] and [SEP].
                double inverse = 1.0 / Math.Max(count, 1);
                for (int c = 0; c < hidden; c++)
                {
                    pooled[c] *= inverse;
                }

                break;
        }

        double scale = 1;
        if (normalize)
        {
            double norm = 0;
            for (int c = 0; c < hidden; c++)
            {
                norm += pooled[c] * pooled[c];
            }

            // sentence-transformers' Normalize is torch's F.normalize: x / max(‖x‖, 1e-12).
            scale = 1 / Math.Max(Math.Sqrt(norm), 1e-12);
        }

        for (int c = 0; c < hidden; c++)
        {
            embedding[c] = (float)(pooled[c] * scale);
        }
    }
}
