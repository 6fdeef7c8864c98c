namespace FixedShapeAttention;

/// <summary>The element-wise non-linearity between the two linear layers of the feed-forward network.</summary>
public enum Activation
{
    /// <summary><c>max(x, 0)</c>.</summary>
    Relu = 0,

    /// <summary>Exact GELU, <c>x·Φ(x) = x/2·erfc(−x/√2)</c>, as BERT uses it.</summary>
    Gelu = 1,

    /// <summary>The tanh approximation of GELU, <c>x/2·(1 + tanh(√(2/π)·(x + 0.044715·x³)))</c>, as GPT-2 uses it.</summary>
    GeluTanh = 2,

    /// <summary>SiLU (swish), <c>x·sigmoid(x)</c>.</summary>
    Silu = 3,
}
