namespace FixedShapeAttention.Models;

/// <summary>
/// The weights of one encoder layer as plain row-major float arrays. Matrices are stored <c>[in, out]</c>, the layout
/// of ONNX MatMul's second operand, so that a projection is <c>y = x·W + b</c>; with <c>H</c> = hidden size and
/// <c>F</c> = intermediate size the lengths are given on each property.
/// </summary>
public sealed class BertLayerWeights
{
    /// <summary>Query projection, <c>[H, H]</c>.</summary>
    public required float[] QueryWeight { get; init; }

    /// <summary>Query bias, <c>[H]</c>.</summary>
    public required float[] QueryBias { get; init; }

    /// <summary>Key projection, <c>[H, H]</c>.</summary>
    public required float[] KeyWeight { get; init; }

    /// <summary>Key bias, <c>[H]</c>.</summary>
    public required float[] KeyBias { get; init; }

    /// <summary>Value projection, <c>[H, H]</c>.</summary>
    public required float[] ValueWeight { get; init; }

    /// <summary>Value bias, <c>[H]</c>.</summary>
    public required float[] ValueBias { get; init; }

    /// <summary>Projection of the concatenated heads back to the hidden state, <c>[H, H]</c>.</summary>
    public required float[] AttentionOutputWeight { get; init; }

    /// <summary>Bias of the attention output projection, <c>[H]</c>.</summary>
    public required float[] AttentionOutputBias { get; init; }

    /// <summary>Scale of the LayerNorm after the attention residual, <c>[H]</c>.</summary>
    public required float[] AttentionLayerNormGamma { get; init; }

    /// <summary>Shift of the LayerNorm after the attention residual, <c>[H]</c>.</summary>
    public required float[] AttentionLayerNormBeta { get; init; }

    /// <summary>First feed-forward projection (before the GELU), <c>[H, F]</c>.</summary>
    public required float[] IntermediateWeight { get; init; }

    /// <summary>Bias of the first feed-forward projection, <c>[F]</c>.</summary>
    public required float[] IntermediateBias { get; init; }

    /// <summary>Second feed-forward projection (after the GELU), <c>[F, H]</c>.</summary>
    public required float[] OutputWeight { get; init; }

    /// <summary>Bias of the second feed-forward projection, <c>[H]</c>.</summary>
    public required float[] OutputBias { get; init; }

    /// <summary>Scale of the LayerNorm after the feed-forward residual, <c>[H]</c>.</summary>
    public required float[] OutputLayerNormGamma { get; init; }

    /// <summary>Shift of the LayerNorm after the feed-forward residual, <c>[H]</c>.</summary>
    public required float[] OutputLayerNormBeta { get; init; }
}
