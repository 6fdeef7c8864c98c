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
    public static int Start(int total, int parts, int index)
    {
        int size = total / parts;
        int extra = total % parts;
        return index * size + (index < extra ? index : extra);
    }

    /// <summary>The number of units in range <paramref name="index"/>.</summary>
    public static int Count(int total, int parts, int index) => total / parts + (index < total % parts ? 1 : 0);
}
