namespace FixedShapeAttention.Encoder;

/// <summary>Where an encoder layer normalises, relative to its two residual connections.</summary>
public enum LayerNormPlacement
{
    /// <summary>BERT: <c>x1 = LN(x + Attention(x))</c>, <c>y = LN(x1 + FFN(x1))</c>.</summary>
    PostNorm,

    /// <summary>GPT-style: <c>x1 = x + Attention(LN(x))</c>, <c>y = x1 + FFN(LN(x1))</c>. A final LayerNorm after the
    /// stack, where a model has one, is the caller's (<see cref="LayerNormalization.Normalize(System.ReadOnlySpan{float}, System.ReadOnlySpan{float}, System.ReadOnlySpan{float}, float, System.Span{float})"/>).</summary>
    PreNorm,
}
