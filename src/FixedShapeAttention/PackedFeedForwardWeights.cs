using System;
using System.ComponentModel;
using FixedShapeAttention.Kernels;

namespace FixedShapeAttention;

/// <summary>
/// Feed-forward weights packed once into the generated kernel's panel layout: each column panel of W1 and W2 stored
/// contiguously, in the order the register tile reads it, so the product streams B instead of striding through it
/// (the difference between ~73 % and ~97 % of the FMA peak on the reference machine). Create it with a generated
/// class's <c>PackFeedForward</c>; pass it to that class's <c>FeedForward(x, weights, y)</c>.
/// </summary>
/// <remarks>
/// The layout depends on EmbeddingDim, FfnDim and the vector width of the process (Vector512, Vector256, Vector128 or scalar),
/// not on the sequence length, so one instance serves every generated class with the same two dimensions. Results
/// are bit-identical to the raw-span overload: the same multiply-adds in the same order. Immutable and thread-safe.
/// </remarks>
public sealed class PackedFeedForwardWeights
{
    private readonly float[] _w1, _b1, _w2, _b2;

    private PackedFeedForwardWeights(int embeddingDim, int ffnDim, int lanes, float[] w1, float[] b1, float[] w2, float[] b2)
    {
        EmbeddingDim = embeddingDim;
        FfnDim = ffnDim;
        Lanes = lanes;
        _w1 = w1;
        _b1 = b1;
        _w2 = w2;
        _b2 = b2;
    }

    /// <summary>Model width the weights were packed for.</summary>
    public int EmbeddingDim { get; }

    /// <summary>Hidden width the weights were packed for.</summary>
    public int FfnDim { get; }

    /// <summary>The vector width (floats) of the layout: 16 for Vector512, 8 for Vector256, 4 for Vector128, 1 for scalar.</summary>
    public int Lanes { get; }

    /// <summary>Packed W1, for generated code.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public ReadOnlySpan<float> PackedW1 => _w1;

    /// <summary>b1, for generated code.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public ReadOnlySpan<float> B1 => _b1;

    /// <summary>Packed W2, for generated code.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public ReadOnlySpan<float> PackedW2 => _w2;

    /// <summary>b2, for generated code.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public ReadOnlySpan<float> B2 => _b2;

    /// <summary>Wraps buffers a generated <c>PackFeedForward</c> filled; the instance takes ownership of them.</summary>
    /// <remarks>The packed kernels index these arrays at offsets fixed for the dimensions and lanes, without bounds
    /// checks, so every length is checked here, once, against the layout those offsets assume.</remarks>
    /// <exception cref="ArgumentNullException">An array is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is outside its bounds, or <paramref name="lanes"/> is not 16, 8 or 1.</exception>
    /// <exception cref="ArgumentException">An array's length is not the one the layout needs; the message names it.</exception>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public static PackedFeedForwardWeights FromPacked(int embeddingDim, int ffnDim, int lanes, float[] packedW1, float[] b1, float[] packedW2, float[] b2)
    {
        ArgumentNullException.ThrowIfNull(packedW1);
        ArgumentNullException.ThrowIfNull(b1);
        ArgumentNullException.ThrowIfNull(packedW2);
        ArgumentNullException.ThrowIfNull(b2);
        PackedChecks.Dimension(embeddingDim, ShapeRules.MaxEmbeddingDim, nameof(embeddingDim));
        PackedChecks.Dimension(ffnDim, ShapeRules.MaxFfnDim, nameof(ffnDim));
        PackedChecks.Lanes(lanes);
        PackedChecks.Length(packedW1, nameof(packedW1), PackedLayout.FeedForwardW1Floats(lanes, embeddingDim, ffnDim), $"W1 [EmbeddingDim {embeddingDim}, FfnDim {ffnDim}] packed for {lanes}-float vectors");
        PackedChecks.Length(b1, nameof(b1), ffnDim, "FfnDim");
        PackedChecks.Length(packedW2, nameof(packedW2), PackedLayout.FeedForwardW2Floats(lanes, embeddingDim, ffnDim), $"W2 [FfnDim {ffnDim}, EmbeddingDim {embeddingDim}] packed for {lanes}-float vectors");
        PackedChecks.Length(b2, nameof(b2), embeddingDim, "EmbeddingDim");
        return new(embeddingDim, ffnDim, lanes, packedW1, b1, packedW2, b2);
    }
}
