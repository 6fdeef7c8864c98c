using System;

namespace FixedShapeAttention.Encoder;

/// <summary>
/// One encoder layer's weights, packed once for the generated kernels: four <see cref="PackedProjectionWeights"/>,
/// a <see cref="PackedFeedForwardWeights"/> and the two LayerNorms. The layout depends on EmbeddingDim, FfnDim and
/// the process's vector width only, so the same instance serves every sequence-length bucket of a model.
/// Immutable and thread-safe.
/// </summary>
public sealed class EncoderLayerWeights
{
    private readonly float[] _attentionNormGamma, _attentionNormBeta, _feedForwardNormGamma, _feedForwardNormBeta;

    private EncoderLayerWeights(
        PackedProjectionWeights query, PackedProjectionWeights key, PackedProjectionWeights value, PackedProjectionWeights output,
        PackedFeedForwardWeights feedForward, EncoderLayerParameters parameters)
    {
        Query = query;
        Key = key;
        Value = value;
        Output = output;
        FeedForward = feedForward;
        _attentionNormGamma = (float[])parameters.AttentionNormGamma.Clone();
        _attentionNormBeta = (float[])parameters.AttentionNormBeta.Clone();
        _feedForwardNormGamma = (float[])parameters.FeedForwardNormGamma.Clone();
        _feedForwardNormBeta = (float[])parameters.FeedForwardNormBeta.Clone();
    }

    /// <summary>Model width the weights were packed for.</summary>
    public int EmbeddingDim => Query.EmbeddingDim;

    /// <summary>Hidden width of the feed-forward network.</summary>
    public int FfnDim => FeedForward.FfnDim;

    /// <summary>Query projection.</summary>
    public PackedProjectionWeights Query { get; }

    /// <summary>Key projection.</summary>
    public PackedProjectionWeights Key { get; }

    /// <summary>Value projection.</summary>
    public PackedProjectionWeights Value { get; }

    /// <summary>Attention output projection.</summary>
    public PackedProjectionWeights Output { get; }

    /// <summary>The feed-forward network.</summary>
    public PackedFeedForwardWeights FeedForward { get; }

    /// <summary>γ of the LayerNorm around attention.</summary>
    public ReadOnlySpan<float> AttentionNormGamma => _attentionNormGamma;

    /// <summary>β of the LayerNorm around attention.</summary>
    public ReadOnlySpan<float> AttentionNormBeta => _attentionNormBeta;

    /// <summary>γ of the LayerNorm around the feed-forward network.</summary>
    public ReadOnlySpan<float> FeedForwardNormGamma => _feedForwardNormGamma;

    /// <summary>β of the LayerNorm around the feed-forward network.</summary>
    public ReadOnlySpan<float> FeedForwardNormBeta => _feedForwardNormBeta;

    /// <summary>Packs one layer with <typeparamref name="TShape"/>'s generated packers.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="parameters"/> is null.</exception>
    /// <exception cref="ArgumentException">A tensor's length does not match the shape's EmbeddingDim and FfnDim; the message names it.</exception>
    public static EncoderLayerWeights Pack<TShape>(EncoderLayerParameters parameters)
        where TShape : ITransformerKernels
    {
        ArgumentNullException.ThrowIfNull(parameters);
        int e = TShape.EmbeddingDim;
        Norm(parameters.AttentionNormGamma, nameof(parameters.AttentionNormGamma), e);
        Norm(parameters.AttentionNormBeta, nameof(parameters.AttentionNormBeta), e);
        Norm(parameters.FeedForwardNormGamma, nameof(parameters.FeedForwardNormGamma), e);
        Norm(parameters.FeedForwardNormBeta, nameof(parameters.FeedForwardNormBeta), e);
        return new EncoderLayerWeights(
            Project<TShape>(parameters.QueryWeight, parameters.QueryBias, "Query"),
            Project<TShape>(parameters.KeyWeight, parameters.KeyBias, "Key"),
            Project<TShape>(parameters.ValueWeight, parameters.ValueBias, "Value"),
            Project<TShape>(parameters.OutputWeight, parameters.OutputBias, "Output"),
            FeedForwardOf<TShape>(parameters),
            parameters);
    }

    private static PackedProjectionWeights Project<TShape>(float[] weight, float[] bias, string name)
        where TShape : ITransformerKernels
    {
        try
        {
            return TShape.PackProjection(weight ?? throw new ArgumentNullException(name + "Weight"), bias ?? throw new ArgumentNullException(name + "Bias"));
        }
        catch (ArgumentException ex) when (ex is not ArgumentNullException)
        {
            throw new ArgumentException($"{name} projection: {ex.Message}", ex.ParamName is null ? name : name + "." + ex.ParamName, ex);
        }
    }

    private static PackedFeedForwardWeights FeedForwardOf<TShape>(EncoderLayerParameters p)
        where TShape : ITransformerKernels
    {
        try
        {
            return TShape.PackFeedForward(p.FeedForwardWeight1, p.FeedForwardBias1, p.FeedForwardWeight2, p.FeedForwardBias2);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"feed-forward network: {ex.Message}", ex.ParamName, ex);
        }
    }

    private static void Norm(float[] values, string name, int embeddingDim)
    {
        ArgumentNullException.ThrowIfNull(values, name);
        if (values.Length != embeddingDim)
        {
            throw new ArgumentException($"{name}: expected {embeddingDim} = EmbeddingDim, got {values.Length}.", name);
        }
    }
}
