using System;

namespace FixedShapeAttention.CompilerServices;

public static partial class KernelArguments
{
    /// <summary>Checks the spans of an attention forward pass for training and returns the batch size.</summary>
    /// <exception cref="ArgumentException">As <see cref="ValidateAttention"/>, or <paramref name="logSumExp"/> does not hold
    /// batch × <paramref name="heads"/> × <paramref name="sequenceLength"/> floats or overlaps another span.</exception>
    public static int ValidateAttentionForTraining(
        ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> output, Span<float> logSumExp,
        int sequenceLength, int embeddingDim, int heads)
    {
        int batch = ValidateAttention(q, k, v, output, sequenceLength, embeddingDim);
        ValidateLogSumExp(logSumExp, nameof(logSumExp), batch, sequenceLength, heads);
        NotOverlapping(logSumExp, nameof(logSumExp), q, nameof(q));
        NotOverlapping(logSumExp, nameof(logSumExp), k, nameof(k));
        NotOverlapping(logSumExp, nameof(logSumExp), v, nameof(v));
        NotOverlapping(logSumExp, nameof(logSumExp), output, nameof(output));
        return batch;
    }

    /// <summary>Checks the spans of an attention backward pass and returns the batch size.</summary>
    /// <exception cref="ArgumentException">A length does not match the shape (every matrix [batch, sequenceLength, embeddingDim], the
    /// log-sum-exps batch × heads × sequenceLength), or a gradient overlaps another span.</exception>
    public static int ValidateAttentionBackward(
        ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, ReadOnlySpan<float> output, ReadOnlySpan<float> logSumExp,
        ReadOnlySpan<float> outputGradient, Span<float> queryGradient, Span<float> keyGradient, Span<float> valueGradient,
        int sequenceLength, int embeddingDim, int heads)
    {
        int batch = WholeSequences(q, nameof(q), sequenceLength, embeddingDim);
        SameLength(k, nameof(k), q.Length, nameof(q));
        SameLength(v, nameof(v), q.Length, nameof(q));
        SameLength(output, nameof(output), q.Length, nameof(q));
        SameLength(outputGradient, nameof(outputGradient), q.Length, nameof(q));
        SameLength(queryGradient, nameof(queryGradient), q.Length, nameof(q));
        SameLength(keyGradient, nameof(keyGradient), q.Length, nameof(q));
        SameLength(valueGradient, nameof(valueGradient), q.Length, nameof(q));
        ValidateLogSumExp(logSumExp, nameof(logSumExp), batch, sequenceLength, heads);
        GradientApart(queryGradient, nameof(queryGradient), q, k, v, output, logSumExp, outputGradient);
        GradientApart(keyGradient, nameof(keyGradient), q, k, v, output, logSumExp, outputGradient);
        GradientApart(valueGradient, nameof(valueGradient), q, k, v, output, logSumExp, outputGradient);
        NotOverlapping(queryGradient, nameof(queryGradient), keyGradient, nameof(keyGradient));
        NotOverlapping(queryGradient, nameof(queryGradient), valueGradient, nameof(valueGradient));
        NotOverlapping(keyGradient, nameof(keyGradient), valueGradient, nameof(valueGradient));
        return batch;
    }

    private static void ValidateLogSumExp(ReadOnlySpan<float> logSumExp, string name, int batch, int sequenceLength, int heads)
    {
        Positive(heads, nameof(heads));
        long expected = (long)batch * heads * sequenceLength;
        if (logSumExp.Length != expected)
        {
            throw new ArgumentException(
                $"{name}: expected {expected} floats (batch {batch} × heads {heads} × sequenceLength {sequenceLength}), got {logSumExp.Length}.", name);
        }
    }

    private static void GradientApart(
        ReadOnlySpan<float> gradient, string name, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        ReadOnlySpan<float> output, ReadOnlySpan<float> logSumExp, ReadOnlySpan<float> outputGradient)
    {
        NotOverlapping(gradient, name, q, nameof(q));
        NotOverlapping(gradient, name, k, nameof(k));
        NotOverlapping(gradient, name, v, nameof(v));
        NotOverlapping(gradient, name, output, nameof(output));
        NotOverlapping(gradient, name, logSumExp, nameof(logSumExp));
        NotOverlapping(gradient, name, outputGradient, nameof(outputGradient));
    }
}
