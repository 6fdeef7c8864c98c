using System;
using System.Collections.Generic;
using System.Threading;
using FixedShapeAttention.Scheduling;
using FixedShapeAttention.CompilerServices;

namespace FixedShapeAttention.Encoder;

/// <summary>
/// A stack of transformer encoder layers on <typeparamref name="TShape"/>'s generated kernels: per layer, the query,
/// key and value projections, masked multi-head attention, the output projection, a residual connection and
/// LayerNorm, then the feed-forward network with its own residual and LayerNorm (<see cref="LayerNormPlacement"/>
/// says in which order). The sequences of a batch are independent and run in parallel inside each kernel.
/// </summary>
/// <remarks>
/// <para>The encoder owns its workspace (six activation buffers of <c>batch × SequenceLength × EmbeddingDim</c>
/// floats), grown to the largest batch seen and reused, so a forward pass allocates nothing once warm. It is therefore
/// not safe for concurrent use: one instance per thread (the packed weights can be shared); overlapping calls throw
/// <see cref="InvalidOperationException"/> rather than corrupt each other.</para>
/// <para>Padding: sequence <c>i</c> holds <c>tokenCounts[i]</c> real tokens followed by padding; attention ignores padded
/// keys (as BERT's additive −10000 mask does, to float precision). Padded rows are computed but their values are
/// not meaningful.</para>
/// </remarks>
/// <typeparam name="TShape">A <c>[TransformerShape]</c> class; its Activation is the feed-forward activation.</typeparam>
public sealed class TransformerEncoder<TShape> : ITransformerEncoder
    where TShape : ITransformerKernels
{
    private readonly EncoderLayerWeights[] _layers;
    private float[] _query = [], _key = [], _value = [], _context = [], _attended = [], _hidden = [];
    private int _inUse;

    /// <summary>Creates an encoder over packed layers (see <see cref="EncoderLayerWeights.Pack{TShape}"/>).</summary>
    /// <exception cref="ArgumentException">No layers, a layer packed for other dimensions, or a negative or non-finite epsilon.</exception>
    public TransformerEncoder(IReadOnlyList<EncoderLayerWeights> layers, LayerNormPlacement placement = LayerNormPlacement.PostNorm, float layerNormEpsilon = 1e-12f)
    {
        ArgumentNullException.ThrowIfNull(layers);
        if (layers.Count == 0)
        {
            throw new ArgumentException("layers: expected at least one layer.", nameof(layers));
        }

        _layers = new EncoderLayerWeights[layers.Count];
        for (int i = 0; i < layers.Count; i++)
        {
            EncoderLayerWeights layer = layers[i] ?? throw new ArgumentException($"layers[{i}] is null.", nameof(layers));
            if (layer.EmbeddingDim != TShape.EmbeddingDim || layer.FfnDim != TShape.FfnDim)
            {
                throw new ArgumentException(
                    $"layers[{i}]: packed for EmbeddingDim {layer.EmbeddingDim} and FfnDim {layer.FfnDim}, but {typeof(TShape).Name} declares " +
                    $"EmbeddingDim {TShape.EmbeddingDim} and FfnDim {TShape.FfnDim}.",
                    nameof(layers));
            }

            _layers[i] = layer;
        }

        if (!(layerNormEpsilon >= 0) || float.IsInfinity(layerNormEpsilon))
        {
            throw new ArgumentOutOfRangeException(nameof(layerNormEpsilon), layerNormEpsilon, "layerNormEpsilon: expected a finite value ≥ 0.");
        }

        Placement = placement;
        LayerNormEpsilon = layerNormEpsilon;
    }

    /// <inheritdoc/>
    public int SequenceLength => TShape.SequenceLength;

    /// <inheritdoc/>
    public int EmbeddingDim => TShape.EmbeddingDim;

    /// <summary>The number of layers.</summary>
    public int LayerCount => _layers.Length;

    /// <summary>Where each layer normalises.</summary>
    public LayerNormPlacement Placement { get; }

    /// <summary>ε of every LayerNorm.</summary>
    public float LayerNormEpsilon { get; }

    /// <inheritdoc cref="ITransformerEncoder.Forward(ReadOnlySpan{float}, ReadOnlySpan{int}, Span{float})"/>
    public void Forward(ReadOnlySpan<float> input, ReadOnlySpan<int> tokenCounts, Span<float> output) =>
        Forward(input, tokenCounts, output, KernelParallelism.DefaultMaxDegreeOfParallelism);

    /// <inheritdoc/>
    public void Forward(ReadOnlySpan<float> input, ReadOnlySpan<int> tokenCounts, Span<float> output, int maxDegreeOfParallelism)
    {
        int batch = KernelArguments.ValidateEncoder(input, tokenCounts, output, TShape.SequenceLength, TShape.EmbeddingDim);
        KernelParallelism.Resolve(maxDegreeOfParallelism);
        if (Interlocked.Exchange(ref _inUse, 1) != 0)
        {
            throw new InvalidOperationException(
                $"This TransformerEncoder<{typeof(TShape).Name}> is already running a forward pass on another thread; it owns one workspace, so use one encoder per thread (they can share the packed weights).");
        }

        try
        {
            EnsureWorkspace(input.Length);
            ReadOnlySpan<float> current = input;
            foreach (EncoderLayerWeights layer in _layers)
            {
                if (Placement == LayerNormPlacement.PostNorm)
                {
                    PostNormLayer(layer, current, tokenCounts, output, maxDegreeOfParallelism);
                }
                else
                {
                    PreNormLayer(layer, current, tokenCounts, output, maxDegreeOfParallelism);
                }

                current = output;
            }
        }
        finally
        {
            Volatile.Write(ref _inUse, 0);
        }
    }

    // x1 = LN(x + Attention(x)); y = LN(x1 + FFN(x1)). y may be x itself (every layer after the first).
    private void PostNormLayer(EncoderLayerWeights layer, ReadOnlySpan<float> x, ReadOnlySpan<int> tokenCounts, Span<float> y, int dop)
    {
        int length = x.Length;
        Span<float> attended = _attended.AsSpan(0, length), hidden = _hidden.AsSpan(0, length);
        Attend(layer, x, tokenCounts, attended, dop);
        LayerNormalization.AddAndNormalize(attended, x, layer.AttentionNormGamma, layer.AttentionNormBeta, LayerNormEpsilon, hidden, dop);
        Span<float> feedForward = _context.AsSpan(0, length);
        TShape.FeedForward(hidden, layer.FeedForward, feedForward, dop);
        LayerNormalization.AddAndNormalize(feedForward, hidden, layer.FeedForwardNormGamma, layer.FeedForwardNormBeta, LayerNormEpsilon, y, dop);
    }

    // x1 = x + Attention(LN(x)); y = x1 + FFN(LN(x1)).
    private void PreNormLayer(EncoderLayerWeights layer, ReadOnlySpan<float> x, ReadOnlySpan<int> tokenCounts, Span<float> y, int dop)
    {
        int length = x.Length;
        Span<float> normalized = _hidden.AsSpan(0, length), attended = _attended.AsSpan(0, length);
        LayerNormalization.Normalize(x, layer.AttentionNormGamma, layer.AttentionNormBeta, LayerNormEpsilon, normalized, dop);
        Attend(layer, normalized, tokenCounts, attended, dop);
        Span<float> residual = _hidden.AsSpan(0, length);
        Add(attended, x, residual);
        Span<float> normalized2 = _attended.AsSpan(0, length), feedForward = _context.AsSpan(0, length);
        LayerNormalization.Normalize(residual, layer.FeedForwardNormGamma, layer.FeedForwardNormBeta, LayerNormEpsilon, normalized2, dop);
        TShape.FeedForward(normalized2, layer.FeedForward, feedForward, dop);
        Add(feedForward, residual, y);
    }

    // attended = Attention(x·Wq + bq, x·Wk + bk, x·Wv + bv)·Wo + bo, with padded keys masked.
    private void Attend(EncoderLayerWeights layer, ReadOnlySpan<float> x, ReadOnlySpan<int> tokenCounts, Span<float> attended, int dop)
    {
        int length = x.Length;
        Span<float> q = _query.AsSpan(0, length), k = _key.AsSpan(0, length), v = _value.AsSpan(0, length), context = _context.AsSpan(0, length);
        TShape.Project(x, layer.Query, q, dop);
        TShape.Project(x, layer.Key, k, dop);
        TShape.Project(x, layer.Value, v, dop);
        TShape.Attention(q, k, v, tokenCounts, context, dop);
        TShape.Project(context, layer.Output, attended, dop);
    }

    private static void Add(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> sum)
    {
        for (int i = 0; i < sum.Length; i++)
        {
            sum[i] = a[i] + b[i];
        }
    }

    private void EnsureWorkspace(int length)
    {
        if (_query.Length >= length)
        {
            return;
        }

        _query = new float[length];
        _key = new float[length];
        _value = new float[length];
        _context = new float[length];
        _attended = new float[length];
        _hidden = new float[length];
    }
}
