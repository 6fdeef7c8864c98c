using System;

namespace FixedShapeAttention;

/// <summary>
/// The training kernels the source generator emits for a declared shape, next to the inference kernels of
/// <see cref="ITransformerKernels"/>: an attention forward pass that keeps each score row's log-sum-exp, and the
/// flash-style backward pass that recomputes the probabilities from it. Every <c>[TransformerShape]</c> class implements it.
/// </summary>
/// <remarks>
/// Spans are row-major <c>[batch, SequenceLength, EmbeddingDim]</c>, head h in columns <c>[h·HeadDim, (h+1)·HeadDim)</c>; the
/// log-sum-exps are <c>[batch, Heads, SequenceLength]</c>. Results are bit-identical for every degree of parallelism.
/// </remarks>
public interface ITrainingKernels : ITransformerKernels
{
    /// <summary>Attention as <see cref="ITransformerKernels.Attention(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int)"/>,
    /// and each score row's log Σ_j e^(S_ij/√d) into <paramref name="logSumExp"/>, which <c>AttentionBackward</c> reads.</summary>
    static abstract void AttentionForTraining(
        ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> output, Span<float> logSumExp, int maxDegreeOfParallelism);

    /// <summary>As the other overload, with a key-padding mask: sequence i attends to its first <c>keyCounts[i]</c> keys.</summary>
    static abstract void AttentionForTraining(
        ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, ReadOnlySpan<int> keyCounts, Span<float> output, Span<float> logSumExp,
        int maxDegreeOfParallelism);

    /// <summary>The gradients of Q, K and V from the gradient of the output, with the inputs, output and log-sum-exps of the forward pass.</summary>
    static abstract void AttentionBackward(
        ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, ReadOnlySpan<float> output, ReadOnlySpan<float> logSumExp,
        ReadOnlySpan<float> outputGradient, Span<float> queryGradient, Span<float> keyGradient, Span<float> valueGradient, int maxDegreeOfParallelism);

    /// <summary>The feed-forward network as <see cref="ITransformerKernels.FeedForward(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int)"/>,
    /// keeping <paramref name="hidden"/> = x·W1 + b1 and <paramref name="activated"/> = act(hidden), <c>[batch, SequenceLength, FfnDim]</c>, for the backward pass.</summary>
    static abstract void FeedForwardForTraining(
        ReadOnlySpan<float> x, ReadOnlySpan<float> w1, ReadOnlySpan<float> b1, ReadOnlySpan<float> w2, ReadOnlySpan<float> b2, Span<float> y,
        Span<float> hidden, Span<float> activated, int maxDegreeOfParallelism);

    /// <summary>The feed-forward network's backward pass: dx into <paramref name="inputGradient"/> (overwritten), and the weight and bias gradients
    /// added to theirs in batch order (each weight gradient element one multiply-add chain over the rows, each bias gradient summed sequence by
    /// sequence); <paramref name="hiddenGradient"/> is scratch of the hidden's size.</summary>
    static abstract void FeedForwardBackward(
        ReadOnlySpan<float> x, ReadOnlySpan<float> w1, ReadOnlySpan<float> w2, ReadOnlySpan<float> hidden, ReadOnlySpan<float> activated,
        ReadOnlySpan<float> outputGradient, Span<float> inputGradient, Span<float> w1Gradient, Span<float> b1Gradient, Span<float> w2Gradient,
        Span<float> b2Gradient, Span<float> hiddenGradient, int maxDegreeOfParallelism);

    /// <summary>The backward pass of a projection <c>y = x·W + b</c> (W EmbeddingDim × EmbeddingDim): dW and db added to in batch order (dW one
    /// FMA chain over the rows, db summed sequence by sequence); dx = dy·Wᵀ into <paramref name="inputGradient"/>, or added to it with <paramref name="accumulateInputGradient"/>.</summary>
    static abstract void ProjectionBackward(
        ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> outputGradient, Span<float> inputGradient, Span<float> weightGradient,
        Span<float> biasGradient, bool accumulateInputGradient, int maxDegreeOfParallelism);

    /// <summary>LayerNorm over the shape's EmbeddingDim for training: <c>y = (x − μ)·σ⁻¹·γ + β</c> per row, keeping each row's μ in
    /// <paramref name="mean"/> and σ⁻¹ = 1/√(var + <paramref name="epsilon"/>) in <paramref name="inverseDeviation"/>
    /// (<c>[batch, SequenceLength]</c>), which <c>LayerNormBackward</c> reads. <paramref name="y"/> may be <paramref name="x"/> itself.</summary>
    static abstract void LayerNormForTraining(
        ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float epsilon, Span<float> y, Span<float> mean,
        Span<float> inverseDeviation, int maxDegreeOfParallelism);

    /// <summary>LayerNorm's backward pass: dx into <paramref name="inputGradient"/> (overwritten; plus <paramref name="residualGradient"/>,
    /// unless it is empty, for a residual branch), and dγ, dβ added to theirs, each column summed per sequence and the sums added in
    /// sequence order. <paramref name="inputGradient"/> may be <paramref name="outputGradient"/> or <paramref name="residualGradient"/> itself.</summary>
    static abstract void LayerNormBackward(
        ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> mean, ReadOnlySpan<float> inverseDeviation, ReadOnlySpan<float> outputGradient,
        ReadOnlySpan<float> residualGradient, Span<float> inputGradient, Span<float> gammaGradient, Span<float> betaGradient, int maxDegreeOfParallelism);

    /// <summary>The embeddings' backward pass: row r of <paramref name="outputGradient"/> added to row <c>tokens[r]</c> of
    /// <paramref name="tokenGradient"/> (<c>[vocabulary, EmbeddingDim]</c>) and, unless it is empty, to row <c>r mod SequenceLength</c>
    /// of <paramref name="positionGradient"/>, in row order for every element; token ids are checked before any write.</summary>
    static abstract void EmbeddingBackward(
        ReadOnlySpan<int> tokens, ReadOnlySpan<float> outputGradient, Span<float> tokenGradient, Span<float> positionGradient, int maxDegreeOfParallelism);

    /// <summary>The fused, stable softmax cross-entropy of a language-model head over whole sequences (see
    /// <see cref="Training.SoftmaxCrossEntropy"/>): writes the logits' gradient (it may overwrite the logits) and returns the loss sum
    /// over the scored targets divided by <paramref name="averageOver"/> (0: by the scored targets). A target of
    /// <see cref="Training.SoftmaxCrossEntropy.IgnoreIndex"/> is not scored.</summary>
    static abstract double CrossEntropyLoss(
        ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int vocabularySize, Span<float> logitGradients, int averageOver, int maxDegreeOfParallelism);

    /// <summary>As the other overload, with the key-padding mask the forward pass used.</summary>
    static abstract void AttentionBackward(
        ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, ReadOnlySpan<int> keyCounts, ReadOnlySpan<float> output,
        ReadOnlySpan<float> logSumExp, ReadOnlySpan<float> outputGradient, Span<float> queryGradient, Span<float> keyGradient, Span<float> valueGradient,
        int maxDegreeOfParallelism);
}
