using System;
using FixedShapeAttention.Decoding;

namespace FixedShapeAttention;

/// <summary>
/// The decoding kernels the source generator emits for a causal shape, whose SequenceLength is the maximum context: a
/// key/value cache in the layout the kernels read, a prefill that appends a prompt's rows and attends them causally, and a
/// decode step that appends one row to each of several sequences, each at its own position, and attends it to the cache.
/// Every causal <c>[TransformerShape]</c> class implements it.
/// </summary>
/// <remarks>
/// <para>Spans: q and output are rows of EmbeddingDim, k and v rows of KeyValueHeads·HeadDim (already rotated, with RoPE);
/// output must not overlap an input. Each call appends at the position the cache holds for that (layer, sequence): a
/// position behind or ahead of it, rows past the context, a batch mismatch or a cache of another layout throws an
/// <see cref="ArgumentException"/> before anything is written.</para>
/// <para>Results: a row's output is the same bits as that row of the shape's causal <c>Attention</c> over the whole prefix,
/// and the same for every degree of parallelism. Nothing allocates per call.</para>
/// </remarks>
public interface IDecodingKernels : ITransformerKernels
{
    /// <summary>A cache in this shape's layout for <paramref name="layers"/> layers of <paramref name="sequences"/> sequences.</summary>
    /// <param name="layers">Layers (one attention each).</param>
    /// <param name="sequences">Sequences, each with its own position.</param>
    static abstract KeyValueCache CreateKeyValueCache(int layers, int sequences);

    /// <summary>Appends <c>q.Length / EmbeddingDim</c> prompt rows of <paramref name="sequence"/> at <paramref name="position"/> to
    /// the cache of <paramref name="layer"/>, and writes their causal attention over keys 0..position + row.</summary>
    /// <param name="cache">A cache from <see cref="CreateKeyValueCache"/>.</param>
    /// <param name="layer">The layer whose cache takes the rows.</param>
    /// <param name="sequence">The sequence.</param>
    /// <param name="position">The sequence's length in that layer: where the rows go.</param>
    /// <param name="q">Queries, [rows, EmbeddingDim].</param>
    /// <param name="k">Keys, [rows, KeyValueHeads·HeadDim].</param>
    /// <param name="v">Values, like <paramref name="k"/>.</param>
    /// <param name="output">The result, like <paramref name="q"/>.</param>
    /// <param name="maxDegreeOfParallelism">-1 for every processor, 1 for the calling thread only; results are bit-identical for every value.</param>
    static abstract void Prefill(
        KeyValueCache cache, int layer, int sequence, int position, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        Span<float> output, int maxDegreeOfParallelism);

    /// <summary>Appends row i (one token) to sequence <paramref name="sequences"/>[i] at <paramref name="positions"/>[i] in the cache
    /// of <paramref name="layer"/>, and writes its attention over that sequence's keys 0..positions[i].</summary>
    /// <param name="cache">A cache from <see cref="CreateKeyValueCache"/>.</param>
    /// <param name="layer">The layer whose cache takes the rows.</param>
    /// <param name="sequences">One distinct sequence per row.</param>
    /// <param name="positions">Each sequence's length in that layer.</param>
    /// <param name="q">Queries, [rows, EmbeddingDim].</param>
    /// <param name="k">Keys, [rows, KeyValueHeads·HeadDim].</param>
    /// <param name="v">Values, like <paramref name="k"/>.</param>
    /// <param name="output">The result, like <paramref name="q"/>.</param>
    /// <param name="maxDegreeOfParallelism">-1 for every processor, 1 for the calling thread only; results are bit-identical for every value.</param>
    static abstract void DecodeStep(
        KeyValueCache cache, int layer, ReadOnlySpan<int> sequences, ReadOnlySpan<int> positions, ReadOnlySpan<float> q, ReadOnlySpan<float> k,
        ReadOnlySpan<float> v, Span<float> output, int maxDegreeOfParallelism);
}
