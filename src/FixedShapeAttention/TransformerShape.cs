using System;

namespace FixedShapeAttention;

/// <summary>
/// A transformer layer shape known only at run time, the argument of <see cref="GenericKernels"/>. Generated
/// classes expose theirs as <see cref="ITransformerKernels.Shape"/>.
/// </summary>
public readonly record struct TransformerShape
{
    /// <summary>Creates a shape, checking it against the same rules the generator enforces on the attribute.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is not positive, is above its documented bound,
    /// the heads do not divide the embedding dimension, or the activation is not defined.</exception>
    public TransformerShape(int sequenceLength, int embeddingDim, int ffnDim, int heads = 1, bool causal = false, Activation activation = Activation.Relu)
    {
        CheckDimension(sequenceLength, ShapeRules.MaxSequenceLength, nameof(sequenceLength));
        CheckDimension(embeddingDim, ShapeRules.MaxEmbeddingDim, nameof(embeddingDim));
        CheckDimension(ffnDim, ShapeRules.MaxFfnDim, nameof(ffnDim));
        if (!ShapeRules.HeadsDivideEmbedding(embeddingDim, heads))
        {
            throw new ArgumentOutOfRangeException(nameof(heads), heads, $"heads must be positive and divide embeddingDim = {embeddingDim}.");
        }

        if (!ShapeRules.IsKnownActivation((int)activation))
        {
            throw new ArgumentOutOfRangeException(nameof(activation), activation, "Not a defined Activation value.");
        }

        SequenceLength = sequenceLength;
        EmbeddingDim = embeddingDim;
        FfnDim = ffnDim;
        Heads = heads;
        Causal = causal;
        Activation = activation;
    }

    /// <summary>Tokens per sequence.</summary>
    public int SequenceLength { get; }

    /// <summary>Model width.</summary>
    public int EmbeddingDim { get; }

    /// <summary>Hidden width of the feed-forward network.</summary>
    public int FfnDim { get; }

    /// <summary>Attention heads.</summary>
    public int Heads { get; }

    /// <summary>Whether query <c>i</c> sees keys <c>j ≤ i</c> only.</summary>
    public bool Causal { get; }

    /// <summary>The feed-forward activation.</summary>
    public Activation Activation { get; }

    /// <summary>Columns per head, <c>EmbeddingDim / Heads</c>; 0 for the default shape, which has no heads.</summary>
    public int HeadDim => Heads == 0 ? 0 : EmbeddingDim / Heads;

    /// <summary>Floats in one sequence of Q, K, V, X or the outputs: <c>SequenceLength·EmbeddingDim</c>.</summary>
    public int SequenceElements => SequenceLength * EmbeddingDim;

    /// <inheritdoc/>
    public override string ToString() =>
        $"(seq {SequenceLength}, dim {EmbeddingDim}, ffn {FfnDim}, heads {Heads}{(Causal ? ", causal" : "")}, {Activation})";

    private static void CheckDimension(int value, int max, string name)
    {
        if (!ShapeRules.IsPositive(value) || !ShapeRules.IsWithin(value, max))
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be in [1, {max}].");
        }
    }
}
