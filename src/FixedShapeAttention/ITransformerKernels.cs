using System;

namespace FixedShapeAttention;

/// <summary>
/// What every class carrying <see cref="TransformerShapeAttribute"/> implements through the generator, so that
/// generic code (<c>Run&lt;T&gt;() where T : ITransformerKernels</c>) can call the kernels of any shape.
/// </summary>
public interface ITransformerKernels
{
    /// <summary>Tokens per sequence.</summary>
    static abstract int SequenceLength { get; }

    /// <summary>Model width.</summary>
    static abstract int EmbeddingDim { get; }

    /// <summary>Hidden width of the feed-forward network.</summary>
    static abstract int FfnDim { get; }

    /// <summary>Attention heads.</summary>
    static abstract int Heads { get; }

    /// <summary>Key/value heads: <see cref="Heads"/> unless the shape declares grouped-query attention, where K and V have
    /// KeyValueHeads·HeadDim columns and query head h reads key/value head h / (Heads / KeyValueHeads).</summary>
    static abstract int KeyValueHeads { get; }

    /// <summary>The runtime description of the declared shape.</summary>
    static abstract TransformerShape Shape { get; }

    /// <summary>
    /// Per head, <c>softmax(Q·Kᵀ/√HeadDim)·V</c>. All four spans are row-major <c>[batch, SequenceLength, EmbeddingDim]</c>
    /// of the same length (K and V <c>[batch, SequenceLength, KeyValueHeads·HeadDim]</c> with grouped-query attention);
    /// <c>output</c> must not overlap an input.
    /// </summary>
    static abstract void Attention(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> output);

    /// <inheritdoc cref="Attention(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/>
    /// <param name="q">Queries.</param>
    /// <param name="k">Keys.</param>
    /// <param name="v">Values.</param>
    /// <param name="output">The result.</param>
    /// <param name="maxDegreeOfParallelism">-1 for every processor, 1 for the calling thread only; results are bit-identical for every value.</param>
    static abstract void Attention(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> output, int maxDegreeOfParallelism);

    /// <summary>
    /// Attention with a key-padding mask: sequence <c>i</c> of the batch attends to its first <c>keyCounts[i]</c>
    /// keys only, as BERT's additive mask on padded tokens does. Masked keys get weight exactly 0 (their values are
    /// multiplied by that 0, so they must be finite); a count of 0 gives an output of zeros. Query rows are not
    /// masked: every row, padding included, gets its attention over the visible keys.
    /// </summary>
    static abstract void Attention(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, ReadOnlySpan<int> keyCounts, Span<float> output);

    /// <inheritdoc cref="Attention(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{int}, Span{float})"/>
    /// <param name="q">Queries.</param>
    /// <param name="k">Keys.</param>
    /// <param name="v">Values.</param>
    /// <param name="keyCounts">Visible keys per sequence, each in [0, SequenceLength].</param>
    /// <param name="output">The result.</param>
    /// <param name="maxDegreeOfParallelism">-1 for every processor, 1 for the calling thread only; results are bit-identical for every value.</param>
    static abstract void Attention(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, ReadOnlySpan<int> keyCounts, Span<float> output, int maxDegreeOfParallelism);

    /// <summary>
    /// <c>y = x·W + b</c>, row by row: an attention block's query, key, value or output projection. <c>x</c> and <c>y</c>
    /// are <c>[batch, SequenceLength, EmbeddingDim]</c>, <c>w</c> is <c>[EmbeddingDim, EmbeddingDim]</c> and <c>b</c> is
    /// <c>[EmbeddingDim]</c>, all row-major; <c>y</c> must not overlap an input.
    /// </summary>
    static abstract void Project(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, Span<float> y);

    /// <inheritdoc cref="Project(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/>
    /// <param name="x">Input rows.</param>
    /// <param name="w">Weight matrix.</param>
    /// <param name="b">Bias.</param>
    /// <param name="y">The result.</param>
    /// <param name="maxDegreeOfParallelism">-1 for every processor, 1 for the calling thread only; results are bit-identical for every value.</param>
    static abstract void Project(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, Span<float> y, int maxDegreeOfParallelism);

    /// <summary>Packs a projection's weights once into this shape's panel layout (see <see cref="PackedProjectionWeights"/>).</summary>
    /// <param name="w">Weight matrix, [EmbeddingDim, EmbeddingDim].</param>
    /// <param name="b">Bias, [EmbeddingDim].</param>
    static abstract PackedProjectionWeights PackProjection(ReadOnlySpan<float> w, ReadOnlySpan<float> b);

    /// <summary>The projection with prepacked weights; bit-identical to the raw-span overload.</summary>
    /// <param name="x">Input rows, [batch, SequenceLength, EmbeddingDim].</param>
    /// <param name="weights">Weights from <see cref="PackProjection"/>.</param>
    /// <param name="y">The result, like <paramref name="x"/>; must not overlap it.</param>
    static abstract void Project(ReadOnlySpan<float> x, PackedProjectionWeights weights, Span<float> y);

    /// <inheritdoc cref="Project(ReadOnlySpan{float}, PackedProjectionWeights, Span{float})"/>
    /// <param name="x">Input rows.</param>
    /// <param name="weights">Prepacked weights.</param>
    /// <param name="y">The result.</param>
    /// <param name="maxDegreeOfParallelism">-1 for every processor, 1 for the calling thread only; results are bit-identical for every value.</param>
    static abstract void Project(ReadOnlySpan<float> x, PackedProjectionWeights weights, Span<float> y, int maxDegreeOfParallelism);

    /// <summary>
    /// <c>y = act(x·W1 + b1)·W2 + b2</c>, row by row. <c>x</c> and <c>y</c> are <c>[batch, SequenceLength, EmbeddingDim]</c>,
    /// <c>w1</c> is <c>[EmbeddingDim, FfnDim]</c>, <c>b1</c> is <c>[FfnDim]</c>, <c>w2</c> is <c>[FfnDim, EmbeddingDim]</c> and
    /// <c>b2</c> is <c>[EmbeddingDim]</c>, all row-major; <c>y</c> must not overlap an input.
    /// </summary>
    static abstract void FeedForward(ReadOnlySpan<float> x, ReadOnlySpan<float> w1, ReadOnlySpan<float> b1, ReadOnlySpan<float> w2, ReadOnlySpan<float> b2, Span<float> y);

    /// <inheritdoc cref="FeedForward(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/>
    /// <param name="x">Input rows.</param>
    /// <param name="w1">First weight matrix.</param>
    /// <param name="b1">First bias.</param>
    /// <param name="w2">Second weight matrix.</param>
    /// <param name="b2">Second bias.</param>
    /// <param name="y">The result.</param>
    /// <param name="maxDegreeOfParallelism">-1 for every processor, 1 for the calling thread only; results are bit-identical for every value.</param>
    static abstract void FeedForward(ReadOnlySpan<float> x, ReadOnlySpan<float> w1, ReadOnlySpan<float> b1, ReadOnlySpan<float> w2, ReadOnlySpan<float> b2, Span<float> y, int maxDegreeOfParallelism);

    /// <summary>Packs the feed-forward weights once into this shape's panel layout (see <see cref="PackedFeedForwardWeights"/>).</summary>
    /// <param name="w1">First weight matrix, [EmbeddingDim, FfnDim].</param>
    /// <param name="b1">First bias, [FfnDim].</param>
    /// <param name="w2">Second weight matrix, [FfnDim, EmbeddingDim].</param>
    /// <param name="b2">Second bias, [EmbeddingDim].</param>
    static abstract PackedFeedForwardWeights PackFeedForward(ReadOnlySpan<float> w1, ReadOnlySpan<float> b1, ReadOnlySpan<float> w2, ReadOnlySpan<float> b2);

    /// <summary>The feed-forward network with prepacked weights; bit-identical to the raw-span overload.</summary>
    /// <param name="x">Input rows, [batch, SequenceLength, EmbeddingDim].</param>
    /// <param name="weights">Weights from <see cref="PackFeedForward"/>.</param>
    /// <param name="y">The result, like <paramref name="x"/>; must not overlap it.</param>
    static abstract void FeedForward(ReadOnlySpan<float> x, PackedFeedForwardWeights weights, Span<float> y);

    /// <inheritdoc cref="FeedForward(ReadOnlySpan{float}, PackedFeedForwardWeights, Span{float})"/>
    /// <param name="x">Input rows.</param>
    /// <param name="weights">Prepacked weights.</param>
    /// <param name="y">The result.</param>
    /// <param name="maxDegreeOfParallelism">-1 for every processor, 1 for the calling thread only; results are bit-identical for every value.</param>
    static abstract void FeedForward(ReadOnlySpan<float> x, PackedFeedForwardWeights weights, Span<float> y, int maxDegreeOfParallelism);
}
