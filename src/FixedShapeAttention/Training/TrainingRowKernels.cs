using System;
using FixedShapeAttention.Scheduling;

namespace FixedShapeAttention.Training;

/// <summary>
/// Which kernels a model's row passes run on in training (LayerNorm forward and backward, the embeddings' backward pass,
/// the cross-entropy): the runtime-shape ones, or those generated for a declared shape
/// (<see cref="TransformerLanguageModel.UseKernels{TKernels}"/>). Both run the same row functions
/// (<see cref="TrainingLayerNorm"/>, <see cref="EmbeddingGradients"/>, <see cref="SoftmaxCrossEntropy"/>), so a model's
/// gradients are the same bits on either.
/// </summary>
internal abstract class TrainingRowKernels
{
    /// <summary>x, y: [rows, Dim]; mean, rstd: [rows]. y may be x.</summary>
    public abstract void LayerNormForward(
        ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float epsilon, Span<float> y, Span<float> mean, Span<float> rstd, int dop);

    /// <summary>dx (+ residual when not empty) overwritten, dγ and dβ added to; dx may be dy or the residual.</summary>
    public abstract void LayerNormBackward(
        ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, ReadOnlySpan<float> dy,
        ReadOnlySpan<float> residual, Span<float> dx, Span<float> dGamma, Span<float> dBeta, int dop);

    /// <summary>Rows of dx added to the token rows and (unless empty) the position rows, in row order.</summary>
    public abstract void EmbeddingBackward(ReadOnlySpan<int> tokens, ReadOnlySpan<float> dx, Span<float> tokenGradient, Span<float> positionGradient, int dop);

    /// <summary>The loss, and the logits' gradient (which may overwrite the logits).</summary>
    public abstract double CrossEntropy(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int vocabulary, Span<float> logitGradients, int averageOver, int dop);
}

/// <summary>The runtime-shape row passes, chunked by the same <see cref="ChunkSizing"/> rules the generator plans with.</summary>
internal sealed class RuntimeRowKernels(LanguageModelConfig config) : TrainingRowKernels
{
    public override void LayerNormForward(
        ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float epsilon, Span<float> y, Span<float> mean, Span<float> rstd, int dop) =>
        TrainingLayerNorm.Forward(x, gamma, beta, epsilon, y, mean, rstd, config.SequenceLength, dop);

    public override void LayerNormBackward(
        ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, ReadOnlySpan<float> dy,
        ReadOnlySpan<float> residual, Span<float> dx, Span<float> dGamma, Span<float> dBeta, int dop) =>
        TrainingLayerNorm.Backward(x, gamma, mean, rstd, dy, residual, dx, dGamma, dBeta, config.SequenceLength, dop);

    public override void EmbeddingBackward(ReadOnlySpan<int> tokens, ReadOnlySpan<float> dx, Span<float> tokenGradient, Span<float> positionGradient, int dop) =>
        EmbeddingGradients.ScatterAdd(tokens, dx, tokenGradient, positionGradient, config.Dim, config.SequenceLength, ChunkSizing.RowPassColumnBlock(config.Dim), dop);

    public override double CrossEntropy(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int vocabulary, Span<float> logitGradients, int averageOver, int dop) =>
        SoftmaxCrossEntropy.Compute(logits, targets, vocabulary, logitGradients, averageOver);
}

/// <summary>The row passes generated for <typeparamref name="TKernels"/>'s declared shape.</summary>
internal sealed class GeneratedRowKernels<TKernels> : TrainingRowKernels
    where TKernels : ITrainingKernels
{
    public override void LayerNormForward(
        ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float epsilon, Span<float> y, Span<float> mean, Span<float> rstd, int dop) =>
        TKernels.LayerNormForTraining(x, gamma, beta, epsilon, y, mean, rstd, dop);

    public override void LayerNormBackward(
        ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, ReadOnlySpan<float> dy,
        ReadOnlySpan<float> residual, Span<float> dx, Span<float> dGamma, Span<float> dBeta, int dop) =>
        TKernels.LayerNormBackward(x, gamma, mean, rstd, dy, residual, dx, dGamma, dBeta, dop);

    public override void EmbeddingBackward(ReadOnlySpan<int> tokens, ReadOnlySpan<float> dx, Span<float> tokenGradient, Span<float> positionGradient, int dop) =>
        TKernels.EmbeddingBackward(tokens, dx, tokenGradient, positionGradient, dop);

    public override double CrossEntropy(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int vocabulary, Span<float> logitGradients, int averageOver, int dop) =>
        TKernels.CrossEntropyLoss(logits, targets, vocabulary, logitGradients, averageOver, dop);
}
