using System;

namespace FixedShapeAttention.Encoder;

/// <summary>A <see cref="TransformerEncoder{TShape}"/> seen without its shape type, so callers can hold one per sequence-length bucket.</summary>
public interface ITransformerEncoder
{
    /// <summary>Tokens per sequence (padded).</summary>
    int SequenceLength { get; }

    /// <summary>Model width.</summary>
    int EmbeddingDim { get; }

    /// <summary>
    /// Runs every layer over <c>[batch, SequenceLength, EmbeddingDim]</c> row-major activations, on up to
    /// <see cref="KernelParallelism.DefaultMaxDegreeOfParallelism"/> threads. <paramref name="output"/> has the same
    /// layout and must not overlap <paramref name="input"/>.
    /// </summary>
    /// <param name="input">The layer-0 input, e.g. embeddings.</param>
    /// <param name="tokenCounts">Real tokens per sequence, each in [0, SequenceLength]; the rest is padding.</param>
    /// <param name="output">The last layer's output.</param>
    /// <exception cref="ArgumentException">A length is not a whole number of sequences, the lengths differ, a count is out of range, or the spans overlap.</exception>
    /// <exception cref="InvalidOperationException">Another thread is running this instance.</exception>
    void Forward(ReadOnlySpan<float> input, ReadOnlySpan<int> tokenCounts, Span<float> output) =>
        Forward(input, tokenCounts, output, KernelParallelism.DefaultMaxDegreeOfParallelism);

    /// <summary>
    /// Runs every layer over <c>[batch, SequenceLength, EmbeddingDim]</c> row-major activations. <paramref name="output"/>
    /// has the same layout and must not overlap <paramref name="input"/>.
    /// </summary>
    /// <param name="input">The layer-0 input, e.g. embeddings.</param>
    /// <param name="tokenCounts">Real tokens per sequence, each in [0, SequenceLength]; the rest is padding.</param>
    /// <param name="output">The last layer's output.</param>
    /// <param name="maxDegreeOfParallelism">-1 for every processor, 1 for the calling thread only; results are bit-identical for every value.</param>
    /// <exception cref="ArgumentException">A length is not a whole number of sequences, the lengths differ, a count is out of range, or the spans overlap.</exception>
    /// <exception cref="InvalidOperationException">Another thread is running this instance.</exception>
    void Forward(ReadOnlySpan<float> input, ReadOnlySpan<int> tokenCounts, Span<float> output, int maxDegreeOfParallelism);
}
