namespace FixedShapeAttention.Models;

/// <summary>
/// The dimensions of a BERT-style encoder, as <see cref="OnnxBertLoader"/> infers them from the tensors and the graph
/// of an ONNX export (all-MiniLM-L6-v2: <c>BertConfig(30522, 384, 6, 12, 1536, 512, 2, 1e-12f)</c>).
/// </summary>
/// <param name="VocabSize">Rows of the word-embedding table: the number of token ids the tokenizer can produce.</param>
/// <param name="HiddenSize">Width of every hidden state (the transformer's embedding dimension).</param>
/// <param name="Layers">Number of encoder layers.</param>
/// <param name="Heads">Attention heads per layer; <see cref="HiddenSize"/> is a multiple of it.</param>
/// <param name="IntermediateSize">Width of the feed-forward network's hidden layer.</param>
/// <param name="MaxPositions">Rows of the position-embedding table: the longest sequence the model accepts.</param>
/// <param name="TypeVocabSize">Rows of the token-type (segment) embedding table.</param>
/// <param name="LayerNormEpsilon">The ε added to the variance in every LayerNorm of the model.</param>
public sealed record BertConfig(
    int VocabSize,
    int HiddenSize,
    int Layers,
    int Heads,
    int IntermediateSize,
    int MaxPositions,
    int TypeVocabSize,
    float LayerNormEpsilon)
{
    /// <summary>Width of one attention head: <see cref="HiddenSize"/> / <see cref="Heads"/>.</summary>
    public int HeadDim => HiddenSize / Heads;
}
