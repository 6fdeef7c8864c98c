namespace FixedShapeAttention.Models.Tests;

/// <summary>The choices of how <see cref="TinyBertModel"/> writes the graph; the defaults mirror all-MiniLM-L6-v2's export.</summary>
public sealed record TinyBertOptions
{
    public int Layers { get; init; } = 1;

    /// <summary>Stores floats in float_data instead of raw_data.</summary>
    public bool FloatData { get; init; }

    /// <summary>Writes each LayerNorm as one LayerNormalization node instead of the opset-13 decomposition.</summary>
    public bool FusedLayerNorm { get; init; }

    /// <summary>Prefix of every parameter name, e.g. "bert." for a BertModel wrapped in another module.</summary>
    public string Prefix { get; init; } = "";

    /// <summary>Gives Reshape a constant [0, 0, heads, headDim] instead of a Concat of dynamic sizes and constants.</summary>
    public bool ConstantReshapeShape { get; init; }

    public GeluForm Gelu { get; init; } = GeluForm.ErfDivided;

    /// <summary>The ε of every LayerNorm; <see cref="OutputLayerNormEpsilon"/> overrides the last one of each layer.</summary>
    public float Epsilon { get; init; } = 1e-12f;

    public float? OutputLayerNormEpsilon { get; init; }

    /// <summary>The [heads, headDim] written into the Reshape shapes; null for the true (2, 4).</summary>
    public (long Heads, long HeadDim)? ReshapeHeads { get; init; }

    /// <summary>Leaves out the Add of the query bias: the query MatMul feeds the Reshape directly.</summary>
    public bool OmitQueryBiasAdd { get; init; }
}
