using System.Collections.Generic;
using FixedShapeAttention.Encoder;

namespace FixedShapeAttention.Models;

/// <summary>
/// Every weight of a BERT-style encoder (embeddings and layers; no pooler), as plain row-major float arrays whose
/// lengths match <see cref="Config"/>. Produced by <see cref="OnnxBertLoader"/>.
/// </summary>
public sealed class BertWeights
{
    /// <summary>The dimensions the arrays below are sized by.</summary>
    public required BertConfig Config { get; init; }

    /// <summary>Token embeddings, <c>[VocabSize, HiddenSize]</c>: row <c>i</c> is the embedding of token id <c>i</c>.</summary>
    public required float[] WordEmbeddings { get; init; }

    /// <summary>Absolute position embeddings, <c>[MaxPositions, HiddenSize]</c>.</summary>
    public required float[] PositionEmbeddings { get; init; }

    /// <summary>Token-type (segment) embeddings, <c>[TypeVocabSize, HiddenSize]</c>.</summary>
    public required float[] TokenTypeEmbeddings { get; init; }

    /// <summary>Scale of the LayerNorm applied to the summed embeddings, <c>[HiddenSize]</c>.</summary>
    public required float[] EmbeddingLayerNormGamma { get; init; }

    /// <summary>Shift of the LayerNorm applied to the summed embeddings, <c>[HiddenSize]</c>.</summary>
    public required float[] EmbeddingLayerNormBeta { get; init; }

    /// <summary>
    /// The encoder layers in execution order; <see cref="BertConfig.Layers"/> entries, each ready for
    /// <see cref="EncoderLayerWeights.Pack{TShape}"/>.
    /// </summary>
    public required IReadOnlyList<EncoderLayerParameters> Layers { get; init; }
}
