using System;

namespace FixedShapeAttention;

/// <summary>
/// Declares the fixed shape of a transformer layer on a <c>partial</c> class. The FixedShapeAttention source
/// generator then emits <c>Attention</c> and <c>FeedForward</c> kernels whose loop bounds, unrolling and
/// register blocking are specialised for exactly this shape, and makes the class implement
/// <see cref="ITransformerKernels"/>.
/// </summary>
/// <example>
/// <code>
/// [TransformerShape(128, 384, 1536, Heads = 12)]
/// public partial class MiniLm { }
///
/// MiniLm.Attention(q, k, v, output);
/// MiniLm.FeedForward(x, w1, b1, w2, b2, y);
/// </code>
/// </example>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class TransformerShapeAttribute : Attribute
{
    /// <param name="sequenceLength">Tokens per sequence (rows of Q, K, V and of the FFN input).</param>
    /// <param name="embeddingDim">Model width (columns of Q, K, V; FFN input and output width).</param>
    /// <param name="ffnDim">Hidden width of the feed-forward network.</param>
    public TransformerShapeAttribute(int sequenceLength, int embeddingDim, int ffnDim)
    {
        SequenceLength = sequenceLength;
        EmbeddingDim = embeddingDim;
        FfnDim = ffnDim;
    }

    /// <summary>Tokens per sequence.</summary>
    public int SequenceLength { get; }

    /// <summary>Model width; must be a multiple of <see cref="Heads"/>.</summary>
    public int EmbeddingDim { get; }

    /// <summary>Hidden width of the feed-forward network.</summary>
    public int FfnDim { get; }

    /// <summary>Attention heads; head <c>h</c> uses columns <c>[h·HeadDim, (h+1)·HeadDim)</c>. Default 1.</summary>
    public int Heads { get; set; } = 1;

    /// <summary>
    /// Key/value heads for grouped-query attention: K and V have <c>KeyValueHeads·HeadDim</c> columns and query head <c>h</c>
    /// reads key/value head <c>h / (Heads / KeyValueHeads)</c>. Must divide <see cref="Heads"/>. Default: <see cref="Heads"/>
    /// (one key/value head per query head).
    /// </summary>
    public int KeyValueHeads
    {
        get => _keyValueHeads ?? Heads;
        set => _keyValueHeads = value;
    }

    private int? _keyValueHeads;

    /// <summary>When true, query <c>i</c> attends to keys <c>j ≤ i</c> only. Default false.</summary>
    public bool Causal { get; set; }

    /// <summary>The feed-forward activation. Default <see cref="FixedShapeAttention.Activation.Relu"/>.</summary>
    public Activation Activation { get; set; } = Activation.Relu;
}
