using System;
using System.ComponentModel;
using FixedShapeAttention.Kernels;

namespace FixedShapeAttention;

/// <summary>
/// The weights of one projection <c>y = x·W + b</c> (W is <c>[EmbeddingDim, EmbeddingDim]</c>: attention's query, key,
/// value and output projections), packed once into the generated kernel's panel layout like
/// <see cref="PackedFeedForwardWeights"/>. Create it with a generated class's <c>PackProjection</c>; pass it to that
/// class's <c>Project(x, weights, y)</c>.
/// </summary>
/// <remarks>
/// The layout depends on EmbeddingDim and the vector width of the process, not on the sequence length, so one
/// instance serves every generated class of the same width. Immutable and thread-safe.
/// </remarks>
public sealed class PackedProjectionWeights
{
    private readonly float[] _w, _b;

    private PackedProjectionWeights(int embeddingDim, int lanes, float[] w, float[] b)
    {
        EmbeddingDim = embeddingDim;
        Lanes = lanes;
        _w = w;
        _b = b;
    }

    /// <summary>Width the weights were packed for.</summary>
    public int EmbeddingDim { get; }

    /// <summary>The vector width (floats) of the layout: 16 for Vector512, 8 for Vector256, 4 for Vector128, 1 for scalar.</summary>
    public int Lanes { get; }

    /// <summary>Packed W, for generated code.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public ReadOnlySpan<float> PackedW => _w;

    /// <summary>b, for generated code.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public ReadOnlySpan<float> B => _b;

    /// <summary>Wraps buffers a generated <c>PackProjection</c> filled; the instance takes ownership of them.</summary>
    /// <remarks>As <see cref="PackedFeedForwardWeights.FromPacked"/>: every length is checked against the layout the
    /// packed kernel's unchecked offsets assume.</remarks>
    /// <exception cref="ArgumentNullException">An array is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="embeddingDim"/> is outside its bounds, or <paramref name="lanes"/> is not 16, 8 or 1.</exception>
    /// <exception cref="ArgumentException">An array's length is not the one the layout needs; the message names it.</exception>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public static PackedProjectionWeights FromPacked(int embeddingDim, int lanes, float[] packedW, float[] b)
    {
        ArgumentNullException.ThrowIfNull(packedW);
        ArgumentNullException.ThrowIfNull(b);
        PackedChecks.Dimension(embeddingDim, ShapeRules.MaxEmbeddingDim, nameof(embeddingDim));
        PackedChecks.Lanes(lanes);
        PackedChecks.Length(packedW, nameof(packedW), PackedLayout.ProjectionFloats(lanes, embeddingDim), $"W [EmbeddingDim {embeddingDim}, EmbeddingDim {embeddingDim}] packed for {lanes}-float vectors");
        PackedChecks.Length(b, nameof(b), embeddingDim, "EmbeddingDim");
        return new(embeddingDim, lanes, packedW, b);
    }
}
