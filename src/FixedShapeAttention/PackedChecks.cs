using System;
using FixedShapeAttention.Kernels;

namespace FixedShapeAttention;

/// <summary>The checks <c>FromPacked</c> runs before it wraps arrays that packed kernels will index without bounds checks.</summary>
internal static class PackedChecks
{
    public static void Dimension(int value, int max, string name)
    {
        if (!ShapeRules.IsPositive(value) || !ShapeRules.IsWithin(value, max))
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name}: expected a dimension in [1, {max}], got {value}.");
        }
    }

    public static void Lanes(int lanes)
    {
        if (!PackedLayout.IsKnownWidth(lanes))
        {
            throw new ArgumentOutOfRangeException(
                nameof(lanes), lanes, $"lanes: expected 16 (Vector512), 8 (Vector256), 4 (Vector128) or 1 (scalar), the widths a generated kernel packs for, got {lanes}.");
        }
    }

    // Packing happens once per model, so the caller's layout description is formatted eagerly.
    public static void Length(float[] array, string name, long expected, string layout)
    {
        if (array.Length != expected)
        {
            throw new ArgumentException($"{name}: expected {expected} floats ({layout}), got {array.Length}.", name);
        }
    }
}
