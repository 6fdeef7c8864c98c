using System;
using FixedShapeAttention.Encoder;

namespace FixedShapeAttention.Models;

/// <summary>
/// BERT's input layer: <c>LayerNorm(word[id] + position[t] + tokenType[type])</c> for every token, into the
/// <c>[batch, sequence, hidden]</c> layout the encoder takes.
/// </summary>
internal sealed class BertEmbeddings
{
    private readonly BertWeights _weights;

    public BertEmbeddings(BertWeights weights)
    {
        _weights = weights;
    }

    /// <summary>Embeds <paramref name="inputIds"/> (<c>[batch, sequenceLength]</c>) into <paramref name="output"/>.</summary>
    /// <param name="maxDegreeOfParallelism">The LayerNorm's threads: -1 for every processor, 1 for the calling thread only.</param>
    /// <exception cref="ArgumentException">An id is outside the vocabulary or a token type outside the type table; nothing is written.</exception>
    public void Embed(ReadOnlySpan<long> inputIds, ReadOnlySpan<long> tokenTypeIds, int sequenceLength, Span<float> output, int maxDegreeOfParallelism)
    {
        BertConfig config = _weights.Config;
        for (int i = 0; i < inputIds.Length; i++)
        {
            if ((ulong)inputIds[i] >= (ulong)config.VocabSize)
            {
                throw new ArgumentException($"inputIds[{i}]: expected a token id in [0, {config.VocabSize}) (the vocabulary), got {inputIds[i]}.", nameof(inputIds));
            }

            if ((ulong)tokenTypeIds[i] >= (ulong)config.TypeVocabSize)
            {
                throw new ArgumentException($"tokenTypeIds[{i}]: expected a token type in [0, {config.TypeVocabSize}), got {tokenTypeIds[i]}.", nameof(tokenTypeIds));
            }
        }

        int hidden = config.HiddenSize;
        ReadOnlySpan<float> words = _weights.WordEmbeddings, positions = _weights.PositionEmbeddings, types = _weights.TokenTypeEmbeddings;
        for (int i = 0; i < inputIds.Length; i++)
        {
            int position = i % sequenceLength;
            ReadOnlySpan<float> word = words.Slice((int)inputIds[i] * hidden, hidden);
            ReadOnlySpan<float> place = positions.Slice(position * hidden, hidden);
            ReadOnlySpan<float> type = types.Slice((int)tokenTypeIds[i] * hidden, hidden);
            Span<float> row = output.Slice(i * hidden, hidden);
            for (int c = 0; c < hidden; c++)
            {
                row[c] = word[c] + place[c] + type[c];
            }
        }

        LayerNormalization.Normalize(output.Slice(0, inputIds.Length * hidden), _weights.EmbeddingLayerNormGamma, _weights.EmbeddingLayerNormBeta, config.LayerNormEpsilon, output.Slice(0, inputIds.Length * hidden), maxDegreeOfParallelism);
    }
}
