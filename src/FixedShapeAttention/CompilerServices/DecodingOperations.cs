using System;
using System.ComponentModel;
using FixedShapeAttention.Decoding;
using FixedShapeAttention.Scheduling;

namespace FixedShapeAttention.CompilerServices;

/// <summary>
/// The data movement of the generated <c>Prefill</c> and <c>DecodeStep</c> kernels: checking a call against the cache
/// and the shape, appending the new keys (transposed into the Kᵀ panels) and values, staging a prefill's query rows, and
/// handing each chunk its row. Every check runs before the first write, so a refused call leaves the cache as it was.
/// </summary>
/// <remarks>For generated code; no compatibility promise: this namespace may change in any release.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class DecodingOperations
{
    /// <summary>
    /// Checks a prefill of <c>q.Length / embeddingDim</c> rows of <paramref name="sequence"/> at <paramref name="position"/>,
    /// then appends its keys and values to the cache of <paramref name="layer"/> and stages its query rows (rows
    /// [position, position + rows) of the staging block; the other rows of the row tiles they touch are zeroed).
    /// </summary>
    /// <returns>The number of rows; <paramref name="flops"/> is the call's attention work.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="cache"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The layer or the sequence is out of range.</exception>
    /// <exception cref="ArgumentException">The cache has another layout, a length does not match, the output overlaps an input,
    /// the position is not the sequence's length in that layer (behind it or past it), or the rows would pass the context.</exception>
    public static int BeginPrefill(
        KeyValueCache cache, int layer, int sequence, int position,
        ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> output,
        int sequenceLength, int embeddingDim, int keyValueHeads, int headDim, int keyStride, out long flops)
    {
        CheckLayout(cache, sequenceLength, embeddingDim, keyValueHeads, headDim, keyStride);
        cache.CheckLayer(layer);
        cache.CheckSequence(sequence);
        int rows = Rows(q, k, v, output, embeddingDim, keyValueHeads * headDim);
        CheckPosition(cache, layer, sequence, position, rows, -1);

        Append(cache, layer, sequence, position, rows, k, v);
        cache.SetLength(layer, sequence, position + rows);

        // The prompt's rows, staged at their positions; the rest of the row tiles they touch computes from zero queries
        // and is dropped.
        int e = embeddingDim, tile = ChunkSizing.RowTile;
        Span<float> staged = cache.Staging.AsSpan(0, sequenceLength * e);
        int first = position / tile * tile, end = Math.Min((position + rows + tile - 1) / tile * tile, sequenceLength);
        staged[(first * e)..(position * e)].Clear();
        q.CopyTo(staged.Slice(position * e, rows * e));
        staged[((position + rows) * e)..(end * e)].Clear();
        // Q·Kᵀ and P·V of each staged row over its visible keys.
        flops = 0;
        for (int row = first; row < end; row++)
            flops += 4L * (embeddingDim / headDim) * headDim * (row + 1);
        return rows;
    }

    /// <summary>The staged query rows of a prefill: [SequenceLength, EmbeddingDim].</summary>
    /// <exception cref="ArgumentNullException"><paramref name="cache"/> is null.</exception>
    public static ReadOnlySpan<float> StagedQueries(KeyValueCache cache)
    {
        ArgumentNullException.ThrowIfNull(cache);
        return cache.Staging.AsSpan(0, cache.SequenceLength * cache.EmbeddingDim);
    }

    /// <summary>Where a prefill's kernel writes its rows: [SequenceLength, EmbeddingDim].</summary>
    /// <exception cref="ArgumentNullException"><paramref name="cache"/> is null.</exception>
    public static Span<float> StagedOutputs(KeyValueCache cache)
    {
        ArgumentNullException.ThrowIfNull(cache);
        return cache.Staging.AsSpan(cache.SequenceLength * cache.EmbeddingDim, cache.SequenceLength * cache.EmbeddingDim);
    }

    /// <summary>Copies a prefill's output rows [position, position + output rows) out of the staging block.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="cache"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The rows are not inside the staging block.</exception>
    public static void FinishPrefill(KeyValueCache cache, int position, Span<float> output)
    {
        ArgumentNullException.ThrowIfNull(cache);
        int e = cache.EmbeddingDim;
        StagedOutputs(cache).Slice(checked(position * e), output.Length).CopyTo(output);
    }

    /// <summary>
    /// Checks a decode step (row i: one new token of <paramref name="sequences"/>[i] at <paramref name="positions"/>[i]), then
    /// appends every row's key and value to the cache of <paramref name="layer"/> and records the rows for <see cref="DecodeRow"/>.
    /// </summary>
    /// <returns>The number of rows; <paramref name="flops"/> is the call's attention work.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="cache"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The layer or a sequence is out of range.</exception>
    /// <exception cref="ArgumentException">The cache has another layout, the rows of q, k, v, output, sequences and positions
    /// differ (a batch mismatch), a sequence is listed twice, a position is not its sequence's length in that layer, or a
    /// sequence is full.</exception>
    public static int BeginDecodeStep(
        KeyValueCache cache, int layer, ReadOnlySpan<int> sequences, ReadOnlySpan<int> positions,
        ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> output,
        int sequenceLength, int embeddingDim, int keyValueHeads, int headDim, int keyStride, out long flops)
    {
        CheckLayout(cache, sequenceLength, embeddingDim, keyValueHeads, headDim, keyStride);
        cache.CheckLayer(layer);
        int rows = Rows(q, k, v, output, embeddingDim, keyValueHeads * headDim);
        if (sequences.Length != rows || positions.Length != rows)
        {
            throw new ArgumentException(
                $"sequences, positions: expected one per row of q ({rows} = {q.Length}/{embeddingDim}), got {sequences.Length} sequences and {positions.Length} positions.",
                nameof(sequences));
        }

        flops = 0;
        for (int i = 0; i < rows; i++)
        {
            cache.CheckSequence(sequences[i]);
            for (int j = 0; j < i; j++)
            {
                if (sequences[j] == sequences[i])
                    throw new ArgumentException($"sequences: {sequences[i]} is listed twice (rows {j} and {i}); a step appends one token per sequence.", nameof(sequences));
            }

            CheckPosition(cache, layer, sequences[i], positions[i], 1, i);
            // The row tile that holds the row: Q·Kᵀ and P·V of its rows over the keys up to each.
            flops += 4L * (embeddingDim / headDim) * headDim * ChunkSizing.RowTile * (positions[i] + 1);
        }

        int kv = keyValueHeads * headDim;
        for (int i = 0; i < rows; i++)
        {
            Append(cache, layer, sequences[i], positions[i], 1, k.Slice(i * kv, kv), v.Slice(i * kv, kv));
            cache.SetLength(layer, sequences[i], positions[i] + 1);
            cache.RowSequences[i] = sequences[i];
            cache.RowPositions[i] = positions[i];
        }

        return rows;
    }

    /// <summary>The sequence and position of row <paramref name="row"/> of the running decode step, checked against the cache.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="cache"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The row, or what the cache recorded for it, is out of range.</exception>
    public static void DecodeRow(KeyValueCache cache, int row, out int sequence, out int position)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)row, (uint)cache.Sequences, nameof(row));
        sequence = cache.RowSequences[row];
        position = cache.RowPositions[row];
        cache.CheckSequence(sequence);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)position, (uint)cache.SequenceLength, nameof(position));
    }

    /// <summary>The keys of <paramref name="layer"/>: [Sequences, KeyValueHeads, HeadDim, KeyStride], Kᵀ panels.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="cache"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The layer is out of range.</exception>
    public static ReadOnlySpan<float> Keys(KeyValueCache cache, int layer)
    {
        ArgumentNullException.ThrowIfNull(cache);
        cache.CheckLayer(layer);
        return cache.Keys(layer);
    }

    /// <summary>The values of <paramref name="layer"/>: [Sequences, SequenceLength, KeyValueHeads·HeadDim].</summary>
    /// <exception cref="ArgumentNullException"><paramref name="cache"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The layer is out of range.</exception>
    public static ReadOnlySpan<float> Values(KeyValueCache cache, int layer)
    {
        ArgumentNullException.ThrowIfNull(cache);
        cache.CheckLayer(layer);
        return cache.Values(layer);
    }

    private static void CheckLayout(KeyValueCache cache, int sequenceLength, int embeddingDim, int keyValueHeads, int headDim, int keyStride)
    {
        ArgumentNullException.ThrowIfNull(cache);
        if (cache.SequenceLength != sequenceLength || cache.EmbeddingDim != embeddingDim || cache.KeyValueHeads != keyValueHeads
            || cache.HeadDim != headDim || cache.KeyStride != keyStride)
        {
            throw new ArgumentException(
                $"cache: laid out for SequenceLength {cache.SequenceLength}, EmbeddingDim {cache.EmbeddingDim}, KeyValueHeads {cache.KeyValueHeads}, " +
                $"HeadDim {cache.HeadDim}, KeyStride {cache.KeyStride}; this kernel needs {sequenceLength}, {embeddingDim}, {keyValueHeads}, {headDim}, " +
                $"{keyStride}: make it with this shape's CreateKeyValueCache.",
                nameof(cache));
        }
    }

    /// <summary>Rows of q (a positive whole number of EmbeddingDim rows), with k and v of as many KeyValueDim rows and output like q.</summary>
    private static int Rows(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> output, int embeddingDim, int keyValueDim)
    {
        if (q.IsEmpty || q.Length % embeddingDim != 0)
            throw new ArgumentException($"q: expected a positive multiple of {embeddingDim} (rows of EmbeddingDim), got {q.Length}.", nameof(q));
        int rows = q.Length / embeddingDim;
        if (k.Length != (long)rows * keyValueDim)
            ThrowHelper.WrongLength(nameof(k), k.Length, rows, keyValueDim, "rows of q × KeyValueHeads·HeadDim");
        if (v.Length != (long)rows * keyValueDim)
            ThrowHelper.WrongLength(nameof(v), v.Length, rows, keyValueDim, "rows of q × KeyValueHeads·HeadDim");
        if (output.Length != q.Length)
            ThrowHelper.LengthDiffers(nameof(output), output.Length, nameof(q), q.Length);
        if (output.Overlaps(q))
            ThrowHelper.Overlaps(nameof(output), nameof(q));
        if (output.Overlaps(k))
            ThrowHelper.Overlaps(nameof(output), nameof(k));
        if (output.Overlaps(v))
            ThrowHelper.Overlaps(nameof(output), nameof(v));
        return rows;
    }

    /// <summary>The position of a prefill (<paramref name="row"/> −1) or of row <paramref name="row"/> of a step; the message is formatted only when it throws.</summary>
    private static void CheckPosition(KeyValueCache cache, int layer, int sequence, int position, int rows, int row)
    {
        int length = cache.Length(layer, sequence);
        if (position == length && position + (long)rows <= cache.SequenceLength)
            return;
        string name = row < 0 ? "position" : $"positions[{row}]";
        if (position != length)
        {
            string direction = position < length ? "goes backwards" : "skips ahead";
            throw new ArgumentException(
                $"{name}: sequence {sequence} holds {length} tokens in layer {layer}, so its next token is at position {length}; got {position} (the position {direction}; Reset the sequence to start again).",
                name);
        }

        if (position + (long)rows > cache.SequenceLength)
        {
            throw new ArgumentException(
                $"{name}: {rows} token{(rows == 1 ? "" : "s")} at position {position} would pass the context of {cache.SequenceLength} (SequenceLength).",
                name);
        }
    }

    /// <summary>Writes <paramref name="rows"/> tokens' keys (transposed: a column of each head's Kᵀ panel) and values at <paramref name="position"/>.</summary>
    private static void Append(KeyValueCache cache, int layer, int sequence, int position, int rows, ReadOnlySpan<float> k, ReadOnlySpan<float> v)
    {
        int heads = cache.KeyValueHeads, d = cache.HeadDim, stride = cache.KeyStride, kv = heads * d, t = cache.SequenceLength;
        Span<float> panels = cache.Keys(layer).AsSpan(sequence * heads * d * stride, heads * d * stride);
        for (int row = 0; row < rows; row++)
        {
            ReadOnlySpan<float> key = k.Slice(row * kv, kv);
            for (int c = 0; c < kv; c++)
                panels[c * stride + position + row] = key[c];
        }

        v.CopyTo(cache.Values(layer).AsSpan((sequence * t + position) * kv, rows * kv));
    }
}
