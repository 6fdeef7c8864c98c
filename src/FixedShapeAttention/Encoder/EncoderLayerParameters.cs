namespace FixedShapeAttention.Encoder;

/// <summary>
/// The raw weights of one encoder layer, as a model file stores them: matrices row-major <c>[in, out]</c> (so
/// <c>y = x·W + b</c>, ONNX MatMul's layout; transpose PyTorch's <c>nn.Linear.weight</c>). Pack them with
/// <see cref="EncoderLayerWeights.Pack{TShape}"/>.
/// </summary>
public sealed class EncoderLayerParameters
{
    /// <summary>Query projection, [EmbeddingDim, EmbeddingDim].</summary>
    public required float[] QueryWeight { get; init; }

    /// <summary>Query bias, [EmbeddingDim].</summary>
    public required float[] QueryBias { get; init; }

    /// <summary>Key projection, [EmbeddingDim, EmbeddingDim].</summary>
    public required float[] KeyWeight { get; init; }

    /// <summary>Key bias, [EmbeddingDim].</summary>
    public required float[] KeyBias { get; init; }

    /// <summary>Value projection, [EmbeddingDim, EmbeddingDim].</summary>
    public required float[] ValueWeight { get; init; }

    /// <summary>Value bias, [EmbeddingDim].</summary>
    public required float[] ValueBias { get; init; }

    /// <summary>Attention output projection, [EmbeddingDim, EmbeddingDim].</summary>
    public required float[] OutputWeight { get; init; }

    /// <summary>Attention output bias, [EmbeddingDim].</summary>
    public required float[] OutputBias { get; init; }

    /// <summary>γ of the LayerNorm around attention, [EmbeddingDim].</summary>
    public required float[] AttentionNormGamma { get; init; }

    /// <summary>β of the LayerNorm around attention, [EmbeddingDim].</summary>
    public required float[] AttentionNormBeta { get; init; }

    /// <summary>First feed-forward matrix, [EmbeddingDim, FfnDim].</summary>
    public required float[] FeedForwardWeight1 { get; init; }

    /// <summary>First feed-forward bias, [FfnDim].</summary>
    public required float[] FeedForwardBias1 { get; init; }

    /// <summary>Second feed-forward matrix, [FfnDim, EmbeddingDim].</summary>
    public required float[] FeedForwardWeight2 { get; init; }

    /// <summary>Second feed-forward bias, [EmbeddingDim].</summary>
    public required float[] FeedForwardBias2 { get; init; }

    /// <summary>γ of the LayerNorm around the feed-forward network, [EmbeddingDim].</summary>
    public required float[] FeedForwardNormGamma { get; init; }

    /// <summary>β of the LayerNorm around the feed-forward network, [EmbeddingDim].</summary>
    public required float[] FeedForwardNormBeta { get; init; }
}
