using System;

namespace FixedShapeAttention.Decoding;

/// <summary>
/// The keys and values of past tokens, per layer and sequence, in the layout a declared causal shape's generated
/// <c>Prefill</c> and <c>DecodeStep</c> read (<see cref="IDecodingKernels"/>). Make one with the shape's
/// <c>CreateKeyValueCache</c>; every buffer is allocated here, once, so decoding allocates nothing per token.
/// </summary>
/// <remarks>
/// <para>Layout of one (layer, sequence): Kᵀ as <see cref="KeyValueHeads"/> panels of <see cref="HeadDim"/> rows of
/// <see cref="KeyStride"/> floats (a column per token, filled as tokens arrive; the columns past the context stay 0), then
/// V as <see cref="SequenceLength"/> rows of KeyValueHeads·HeadDim. The cache records how many tokens each (layer, sequence)
/// holds; a kernel call appends at exactly that position, so a position that skips ahead, goes backwards or passes the
/// context is refused before anything is written.</para>
/// <para>Not thread-safe: one call at a time per cache (each call runs its own chunks in parallel).</para>
/// </remarks>
public sealed class KeyValueCache
{
    private readonly float[][] _keys;
    private readonly float[][] _values;
    private readonly int[] _lengths;
    private readonly float[] _staging;
    private readonly int[] _rowSequences;
    private readonly int[] _rowPositions;

    /// <summary>A cache for <paramref name="layers"/> layers of <paramref name="sequences"/> sequences, in the layout of one shape.
    /// Generated code calls this with its shape's constants; prefer the shape's <c>CreateKeyValueCache</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A count is not positive, <paramref name="keyStride"/> is below
    /// <paramref name="sequenceLength"/>, or a layer's buffers would not fit an array.</exception>
    public KeyValueCache(int layers, int sequences, int sequenceLength, int embeddingDim, int keyValueHeads, int headDim, int keyStride)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(layers);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sequences);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sequenceLength);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(embeddingDim);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(keyValueHeads);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(headDim);
        ArgumentOutOfRangeException.ThrowIfLessThan(keyStride, sequenceLength);
        long keyFloats = (long)sequences * keyValueHeads * headDim * keyStride;
        long valueFloats = (long)sequences * sequenceLength * keyValueHeads * headDim;
        long stagingFloats = 2L * sequenceLength * embeddingDim;
        if (keyFloats > Array.MaxLength || valueFloats > Array.MaxLength || stagingFloats > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(sequences), sequences, $"a layer's keys ({keyFloats} floats) or values ({valueFloats}) exceed an array.");
        if ((long)layers * sequences > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(sequences), sequences, $"{layers} layers × {sequences} sequences of lengths exceed an array.");

        Layers = layers;
        Sequences = sequences;
        SequenceLength = sequenceLength;
        EmbeddingDim = embeddingDim;
        KeyValueHeads = keyValueHeads;
        HeadDim = headDim;
        KeyStride = keyStride;
        _keys = new float[layers][];
        _values = new float[layers][];
        for (int l = 0; l < layers; l++)
        {
            _keys[l] = new float[keyFloats];
            _values[l] = new float[valueFloats];
        }

        _lengths = new int[layers * sequences];
        _staging = new float[stagingFloats];
        _rowSequences = new int[sequences];
        _rowPositions = new int[sequences];
    }

    /// <summary>Layers the cache holds.</summary>
    public int Layers { get; }

    /// <summary>Sequences the cache holds, each at its own position.</summary>
    public int Sequences { get; }

    /// <summary>The context: tokens a sequence can hold.</summary>
    public int SequenceLength { get; }

    /// <summary>The model width (of queries and outputs).</summary>
    public int EmbeddingDim { get; }

    /// <summary>Key/value heads.</summary>
    public int KeyValueHeads { get; }

    /// <summary>Elements per head.</summary>
    public int HeadDim { get; }

    /// <summary>Floats per row of a Kᵀ panel: the context padded to whole vectors.</summary>
    public int KeyStride { get; }

    /// <summary>The bytes of keys and values (not counting the prefill's staging rows).</summary>
    public long Bytes => Layers * ((long)_keys[0].Length + _values[0].Length) * sizeof(float);

    /// <summary>The tokens <paramref name="sequence"/> holds in <paramref name="layer"/>: the position its next token takes there.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The layer or the sequence is out of range.</exception>
    public int Length(int layer, int sequence)
    {
        CheckLayer(layer);
        CheckSequence(sequence);
        return _lengths[layer * Sequences + sequence];
    }

    /// <summary>Empties <paramref name="sequence"/> in every layer, to start a new text in it. The stale keys and values stay
    /// until overwritten; no kernel reads past a sequence's length.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The sequence is out of range.</exception>
    public void Reset(int sequence)
    {
        CheckSequence(sequence);
        for (int l = 0; l < Layers; l++)
            _lengths[l * Sequences + sequence] = 0;
    }

    internal float[] Keys(int layer) => _keys[layer];

    internal float[] Values(int layer) => _values[layer];

    internal float[] Staging => _staging;

    internal int[] RowSequences => _rowSequences;

    internal int[] RowPositions => _rowPositions;

    internal void SetLength(int layer, int sequence, int length) => _lengths[layer * Sequences + sequence] = length;

    internal void CheckLayer(int layer)
    {
        if ((uint)layer >= (uint)Layers)
            throw new ArgumentOutOfRangeException(nameof(layer), layer, $"layer: expected an index in [0, {Layers}).");
    }

    internal void CheckSequence(int sequence)
    {
        if ((uint)sequence >= (uint)Sequences)
            throw new ArgumentOutOfRangeException(nameof(sequence), sequence, $"sequence: expected an index in [0, {Sequences}).");
    }
}
