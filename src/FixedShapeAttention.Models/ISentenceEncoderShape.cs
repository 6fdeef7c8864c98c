using System.Collections.Generic;
using FixedShapeAttention.Encoder;

namespace FixedShapeAttention.Models;

/// <summary>
/// A sentence encoder's dimensions and its generated kernels, one encoder per sequence-length bucket. The generator
/// implements this interface on every <see cref="SentenceEncoderShapeAttribute"/> class; pass the class as the type
/// argument of <see cref="SentenceEncoder.Load{TShape}(string, string, SentenceEncoderOptions?)"/>.
/// </summary>
public interface ISentenceEncoderShape
{
    /// <summary>Width of the hidden states and of the embeddings.</summary>
    static abstract int HiddenSize { get; }

    /// <summary>Attention heads per layer.</summary>
    static abstract int Heads { get; }

    /// <summary>Hidden width of the feed-forward network.</summary>
    static abstract int FfnWidth { get; }

    /// <summary>The feed-forward activation the kernels were generated with.</summary>
    static abstract Activation Activation { get; }

    /// <summary>The longest input in tokens; the last of <see cref="Buckets"/>.</summary>
    static abstract int MaxLength { get; }

    /// <summary>The sequence lengths a batch is padded to, shortest first.</summary>
    static abstract IReadOnlyList<int> Buckets { get; }

    /// <summary>Packs one layer for the generated kernels; the packing is the same for every bucket.</summary>
    /// <exception cref="System.ArgumentException">A tensor's length does not match the declared widths; the message names it.</exception>
    static abstract EncoderLayerWeights PackLayer(EncoderLayerParameters parameters);

    /// <summary>A post-norm (BERT) encoder over <paramref name="layers"/> on the kernels generated for <paramref name="sequenceLength"/>.</summary>
    /// <param name="sequenceLength">One of <see cref="Buckets"/>.</param>
    /// <param name="layers">Layers packed by <see cref="PackLayer"/>.</param>
    /// <param name="layerNormEpsilon">The ε of every LayerNorm of the layers.</param>
    /// <exception cref="System.ArgumentException"><paramref name="sequenceLength"/> is not a bucket, or the layers do not fit (see <see cref="TransformerEncoder{TShape}"/>).</exception>
    static abstract ITransformerEncoder CreateEncoder(int sequenceLength, IReadOnlyList<EncoderLayerWeights> layers, float layerNormEpsilon);
}
