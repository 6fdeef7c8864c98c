using System;

namespace FixedShapeAttention.Models;

/// <summary>
/// Declares the dimensions of a BERT-family sentence encoder on a <c>partial</c> class. The FixedShapeAttention
/// source generator then emits, for every sequence-length bucket, an encoder layer whose kernels are specialised
/// for exactly this shape, and makes the class implement <see cref="ISentenceEncoderShape"/>, so that
/// <see cref="SentenceEncoder.Load{TShape}(string, string, SentenceEncoderOptions?)"/> can run a model file of
/// these dimensions on them.
/// </summary>
/// <remarks>
/// The layer count, vocabulary and LayerNorm ε are read from the model file; only the widths that the kernels are
/// compiled for are declared. A model file whose widths differ is refused with an <see cref="System.IO.InvalidDataException"/>
/// naming both.
/// </remarks>
/// <example>
/// <code>
/// // bge-base-en-v1.5, e5-base-v2, bert-base-uncased: hidden 768, 12 heads, FFN 3072.
/// [SentenceEncoderShape(768, 12, 3072, MaxLength = 512)]
/// public sealed partial class BertBaseShape;
/// </code>
/// </example>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class SentenceEncoderShapeAttribute : Attribute
{
    /// <param name="hiddenSize">Width of the hidden states and of the embeddings (config.json's hidden_size).</param>
    /// <param name="heads">Attention heads per layer (num_attention_heads); must divide <paramref name="hiddenSize"/>.</param>
    /// <param name="ffnWidth">Hidden width of the feed-forward network (intermediate_size).</param>
    public SentenceEncoderShapeAttribute(int hiddenSize, int heads, int ffnWidth)
    {
        HiddenSize = hiddenSize;
        Heads = heads;
        FfnWidth = ffnWidth;
    }

    /// <summary>Width of the hidden states and of the embeddings.</summary>
    public int HiddenSize { get; }

    /// <summary>Attention heads per layer.</summary>
    public int Heads { get; }

    /// <summary>Hidden width of the feed-forward network.</summary>
    public int FfnWidth { get; }

    /// <summary>The feed-forward activation (config.json's hidden_act). Default <see cref="FixedShapeAttention.Activation.Gelu"/>, BERT's exact GELU.</summary>
    public Activation Activation { get; set; } = Activation.Gelu;

    /// <summary>
    /// The longest input in tokens, [CLS] and [SEP] included; longer text is truncated to it. Default 512 (BERT's
    /// position table); sentence-transformers' max_seq_length is often lower (256 for all-MiniLM-L6-v2).
    /// </summary>
    public int MaxLength { get; set; } = 512;

    /// <summary>
    /// The sequence lengths a batch is padded to, strictly increasing, the last one equal to <see cref="MaxLength"/>.
    /// Each bucket compiles its own kernels. Default: 16, 32, 64, … doubling up to <see cref="MaxLength"/>.
    /// </summary>
    public int[]? Buckets { get; set; }
}
