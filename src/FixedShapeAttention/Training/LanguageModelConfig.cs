using System;

namespace FixedShapeAttention.Training;

/// <summary>The dimensions and options of a <see cref="TransformerLanguageModel"/>.</summary>
public sealed record LanguageModelConfig
{
    /// <summary>Token ids are in [0, Vocabulary).</summary>
    public required int Vocabulary { get; init; }

    /// <summary>Tokens per sequence, the context the position embeddings cover.</summary>
    public required int SequenceLength { get; init; }

    /// <summary>The embedding (model) dimension.</summary>
    public required int Dim { get; init; }

    /// <summary>Attention heads; Dim must be a multiple.</summary>
    public required int Heads { get; init; }

    /// <summary>The feed-forward network's hidden width.</summary>
    public required int Ffn { get; init; }

    /// <summary>Transformer layers.</summary>
    public required int Layers { get; init; }

    /// <summary>Query i attends keys j ≤ i only (GPT); otherwise every key (BERT). Default true.</summary>
    public bool Causal { get; init; } = true;

    /// <summary>Pre-norm layers (GPT-2: <c>x += Attn(LN₁(x)); x += FFN(LN₂(x))</c>, then a final LayerNorm) or
    /// post-norm (BERT: <c>x = LN₁(x + Attn(x)); x = LN₂(x + FFN(x))</c>). Default true.</summary>
    public bool PreNorm { get; init; } = true;

    /// <summary>The output head is the token embedding transposed (GPT-2) rather than its own matrix. Default true.</summary>
    public bool TiedEmbeddings { get; init; } = true;

    /// <summary>The feed-forward network's activation. Default <see cref="Activation.GeluTanh"/> (GPT-2).</summary>
    public Activation Activation { get; init; } = Activation.GeluTanh;

    /// <summary>Key/value heads for grouped-query attention: each serves Heads / KeyValueHeads query heads, which shrinks
    /// K, V, their projections and a decoder's cache by that factor. 0 (the default) means as many as Heads.</summary>
    public int KeyValueHeads { get; init; }

    /// <summary>Rotary position embeddings (RoPE, half layout) on Q and K instead of learned position embeddings.
    /// Default false.</summary>
    public bool RotaryPositions { get; init; }

    /// <summary>RoPE's base when <see cref="RotaryPositions"/> is on. Default 10,000.</summary>
    public double RotaryTheta { get; init; } = 10_000.0;

    /// <summary>LayerNorm's ε. Default 1e-5.</summary>
    public float LayerNormEpsilon { get; init; } = 1e-5f;

    /// <summary>Elements per head; 0 while Heads is not positive (such a configuration is refused when a model is made).</summary>
    public int HeadDim => Heads > 0 ? Dim / Heads : 0;

    /// <summary>The key/value heads in effect: <see cref="KeyValueHeads"/>, or Heads when it is 0.</summary>
    public int KeyValueHeadCount => KeyValueHeads == 0 ? Heads : KeyValueHeads;

    /// <summary>The width of K and V: KeyValueHeadCount · HeadDim.</summary>
    public int KeyValueDim => KeyValueHeadCount * HeadDim;

    internal void Validate()
    {
        Positive(Vocabulary, nameof(Vocabulary));
        Positive(SequenceLength, nameof(SequenceLength));
        Positive(Dim, nameof(Dim));
        Positive(Heads, nameof(Heads));
        Positive(Ffn, nameof(Ffn));
        Positive(Layers, nameof(Layers));
        if (Dim % Heads != 0)
            throw new ArgumentException($"Dim ({Dim}) must be a multiple of Heads ({Heads}).", nameof(Heads));
        if (KeyValueHeads < 0 || (KeyValueHeads > 0 && Heads % KeyValueHeads != 0))
            throw new ArgumentException($"KeyValueHeads ({KeyValueHeads}) must be 0 or divide Heads ({Heads}).", nameof(KeyValueHeads));
        if (RotaryPositions && (HeadDim % 2 != 0 || !(RotaryTheta > 1.0) || double.IsInfinity(RotaryTheta)))
            throw new ArgumentException($"RotaryPositions needs an even HeadDim (got {HeadDim}) and a finite RotaryTheta above 1 (got {RotaryTheta}).", nameof(RotaryPositions));
        if (Activation is not (Activation.Relu or Activation.Gelu or Activation.GeluTanh or Activation.Silu))
            throw new ArgumentOutOfRangeException(nameof(Activation), Activation, "Unknown activation.");
        if (!(LayerNormEpsilon > 0f) || float.IsInfinity(LayerNormEpsilon))
            throw new ArgumentOutOfRangeException(nameof(LayerNormEpsilon), LayerNormEpsilon, "LayerNormEpsilon must be positive and finite.");
        // Every activation buffer of one sequence must fit an array: the largest is the FFN's hidden rows or the logits.
        long largest = Math.Max(Math.Max((long)SequenceLength * Ffn, (long)SequenceLength * Vocabulary), (long)Vocabulary * Dim);
        if (largest > Array.MaxLength / 64)
            throw new ArgumentOutOfRangeException(nameof(SequenceLength), $"a sequence's activations ({largest} floats) are too large for this library's buffers.");
    }

    private static void Positive(int value, string name)
    {
        if (value <= 0)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive.");
    }
}
