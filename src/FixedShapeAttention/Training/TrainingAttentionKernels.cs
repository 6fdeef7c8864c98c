using System;

namespace FixedShapeAttention.Training;

/// <summary>
/// Which kernels a model's attention runs on in training: the runtime-shape ones (<see cref="TrainingAttention"/>, any
/// configuration, grouped-query attention included) or those generated for a declared shape
/// (<see cref="TransformerLanguageModel.UseKernels{TKernels}"/>).
/// </summary>
internal abstract class TrainingAttentionKernels
{
    /// <summary>Q, O: [batch·T, Dim]; K, V: [batch·T, KeyValueDim]; lse: [batch, Heads, T].</summary>
    public abstract void Forward(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> o, Span<float> lse, int batch, int dop);

    /// <summary>dQ, dK, dV (overwritten) from dO, with Q, K, V, O and the log-sum-exps of the forward pass.</summary>
    public abstract void Backward(
        ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, ReadOnlySpan<float> o, ReadOnlySpan<float> lse, ReadOnlySpan<float> dO,
        Span<float> dQ, Span<float> dK, Span<float> dV, int batch, int dop);
}

/// <summary>The runtime-shape kernels.</summary>
internal sealed class RuntimeAttentionKernels(LanguageModelConfig config) : TrainingAttentionKernels
{
    public override void Forward(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> o, Span<float> lse, int batch, int dop) =>
        TrainingAttention.Forward(config, q, k, v, o, lse, batch, dop);

    public override void Backward(
        ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, ReadOnlySpan<float> o, ReadOnlySpan<float> lse, ReadOnlySpan<float> dO,
        Span<float> dQ, Span<float> dK, Span<float> dV, int batch, int dop) =>
        TrainingAttention.Backward(config, q, k, v, o, lse, dO, dQ, dK, dV, batch, dop);
}

/// <summary>The kernels generated for <typeparamref name="TKernels"/>'s declared shape (the batch is implied by the spans' lengths).</summary>
internal sealed class GeneratedAttentionKernels<TKernels> : TrainingAttentionKernels
    where TKernels : ITrainingKernels
{
    public override void Forward(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> o, Span<float> lse, int batch, int dop) =>
        TKernels.AttentionForTraining(q, k, v, o, lse, dop);

    public override void Backward(
        ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, ReadOnlySpan<float> o, ReadOnlySpan<float> lse, ReadOnlySpan<float> dO,
        Span<float> dQ, Span<float> dK, Span<float> dV, int batch, int dop) =>
        TKernels.AttentionBackward(q, k, v, o, lse, dO, dQ, dK, dV, dop);
}

/// <summary>A model's feed-forward network on the kernels generated for a declared shape (<see cref="TransformerLanguageModel.UseKernels{TKernels}"/>).</summary>
internal abstract class GeneratedFeedForward
{
    public abstract void Forward(ReadOnlySpan<float> x, TransformerLanguageModel.Layer p, Span<float> hidden, Span<float> activated, Span<float> y, int dop);

    public abstract void Backward(
        ReadOnlySpan<float> x, TransformerLanguageModel.Layer p, ReadOnlySpan<float> hidden, ReadOnlySpan<float> activated, ReadOnlySpan<float> dy,
        Span<float> dx, Span<float> hiddenGradient, int dop);
}

/// <inheritdoc cref="GeneratedFeedForward"/>
internal sealed class GeneratedFeedForward<TKernels> : GeneratedFeedForward
    where TKernels : ITrainingKernels
{
    public override void Forward(ReadOnlySpan<float> x, TransformerLanguageModel.Layer p, Span<float> hidden, Span<float> activated, Span<float> y, int dop) =>
        TKernels.FeedForwardForTraining(x, p.W1.Value, p.B1.Value, p.W2.Value, p.B2.Value, y, hidden, activated, dop);

    public override void Backward(
        ReadOnlySpan<float> x, TransformerLanguageModel.Layer p, ReadOnlySpan<float> hidden, ReadOnlySpan<float> activated, ReadOnlySpan<float> dy,
        Span<float> dx, Span<float> hiddenGradient, int dop) =>
        TKernels.FeedForwardBackward(x, p.W1.Value, p.W2.Value, hidden, activated, dy, dx, p.W1.Gradient, p.B1.Gradient, p.W2.Gradient, p.B2.Gradient, hiddenGradient, dop);
}

/// <summary>A model's square projections' backward passes on the kernels generated for a declared shape.</summary>
internal abstract class GeneratedProjections
{
    public abstract void Backward(ReadOnlySpan<float> x, TrainableTensor weight, TrainableTensor bias, ReadOnlySpan<float> dy, Span<float> dx, bool accumulate, int dop);
}

/// <inheritdoc cref="GeneratedProjections"/>
internal sealed class GeneratedProjections<TKernels> : GeneratedProjections
    where TKernels : ITrainingKernels
{
    public override void Backward(ReadOnlySpan<float> x, TrainableTensor weight, TrainableTensor bias, ReadOnlySpan<float> dy, Span<float> dx, bool accumulate, int dop) =>
        TKernels.ProjectionBackward(x, weight.Value, dy, dx, weight.Gradient, bias.Gradient, accumulate, dop);
}
