using System;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FixedShapeAttention.CompilerServices;

/// <summary>Horizontal reductions the generated softmax calls once per row.</summary>
/// <remarks>For generated code; no compatibility promise: this namespace may change in any release.</remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class KernelMath
{
    /// <summary>The largest lane. With a NaN lane the result may or may not be NaN (the halves are folded with the
    /// hardware max): the softmax that calls it turns a NaN score into a NaN row through its sum either way.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(Vector512<float> value) => MaxAcross(Vector256.MaxNative(value.GetLower(), value.GetUpper()));

    /// <inheritdoc cref="MaxAcross(Vector512{float})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(Vector256<float> value) => MaxAcross(Vector128.MaxNative(value.GetLower(), value.GetUpper()));

    /// <inheritdoc cref="MaxAcross(Vector512{float})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(Vector128<float> value)
    {
        // Two shuffles and two hardware maxima: the IEEE scalar MathF.Max cost a vrangess and two fix-ups per step,
        // a chain of ~20 dependent instructions once per softmax row.
        value = Vector128.MaxNative(value, Vector128.Shuffle(value, Vector128.Create(2, 3, 0, 1)));
        return Vector128.MaxNative(value, Vector128.Shuffle(value, Vector128.Create(1, 0, 3, 2))).ToScalar();
    }
}
