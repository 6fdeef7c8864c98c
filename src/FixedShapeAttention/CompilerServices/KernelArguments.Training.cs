using System;

namespace FixedShapeAttention.CompilerServices;

public static partial class KernelArguments
{
    /// <summary>Checks the spans of an attention forward pass for training and returns the batch size.</summary>
    /// <exception cref="ArgumentException">As <see cref="ValidateAttention(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int)"/>, or <paramref name="logSumExp"/> does not hold
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

    /// <summary>Checks the spans of a grouped-query attention forward pass for training and returns the batch size.</summary>
    /// <exception cref="ArgumentException">As the grouped <c>ValidateAttention</c>, or <paramref name="logSumExp"/> does not hold
    /// batch × <paramref name="heads"/> × <paramref name="sequenceLength"/> floats or overlaps another span.</exception>
    public static int ValidateAttentionForTraining(
        ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> output, Span<float> logSumExp,
        int sequenceLength, int embeddingDim, int heads, int keyValueDim)
    {
        int batch = ValidateAttention(q, k, v, output, sequenceLength, embeddingDim, keyValueDim);
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

    /// <summary>Checks the spans of a feed-forward forward pass for training and returns the batch size.</summary>
    /// <exception cref="ArgumentException">A length does not match the shape (x and y [batch, sequenceLength, embeddingDim]; hidden and
    /// activated [batch, sequenceLength, ffnDim]), or an output overlaps another span.</exception>
    public static int ValidateFeedForwardForTraining(
        ReadOnlySpan<float> x, ReadOnlySpan<float> w1, ReadOnlySpan<float> b1, ReadOnlySpan<float> w2, ReadOnlySpan<float> b2,
        Span<float> y, Span<float> hidden, Span<float> activated, int sequenceLength, int embeddingDim, int ffnDim)
    {
        int batch = ValidateFeedForward(x, w1, b1, w2, b2, y, sequenceLength, embeddingDim, ffnDim);
        long hiddenLength = (long)batch * sequenceLength * ffnDim;
        HiddenLength(hidden, nameof(hidden), hiddenLength);
        HiddenLength(activated, nameof(activated), hiddenLength);
        GradientApart(hidden, nameof(hidden), x, w1, b1, w2, b2, y);
        GradientApart(activated, nameof(activated), x, w1, b1, w2, b2, y);

        NotOverlapping(hidden, nameof(hidden), activated, nameof(activated));
        return batch;
    }

    /// <summary>Checks the spans of a feed-forward backward pass and returns the batch size.</summary>
    /// <exception cref="ArgumentException">A length does not match the shape, or a gradient overlaps another span.</exception>
    public static int ValidateFeedForwardBackward(
        ReadOnlySpan<float> x, ReadOnlySpan<float> w1, ReadOnlySpan<float> w2, ReadOnlySpan<float> hidden, ReadOnlySpan<float> activated,
        ReadOnlySpan<float> outputGradient, Span<float> inputGradient, Span<float> w1Gradient, Span<float> b1Gradient, Span<float> w2Gradient,
        Span<float> b2Gradient, Span<float> hiddenGradient, int sequenceLength, int embeddingDim, int ffnDim)
    {
        int batch = WholeSequences(x, nameof(x), sequenceLength, embeddingDim);
        Positive(ffnDim, nameof(ffnDim));
        ExactLength(w1, nameof(w1), embeddingDim, ffnDim, "EmbeddingDim×FfnDim");
        ExactLength(w2, nameof(w2), ffnDim, embeddingDim, "FfnDim×EmbeddingDim");
        ExactLength(w1Gradient, nameof(w1Gradient), embeddingDim, ffnDim, "EmbeddingDim×FfnDim");
        ExactLength(b1Gradient, nameof(b1Gradient), ffnDim, 1, "FfnDim");
        ExactLength(w2Gradient, nameof(w2Gradient), ffnDim, embeddingDim, "FfnDim×EmbeddingDim");
        ExactLength(b2Gradient, nameof(b2Gradient), embeddingDim, 1, "EmbeddingDim");
        SameLength(outputGradient, nameof(outputGradient), x.Length, nameof(x));
        SameLength(inputGradient, nameof(inputGradient), x.Length, nameof(x));
        long hiddenLength = (long)batch * sequenceLength * ffnDim;
        HiddenLength(hidden, nameof(hidden), hiddenLength);
        HiddenLength(activated, nameof(activated), hiddenLength);
        HiddenLength(hiddenGradient, nameof(hiddenGradient), hiddenLength);
        GradientApart(inputGradient, nameof(inputGradient), x, w1, w2, hidden, activated, outputGradient);
        GradientApart(w1Gradient, nameof(w1Gradient), x, w1, w2, hidden, activated, outputGradient);
        GradientApart(b1Gradient, nameof(b1Gradient), x, w1, w2, hidden, activated, outputGradient);
        GradientApart(w2Gradient, nameof(w2Gradient), x, w1, w2, hidden, activated, outputGradient);
        GradientApart(b2Gradient, nameof(b2Gradient), x, w1, w2, hidden, activated, outputGradient);
        GradientApart(hiddenGradient, nameof(hiddenGradient), x, w1, w2, hidden, activated, outputGradient);
        NotOverlapping(hiddenGradient, nameof(hiddenGradient), inputGradient, nameof(inputGradient));
        return batch;
    }

    /// <summary>Checks the spans of a projection's backward pass and returns the batch size.</summary>
    /// <exception cref="ArgumentException">A length does not match the shape (x and the input and output gradients [batch, sequenceLength,
    /// embeddingDim], W and its gradient embeddingDim², the bias gradient embeddingDim), or a gradient overlaps another span.</exception>
    public static int ValidateProjectionBackward(
        ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> outputGradient, Span<float> inputGradient, Span<float> weightGradient,
        Span<float> biasGradient, int sequenceLength, int embeddingDim)
    {
        int batch = WholeSequences(x, nameof(x), sequenceLength, embeddingDim);
        ExactLength(w, nameof(w), embeddingDim, embeddingDim, "EmbeddingDim×EmbeddingDim");
        ExactLength(weightGradient, nameof(weightGradient), embeddingDim, embeddingDim, "EmbeddingDim×EmbeddingDim");
        ExactLength(biasGradient, nameof(biasGradient), embeddingDim, 1, "EmbeddingDim");
        SameLength(outputGradient, nameof(outputGradient), x.Length, nameof(x));
        SameLength(inputGradient, nameof(inputGradient), x.Length, nameof(x));
        GradientApart(inputGradient, nameof(inputGradient), x, w, outputGradient, weightGradient, biasGradient, default);
        GradientApart(weightGradient, nameof(weightGradient), x, w, outputGradient, inputGradient, biasGradient, default);
        GradientApart(biasGradient, nameof(biasGradient), x, w, outputGradient, inputGradient, weightGradient, default);
        return batch;
    }

    private static void HiddenLength(ReadOnlySpan<float> span, string name, long expected)
    {
        if (span.Length != expected)
        {
            throw new ArgumentException($"{name}: expected {expected} floats (batch × SequenceLength × FfnDim), got {span.Length}.", name);
        }
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

    /// <summary>Checks that an output overlaps none of six other spans (the message names the output; its neighbours are rare to name).</summary>
    private static void GradientApart(
        ReadOnlySpan<float> output, string name, ReadOnlySpan<float> s0, ReadOnlySpan<float> s1, ReadOnlySpan<float> s2,
        ReadOnlySpan<float> s3, ReadOnlySpan<float> s4, ReadOnlySpan<float> s5)
    {
        if (output.Overlaps(s0) || output.Overlaps(s1) || output.Overlaps(s2) || output.Overlaps(s3) || output.Overlaps(s4) || output.Overlaps(s5))
        {
            throw new ArgumentException($"{name}: an output must not overlap the call's other spans.", name);
        }
    }
}
