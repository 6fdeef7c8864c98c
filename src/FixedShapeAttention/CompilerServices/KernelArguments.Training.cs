using System;
using System.Runtime.InteropServices;

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
        LogSumExpApart(logSumExp, batch, sequenceLength, heads, q, k, v, output);
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
        LogSumExpApart(logSumExp, batch, sequenceLength, heads, q, k, v, output);
        return batch;
    }

    /// <summary>The training forward pass's log-sum-exps: batch × heads × sequenceLength floats, apart from every other span.</summary>
    private static void LogSumExpApart(
        Span<float> logSumExp, int batch, int sequenceLength, int heads, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        ReadOnlySpan<float> output)
    {
        ValidateLogSumExp(logSumExp, nameof(logSumExp), batch, sequenceLength, heads);
        NotOverlapping(logSumExp, nameof(logSumExp), q, nameof(q));
        NotOverlapping(logSumExp, nameof(logSumExp), k, nameof(k));
        NotOverlapping(logSumExp, nameof(logSumExp), v, nameof(v));
        NotOverlapping(logSumExp, nameof(logSumExp), output, nameof(output));
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

    /// <summary>Checks the spans of a LayerNorm forward pass for training and returns the batch size.</summary>
    /// <exception cref="ArgumentException">A length does not match the shape (x and y [batch, sequenceLength, embeddingDim], γ and β
    /// embeddingDim, the means and reciprocal deviations batch × sequenceLength), y partly overlaps x (it may be x itself), an
    /// output overlaps another span, or <paramref name="epsilon"/> is negative or not finite.</exception>
    public static int ValidateLayerNormForTraining(
        ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float epsilon, Span<float> y, Span<float> mean,
        Span<float> inverseDeviation, int sequenceLength, int embeddingDim)
    {
        int batch = WholeSequences(x, nameof(x), sequenceLength, embeddingDim);
        ExactLength(gamma, nameof(gamma), embeddingDim, 1, "EmbeddingDim");
        ExactLength(beta, nameof(beta), embeddingDim, 1, "EmbeddingDim");
        SameLength(y, nameof(y), x.Length, nameof(x));
        RowStatistics(mean, nameof(mean), batch, sequenceLength);
        RowStatistics(inverseDeviation, nameof(inverseDeviation), batch, sequenceLength);
        if (!(epsilon >= 0) || float.IsPositiveInfinity(epsilon))
        {
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, $"epsilon: expected a finite value ≥ 0, got {epsilon}.");
        }

        SameOrApart(y, nameof(y), x, nameof(x));
        GradientApart(y, nameof(y), gamma, beta, mean, inverseDeviation, default, default);
        GradientApart(mean, nameof(mean), x, gamma, beta, y, inverseDeviation, default);
        GradientApart(inverseDeviation, nameof(inverseDeviation), x, gamma, beta, y, mean, default);
        return batch;
    }

    /// <summary>Checks the spans of a LayerNorm backward pass and returns the batch size.</summary>
    /// <exception cref="ArgumentException">A length does not match the shape (x, dy and dx [batch, sequenceLength, embeddingDim], the
    /// residual gradient empty or as long as x, γ and its gradients embeddingDim, the means and reciprocal deviations batch ×
    /// sequenceLength), dx partly overlaps dy or the residual gradient (it may be either itself), or a gradient overlaps another span.</exception>
    public static int ValidateLayerNormBackward(
        ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> mean, ReadOnlySpan<float> inverseDeviation, ReadOnlySpan<float> outputGradient,
        ReadOnlySpan<float> residualGradient, Span<float> inputGradient, Span<float> gammaGradient, Span<float> betaGradient, int sequenceLength, int embeddingDim)
    {
        int batch = WholeSequences(x, nameof(x), sequenceLength, embeddingDim);
        ExactLength(gamma, nameof(gamma), embeddingDim, 1, "EmbeddingDim");
        RowStatistics(mean, nameof(mean), batch, sequenceLength);
        RowStatistics(inverseDeviation, nameof(inverseDeviation), batch, sequenceLength);
        SameLength(outputGradient, nameof(outputGradient), x.Length, nameof(x));
        if (!residualGradient.IsEmpty)
        {
            SameLength(residualGradient, nameof(residualGradient), x.Length, nameof(x));
        }

        SameLength(inputGradient, nameof(inputGradient), x.Length, nameof(x));
        ExactLength(gammaGradient, nameof(gammaGradient), embeddingDim, 1, "EmbeddingDim");
        ExactLength(betaGradient, nameof(betaGradient), embeddingDim, 1, "EmbeddingDim");
        SameOrApart(inputGradient, nameof(inputGradient), outputGradient, nameof(outputGradient));
        SameOrApart(inputGradient, nameof(inputGradient), residualGradient, nameof(residualGradient));
        GradientApart(inputGradient, nameof(inputGradient), x, gamma, mean, inverseDeviation, gammaGradient, betaGradient);
        GradientApart(gammaGradient, nameof(gammaGradient), x, gamma, mean, inverseDeviation, outputGradient, residualGradient);
        GradientApart(betaGradient, nameof(betaGradient), x, gamma, mean, inverseDeviation, outputGradient, residualGradient);
        NotOverlapping(gammaGradient, nameof(gammaGradient), betaGradient, nameof(betaGradient));
        return batch;
    }

    /// <summary>Checks the spans and token ids of an embedding backward pass and returns the vocabulary size (the token
    /// gradient's rows).</summary>
    /// <exception cref="ArgumentException">A length does not match the shape (tokens whole sequences of sequenceLength, dx one row of
    /// embeddingDim per token, the token gradient a positive number of rows of embeddingDim, the position gradient empty or
    /// sequenceLength × embeddingDim), a gradient overlaps another span, or a token id is outside the vocabulary.</exception>
    public static int ValidateEmbeddingBackward(
        ReadOnlySpan<int> tokens, ReadOnlySpan<float> outputGradient, Span<float> tokenGradient, Span<float> positionGradient, int sequenceLength, int embeddingDim)
    {
        Positive(sequenceLength, nameof(sequenceLength));
        Positive(embeddingDim, nameof(embeddingDim));
        if (tokens.IsEmpty || tokens.Length % sequenceLength != 0)
        {
            throw new ArgumentException($"tokens: expected a positive multiple of {sequenceLength} (SequenceLength), got {tokens.Length}.", nameof(tokens));
        }

        ExactLength(outputGradient, nameof(outputGradient), tokens.Length, embeddingDim, "tokens × EmbeddingDim");
        if (tokenGradient.IsEmpty || tokenGradient.Length % embeddingDim != 0)
        {
            throw new ArgumentException(
                $"tokenGradient: expected a positive multiple of {embeddingDim} (vocabulary × EmbeddingDim), got {tokenGradient.Length}.", nameof(tokenGradient));
        }

        if (!positionGradient.IsEmpty)
        {
            ExactLength(positionGradient, nameof(positionGradient), sequenceLength, embeddingDim, "SequenceLength×EmbeddingDim");
        }

        NotOverlapping(tokenGradient, nameof(tokenGradient), outputGradient, nameof(outputGradient));
        NotOverlapping(positionGradient, nameof(positionGradient), outputGradient, nameof(outputGradient));
        NotOverlapping(positionGradient, nameof(positionGradient), tokenGradient, nameof(tokenGradient));
        // The ids are read again while the gradients are written: they must not live in memory the call writes.
        if (MemoryMarshal.AsBytes(tokens).Overlaps(MemoryMarshal.AsBytes((ReadOnlySpan<float>)tokenGradient))
            || MemoryMarshal.AsBytes(tokens).Overlaps(MemoryMarshal.AsBytes((ReadOnlySpan<float>)positionGradient)))
        {
            throw new ArgumentException("tokens: expected memory apart from tokenGradient and positionGradient, which the call writes.", nameof(tokens));
        }

        int vocabulary = tokenGradient.Length / embeddingDim;
        for (int i = 0; i < tokens.Length; i++)
        {
            if ((uint)tokens[i] >= (uint)vocabulary)
            {
                throw new ArgumentException($"tokens[{i}]: expected a token in [0, {vocabulary}) (tokenGradient's rows), got {tokens[i]}.", nameof(tokens));
            }
        }

        return vocabulary;
    }

    /// <summary>Checks the arguments of a fused softmax cross-entropy over whole sequences and returns the count the loss is
    /// averaged over.</summary>
    /// <exception cref="ArgumentException">The targets are not whole sequences, a length does not match (logits and their gradient
    /// targets × vocabularySize), the gradient partly overlaps the logits (it may be the logits themselves), a target is outside
    /// the vocabulary and not <c>SoftmaxCrossEntropy.IgnoreIndex</c>, or <paramref name="averageOver"/> is negative or below
    /// the scored targets.</exception>
    public static int ValidateCrossEntropy(
        ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int vocabularySize, Span<float> logitGradients, int averageOver, int sequenceLength)
    {
        Positive(sequenceLength, nameof(sequenceLength));
        if (targets.IsEmpty || targets.Length % sequenceLength != 0)
        {
            throw new ArgumentException($"targets: expected a positive multiple of {sequenceLength} (SequenceLength), got {targets.Length}.", nameof(targets));
        }

        return Training.SoftmaxCrossEntropy.Validate(logits, targets, vocabularySize, logitGradients, averageOver);
    }

    private static void RowStatistics(ReadOnlySpan<float> span, string name, int batch, int sequenceLength)
    {
        if (span.Length != (long)batch * sequenceLength)
        {
            throw new ArgumentException(
                $"{name}: expected {(long)batch * sequenceLength} floats (batch {batch} × SequenceLength {sequenceLength}), got {span.Length}.", name);
        }
    }

    /// <summary>An output that may be an input itself (it is read row by row before it is written) but not partly overlap it.</summary>
    private static void SameOrApart(ReadOnlySpan<float> output, string outputName, ReadOnlySpan<float> input, string inputName)
    {
        if (output.Overlaps(input, out int offset) && (offset != 0 || output.Length != input.Length))
        {
            throw new ArgumentException($"{outputName}: partly overlaps {inputName}; pass the same memory or separate buffers.", outputName);
        }
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
