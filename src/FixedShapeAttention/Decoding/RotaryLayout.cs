namespace FixedShapeAttention.Decoding;

/// <summary>Which elements of a head RoPE rotates together.</summary>
public enum RotaryLayout
{
    /// <summary>Element i with element i + HeadDim/2 (GPT-NeoX, Hugging Face's Llama: <c>rotate_half</c>).</summary>
    Half,

    /// <summary>Element 2i with element 2i + 1 (GPT-J, Meta's original Llama, llama.cpp's default mode).</summary>
    Interleaved,
}
