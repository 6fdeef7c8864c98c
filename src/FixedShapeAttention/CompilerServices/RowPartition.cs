using System;
using System.ComponentModel;

namespace FixedShapeAttention.CompilerServices;

/// <summary>
/// Splits <c>total</c> units (row tiles) into <c>parts</c> contiguous ranges whose sizes differ by at most one,
/// the first <c>total % parts</c> ranges carrying the extra unit (tinyBLAS's BLOCK_SIZE / BLOC_POS).
/// </summary>
/// <remarks>For generated code; no compatibility promise: this namespace may change in any release.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class RowPartition
{
    /// <summary>The first unit of range <paramref name="index"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="total"/> is negative, <paramref name="parts"/> is not positive,
    /// or <paramref name="index"/> is not in [0, <paramref name="parts"/>).</exception>
    public static int Start(int total, int parts, int index)
    {
        Check(total, parts, index);
        int size = total / parts;
        int extra = total % parts;
        return index * size + (index < extra ? index : extra);
    }

    /// <summary>The number of units in range <paramref name="index"/>.</summary>
    /// <inheritdoc cref="Start" path="/exception"/>
    public static int Count(int total, int parts, int index)
    {
        Check(total, parts, index);
        return total / parts + (index < total % parts ? 1 : 0);
    }

    private static void Check(int total, int parts, int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(total);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(parts);
        if ((uint)index >= (uint)parts)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"index: expected a range in [0, {parts}) (parts).");
        }
    }
}
