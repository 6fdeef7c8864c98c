using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace FixedShapeAttention.Decoding;

/// <summary>
/// Rotary position embeddings (Su et al., RoFormer): each pair (a, b) of a head's query or key at position p is rotated
/// by the angle p·θᵢ, θᵢ = base^(−2i/HeadDim), so that q·k depends on the positions only through their difference.
/// Applied to Q and K before the scores and before K enters a cache.
/// </summary>
/// <remarks>
/// The cos/sin table is computed once in double and rounded to float, so each entry is the correctly rounded value
/// (to within double's own error), whatever the position; the rotation is then one multiply and one fused
/// multiply-add per output: within 1.5 ulp of the exact rotation of the float inputs by the float-rounded angle.
/// </remarks>
public sealed class RotaryEmbedding
{
    private readonly float[] _cos;
    private readonly float[] _sin;
    private readonly float[] _negativeSin;

    /// <summary>A table for positions [0, <paramref name="maxPositions"/>) and heads of <paramref name="headDim"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">headDim is not a positive even number, maxPositions is not
    /// positive, the table would exceed an array, or the base is not greater than 1 and finite.</exception>
    public RotaryEmbedding(int headDim, int maxPositions, double theta = 10_000.0, RotaryLayout layout = RotaryLayout.Half)
    {
        if (headDim <= 0 || headDim % 2 != 0)
            throw new ArgumentOutOfRangeException(nameof(headDim), headDim, "headDim must be a positive even number: RoPE rotates pairs.");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxPositions);
        if ((long)maxPositions * (headDim / 2) > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(maxPositions), maxPositions, $"maxPositions × headDim/2 exceeds the largest array ({Array.MaxLength}).");
        if (!(theta > 1.0) || double.IsInfinity(theta))
            throw new ArgumentOutOfRangeException(nameof(theta), theta, "theta must be greater than 1 and finite.");
        if (layout is not (RotaryLayout.Half or RotaryLayout.Interleaved))
            throw new ArgumentOutOfRangeException(nameof(layout), layout, "Unknown RotaryLayout.");

        HeadDim = headDim;
        MaxPositions = maxPositions;
        Theta = theta;
        Layout = layout;
        int pairs = headDim / 2;
        _cos = new float[maxPositions * pairs];
        _sin = new float[maxPositions * pairs];
        _negativeSin = new float[maxPositions * pairs];
        for (int i = 0; i < pairs; i++)
        {
            double frequency = Math.Pow(theta, -2.0 * i / headDim);
            for (int p = 0; p < maxPositions; p++)
            {
                double angle = p * frequency;
                _cos[p * pairs + i] = (float)Math.Cos(angle);
                _sin[p * pairs + i] = (float)Math.Sin(angle);
                _negativeSin[p * pairs + i] = -_sin[p * pairs + i];
            }
        }
    }

    /// <summary>Elements per head.</summary>
    public int HeadDim { get; }

    /// <summary>Positions the table covers.</summary>
    public int MaxPositions { get; }

    /// <summary>The base of the frequencies (10,000 in RoFormer and Llama 2; 500,000 in Llama 3).</summary>
    public double Theta { get; }

    /// <summary>Which elements are rotated together.</summary>
    public RotaryLayout Layout { get; }

    /// <summary>
    /// Rotates, in place, the rows of <paramref name="x"/>: [tokens, heads·HeadDim], row t at position
    /// <paramref name="positions"/>[t]; every head of a row is rotated by the same angles.
    /// </summary>
    /// <exception cref="ArgumentException">x is not [positions.Length, a whole number of heads].</exception>
    /// <exception cref="ArgumentOutOfRangeException">A position is negative or not below <see cref="MaxPositions"/>;
    /// checked for every row before any is rotated.</exception>
    public void Apply(Span<float> x, ReadOnlySpan<int> positions) => Rotate(x, positions, inverse: false);

    /// <summary>
    /// Rotates, in place, by the opposite angles: the transpose of <see cref="Apply"/>, which takes a gradient with
    /// respect to rotated rows back to the rows before rotation (and undoes <see cref="Apply"/> to rounding).
    /// </summary>
    /// <exception cref="ArgumentException">x is not [positions.Length, a whole number of heads].</exception>
    /// <exception cref="ArgumentOutOfRangeException">A position is negative or not below <see cref="MaxPositions"/>.</exception>
    public void ApplyInverse(Span<float> x, ReadOnlySpan<int> positions) => Rotate(x, positions, inverse: true);

    private void Rotate(Span<float> x, ReadOnlySpan<int> positions, bool inverse)
    {
        int tokens = positions.Length;
        if (tokens == 0 ? x.Length != 0 : x.Length % tokens != 0 || x.Length / tokens % HeadDim != 0)
            throw new ArgumentException(
                $"x: expected {positions.Length} rows (one per position) of a whole number of {HeadDim}-element heads, got {x.Length} elements.", nameof(x));
        for (int t = 0; t < tokens; t++)
        {
            if ((uint)positions[t] >= (uint)MaxPositions)
                throw new ArgumentOutOfRangeException(nameof(positions), positions[t], $"positions[{t}]: expected a position in [0, {MaxPositions}).");
        }

        if (tokens == 0)
            return;
        int width = x.Length / tokens, pairs = HeadDim / 2;
        for (int t = 0; t < tokens; t++)
        {
            ReadOnlySpan<float> cos = _cos.AsSpan(positions[t] * pairs, pairs);
            ReadOnlySpan<float> sin = (inverse ? _negativeSin : _sin).AsSpan(positions[t] * pairs, pairs);
            for (int head = 0; head < width; head += HeadDim)
            {
                Span<float> h = x.Slice(t * width + head, HeadDim);
                if (Layout == RotaryLayout.Half)
                    RotateHalves(h[..pairs], h[pairs..], cos, sin);
                else
                    RotateInterleaved(h, cos, sin);
            }
        }
    }

    private static void RotateHalves(Span<float> a, Span<float> b, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin)
    {
        ref float a0 = ref MemoryMarshal.GetReference(a);
        ref float b0 = ref MemoryMarshal.GetReference(b);
        ref float c0 = ref MemoryMarshal.GetReference(cos);
        ref float s0 = ref MemoryMarshal.GetReference(sin);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= a.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var x = Vector256.LoadUnsafe(ref a0, (nuint)i);
                var y = Vector256.LoadUnsafe(ref b0, (nuint)i);
                var c = Vector256.LoadUnsafe(ref c0, (nuint)i);
                var s = Vector256.LoadUnsafe(ref s0, (nuint)i);
                Vector256.FusedMultiplyAdd(x, c, -(y * s)).StoreUnsafe(ref a0, (nuint)i);
                Vector256.FusedMultiplyAdd(x, s, y * c).StoreUnsafe(ref b0, (nuint)i);
            }
        }

        for (; i < a.Length; i++)
        {
            float x = Unsafe.Add(ref a0, i), y = Unsafe.Add(ref b0, i), c = Unsafe.Add(ref c0, i), s = Unsafe.Add(ref s0, i);
            Unsafe.Add(ref a0, i) = MathF.FusedMultiplyAdd(x, c, -(y * s));
            Unsafe.Add(ref b0, i) = MathF.FusedMultiplyAdd(x, s, y * c);
        }
    }

    private static void RotateInterleaved(Span<float> h, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin)
    {
        for (int i = 0; i < cos.Length; i++)
        {
            float x = h[2 * i], y = h[2 * i + 1];
            h[2 * i] = MathF.FusedMultiplyAdd(x, cos[i], -(y * sin[i]));
            h[2 * i + 1] = MathF.FusedMultiplyAdd(x, sin[i], y * cos[i]);
        }
    }
}
