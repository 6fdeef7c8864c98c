using System;
using System.ComponentModel;

namespace FixedShapeAttention.CompilerServices;

/// <summary>
/// Argument checks shared by the generated and the generic kernels. They run before any write, so a rejected
/// call leaves every output buffer as it was.
/// </summary>
/// <remarks>For generated code; no compatibility promise: this namespace may change in any release.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public static partial class KernelArguments
{
    /// <summary>Checks the spans of an attention call and returns the batch size.</summary>
    /// <exception cref="ArgumentException">A length is not a whole, positive number of sequences, the lengths differ,
    /// or <paramref name="output"/> overlaps an input.</exception>
    public static int ValidateAttention(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> output, int sequenceLength, int embeddingDim)
    {
        int batch = WholeSequences(q, nameof(q), sequenceLength, embeddingDim);
        SameLength(k, nameof(k), q.Length, nameof(q));
        SameLength(v, nameof(v), q.Length, nameof(q));
        SameLength(output, nameof(output), q.Length, nameof(q));
        NotOverlapping(output, nameof(output), q, nameof(q));
        NotOverlapping(output, nameof(output), k, nameof(k));
        NotOverlapping(output, nameof(output), v, nameof(v));
        return batch;
    }

    /// <summary>Checks the spans of a grouped-query attention call (K and V of <paramref name="keyValueDim"/> columns) and returns the batch size.</summary>
    /// <exception cref="ArgumentException">A length is not a whole, positive number of sequences, K or V does not have
    /// <paramref name="keyValueDim"/> columns per row of Q, or <paramref name="output"/> overlaps an input.</exception>
    public static int ValidateAttention(
        ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> output, int sequenceLength, int embeddingDim, int keyValueDim)
    {
        int batch = WholeSequences(q, nameof(q), sequenceLength, embeddingDim);
        Positive(keyValueDim, nameof(keyValueDim));
        long keyValueLength = (long)batch * sequenceLength * keyValueDim;
        if (k.Length != keyValueLength)
        {
            ThrowHelper.WrongLength(nameof(k), k.Length, batch * sequenceLength, keyValueDim, "batch·SequenceLength × KeyValueHeads·HeadDim");
        }

        if (v.Length != keyValueLength)
        {
            ThrowHelper.WrongLength(nameof(v), v.Length, batch * sequenceLength, keyValueDim, "batch·SequenceLength × KeyValueHeads·HeadDim");
        }

        SameLength(output, nameof(output), q.Length, nameof(q));
        NotOverlapping(output, nameof(output), q, nameof(q));
        NotOverlapping(output, nameof(output), k, nameof(k));
        NotOverlapping(output, nameof(output), v, nameof(v));
        return batch;
    }

    /// <summary>Checks the spans of a masked grouped-query attention call and returns the batch size.</summary>
    /// <exception cref="ArgumentException">As the grouped <c>ValidateAttention</c>, or a count is out of range.</exception>
    public static int ValidateMaskedAttention(
        ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, ReadOnlySpan<int> keyCounts, Span<float> output,
        int sequenceLength, int embeddingDim, int keyValueDim)
    {
        int batch = ValidateAttention(q, k, v, output, sequenceLength, embeddingDim, keyValueDim);
        ValidateCounts(keyCounts, nameof(keyCounts), batch, sequenceLength);
        return batch;
    }

    /// <summary>Checks the spans of a feed-forward call and returns the batch size.</summary>
    /// <exception cref="ArgumentException">A length does not match the shape, or <paramref name="y"/> overlaps an input.</exception>
    public static int ValidateFeedForward(
        ReadOnlySpan<float> x, ReadOnlySpan<float> w1, ReadOnlySpan<float> b1, ReadOnlySpan<float> w2, ReadOnlySpan<float> b2, Span<float> y,
        int sequenceLength, int embeddingDim, int ffnDim)
    {
        int batch = WholeSequences(x, nameof(x), sequenceLength, embeddingDim);
        ValidateFeedForwardWeights(w1, b1, w2, b2, embeddingDim, ffnDim);
        SameLength(y, nameof(y), x.Length, nameof(x));
        NotOverlapping(y, nameof(y), x, nameof(x));
        NotOverlapping(y, nameof(y), w1, nameof(w1));
        NotOverlapping(y, nameof(y), b1, nameof(b1));
        NotOverlapping(y, nameof(y), w2, nameof(w2));
        NotOverlapping(y, nameof(y), b2, nameof(b2));
        return batch;
    }

    /// <summary>Checks the weights given to a generated <c>PackFeedForward</c>.</summary>
    /// <exception cref="ArgumentException">A length does not match the shape.</exception>
    public static void ValidateFeedForwardWeights(ReadOnlySpan<float> w1, ReadOnlySpan<float> b1, ReadOnlySpan<float> w2, ReadOnlySpan<float> b2, int embeddingDim, int ffnDim)
    {
        Positive(embeddingDim, nameof(embeddingDim));
        Positive(ffnDim, nameof(ffnDim));
        ExactLength(w1, nameof(w1), embeddingDim, ffnDim, "EmbeddingDim×FfnDim");
        ExactLength(b1, nameof(b1), ffnDim, 1, "FfnDim");
        ExactLength(w2, nameof(w2), ffnDim, embeddingDim, "FfnDim×EmbeddingDim");
        ExactLength(b2, nameof(b2), embeddingDim, 1, "EmbeddingDim");
    }

    /// <summary>Checks a feed-forward call with prepacked weights and returns the batch size.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="weights"/> is null.</exception>
    /// <exception cref="ArgumentException">A length does not match the shape, <paramref name="y"/> overlaps <paramref name="x"/>,
    /// or the weights were packed for other dimensions or another vector width.</exception>
    public static int ValidatePackedFeedForward(ReadOnlySpan<float> x, PackedFeedForwardWeights weights, Span<float> y, int sequenceLength, int embeddingDim, int ffnDim, int lanes)
    {
        ArgumentNullException.ThrowIfNull(weights);
        int batch = WholeSequences(x, nameof(x), sequenceLength, embeddingDim);
        if (weights.EmbeddingDim != embeddingDim || weights.FfnDim != ffnDim || weights.Lanes != lanes)
        {
            ThrowHelper.WeightsMismatch(weights.EmbeddingDim, weights.FfnDim, weights.Lanes, embeddingDim, ffnDim, lanes);
        }

        SameLength(y, nameof(y), x.Length, nameof(x));
        NotOverlapping(y, nameof(y), x, nameof(x));
        return batch;
    }

    /// <summary>Checks the spans of a masked attention call and returns the batch size.</summary>
    /// <exception cref="ArgumentException">As <see cref="ValidateAttention(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int)"/>, or <paramref name="keyCounts"/> does not hold
    /// one count in [0, <paramref name="sequenceLength"/>] per sequence.</exception>
    public static int ValidateMaskedAttention(
        ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, ReadOnlySpan<int> keyCounts, Span<float> output, int sequenceLength, int embeddingDim)
    {
        int batch = ValidateAttention(q, k, v, output, sequenceLength, embeddingDim);
        ValidateCounts(keyCounts, nameof(keyCounts), batch, sequenceLength);
        return batch;
    }

    /// <summary>Checks the spans of an encoder forward pass and returns the batch size.</summary>
    /// <exception cref="ArgumentException">A length is not a whole number of sequences, the lengths differ, a count is out of range, or the spans overlap.</exception>
    public static int ValidateEncoder(ReadOnlySpan<float> input, ReadOnlySpan<int> tokenCounts, Span<float> output, int sequenceLength, int embeddingDim)
    {
        int batch = WholeSequences(input, nameof(input), sequenceLength, embeddingDim);
        SameLength(output, nameof(output), input.Length, nameof(input));
        NotOverlapping(output, nameof(output), input, nameof(input));
        ValidateCounts(tokenCounts, nameof(tokenCounts), batch, sequenceLength);
        return batch;
    }

    /// <summary>Checks one count per sequence, each in [0, <paramref name="sequenceLength"/>].</summary>
    /// <exception cref="ArgumentException">The span does not hold <paramref name="batch"/> counts, or one is out of range.</exception>
    public static void ValidateCounts(ReadOnlySpan<int> counts, string name, int batch, int sequenceLength)
    {
        if (counts.Length != batch)
        {
            ThrowHelper.CountsLength(name, counts.Length, batch);
        }

        for (int i = 0; i < counts.Length; i++)
        {
            if ((uint)counts[i] > (uint)sequenceLength)
            {
                ThrowHelper.CountOutOfRange(name, i, counts[i], sequenceLength);
            }
        }
    }

    /// <summary>Checks the spans of a projection <c>y = x·W + b</c> and returns the batch size.</summary>
    /// <exception cref="ArgumentException">A length does not match the shape, or <paramref name="y"/> overlaps an input.</exception>
    public static int ValidateProjection(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, Span<float> y, int sequenceLength, int embeddingDim)
    {
        int batch = WholeSequences(x, nameof(x), sequenceLength, embeddingDim);
        ValidateProjectionWeights(w, b, embeddingDim);
        SameLength(y, nameof(y), x.Length, nameof(x));
        NotOverlapping(y, nameof(y), x, nameof(x));
        NotOverlapping(y, nameof(y), w, nameof(w));
        NotOverlapping(y, nameof(y), b, nameof(b));
        return batch;
    }

    /// <summary>Checks the weights given to a generated <c>PackProjection</c>.</summary>
    /// <exception cref="ArgumentException">A length does not match the shape.</exception>
    public static void ValidateProjectionWeights(ReadOnlySpan<float> w, ReadOnlySpan<float> b, int embeddingDim)
    {
        Positive(embeddingDim, nameof(embeddingDim));
        ExactLength(w, nameof(w), embeddingDim, embeddingDim, "EmbeddingDim×EmbeddingDim");
        ExactLength(b, nameof(b), embeddingDim, 1, "EmbeddingDim");
    }

    /// <summary>Checks a projection with prepacked weights and returns the batch size.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="weights"/> is null.</exception>
    /// <exception cref="ArgumentException">A length does not match the shape, <paramref name="y"/> overlaps <paramref name="x"/>,
    /// or the weights were packed for another width or vector width.</exception>
    public static int ValidatePackedProjection(ReadOnlySpan<float> x, PackedProjectionWeights weights, Span<float> y, int sequenceLength, int embeddingDim, int lanes)
    {
        ArgumentNullException.ThrowIfNull(weights);
        int batch = WholeSequences(x, nameof(x), sequenceLength, embeddingDim);
        if (weights.EmbeddingDim != embeddingDim || weights.Lanes != lanes)
        {
            ThrowHelper.ProjectionWeightsMismatch(weights.EmbeddingDim, weights.Lanes, embeddingDim, lanes);
        }

        SameLength(y, nameof(y), x.Length, nameof(x));
        NotOverlapping(y, nameof(y), x, nameof(x));
        return batch;
    }

    private static int WholeSequences(ReadOnlySpan<float> span, string name, int sequenceLength, int embeddingDim)
    {
        // Generated code passes its constants; a direct caller may pass anything, and a wrapped product would accept
        // spans of the wrong length.
        Positive(sequenceLength, nameof(sequenceLength));
        Positive(embeddingDim, nameof(embeddingDim));
        long product = (long)sequenceLength * embeddingDim;
        if (product > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(embeddingDim), embeddingDim, $"sequenceLength × embeddingDim = {product} is above the largest span.");
        }

        int perSequence = (int)product;
        if (span.Length == 0 || span.Length % perSequence != 0)
        {
            ThrowHelper.NotWholeSequences(name, span.Length, sequenceLength, embeddingDim);
        }

        return span.Length / perSequence;
    }

    private static void SameLength(ReadOnlySpan<float> span, string name, int expected, string referenceName)
    {
        if (span.Length != expected)
        {
            ThrowHelper.LengthDiffers(name, span.Length, referenceName, expected);
        }
    }

    // The formula is formatted only on the throwing path: a valid call allocates nothing.
    private static void ExactLength(ReadOnlySpan<float> span, string name, int rows, int columns, string dimensions)
    {
        if (span.Length != (long)rows * columns)
        {
            ThrowHelper.WrongLength(name, span.Length, rows, columns, dimensions);
        }
    }

    private static void Positive(int value, string name)
    {
        if (value <= 0)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name}: expected a positive dimension, got {value}.");
        }
    }

    private static void NotOverlapping(ReadOnlySpan<float> output, string outputName, ReadOnlySpan<float> input, string inputName)
    {
        if (output.Overlaps(input))
        {
            ThrowHelper.Overlaps(outputName, inputName);
        }
    }
}
